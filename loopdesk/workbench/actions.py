"""The ticket actions as forms: which fields each action asks for, and how they become a service call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from loopdesk.core.errors import ValidationFailed
from loopdesk.core.text import is_db_id
from loopdesk.followup.services import do_record_ticket_callback
from loopdesk.org.models import OrgUnit
from loopdesk.tickets.choices import Action, CallbackVerdict, RejectReason
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import ACTION_SERVICES, MAX_DESCRIPTION, MAX_NOTE
from loopdesk.workbench.common import numbered_ticket, typed_number
from loopdesk.workbench.forms import TextField
from loopdesk.workbench.units import target_unit_choices


def _text(label: Any, required: bool, help_text: Any = "", limit: int = MAX_NOTE, rows: int = 4) -> forms.CharField:
    return TextField(label=label, required=required, max_length=limit, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows}))


# Fields per action: (name, factory). The names are the services' keyword arguments, so a service's
# field-level error lands on the right field.
def _fields(action: str) -> dict[str, forms.Field]:
    note_opt = _text(_("Note"), False)
    fields: dict[str, dict[str, forms.Field]] = {
        Action.DISPATCH: {
            "to_unit": forms.TypedChoiceField(label=_("Send to"), required=False, coerce=int, empty_value=None),
            "note": note_opt,
        },
        Action.ACCEPT: {},
        Action.TRANSFER: {
            "to_unit": forms.TypedChoiceField(label=_("Send to"), required=True, coerce=int, empty_value=None),
            "note": _text(_("Why it goes there"), True),
        },
        Action.RETURN: {"reason": _text(_("Why it is not ours"), True)},
        Action.REQUEST_INFO: {"question": _text(_("What do you need to know?"), True)},
        Action.PROVIDE_INFO: {"info": _text(_("The information asked for"), True, limit=MAX_DESCRIPTION)},
        Action.REQUEST_HOLD: {"reason": _text(_("Why it must wait (e.g. a base station to be built)"), True)},
        Action.APPROVE_HOLD: {"note": note_opt},
        Action.DENY_HOLD: {"reason": _text(_("Reason"), True)},
        Action.RESUME: {"note": note_opt},
        Action.REPLY: {"resolution": _text(_("Resolution"), True, _("What was found and what was done."),
                                           limit=MAX_DESCRIPTION, rows=6)},
        Action.ANSWER: {
            "answer": _text(_("Answer given to the customer"), True, _("The customer may see this."),
                            limit=MAX_DESCRIPTION, rows=5),
            "resolution": _text(_("Resolution"), False, _("Needed when you solve it yourself at first contact."),
                                limit=MAX_DESCRIPTION),
        },
        Action.CALLBACK: {
            "verdict": forms.ChoiceField(label=_("Customer's verdict"), choices=CallbackVerdict.choices,
                                         widget=forms.RadioSelect),
            "note": note_opt,
        },
        Action.CLOSE: {"note": note_opt},
        Action.REOPEN: {"reason": _text(_("Why it is reopened"), True)},
        Action.WITHDRAW: {"reason": _text(_("Why it is withdrawn"), True)},
        Action.REJECT: {
            "reason": forms.ChoiceField(label=_("Reject as"), choices=RejectReason.choices, widget=forms.RadioSelect),
            "duplicate_of": forms.CharField(label=_("Duplicate of (work order number)"), required=False,
                                            max_length=32),
            "note": note_opt,
        },
    }
    return fields[action]


RELOAD = _("This form is incomplete or out of date: reload the page and try again.")


def posted_version(data: Any) -> int | None:
    """The version a posted action form carries, or None when it has none usable."""
    value = str(data.get("version") or "").strip()
    return int(value) if is_db_id(value) else None


def stale_message(ticket: Ticket, seen: int) -> str:
    """What a user whose form shows version `seen` is told when the ticket has moved on (as the services say it)."""
    return str(_("Work order %(number)s was changed by someone else meanwhile (version %(theirs)d, you saw "
                 "%(yours)d). Reload it and try again.")
               % {"number": ticket.number, "theirs": ticket.version, "yours": seen})


class ActionForm(forms.Form):
    """The form of one action on one ticket; `version` carries the version the user saw."""

    version = forms.IntegerField(widget=forms.HiddenInput, error_messages={
        "required": RELOAD, "invalid": RELOAD, "min_value": RELOAD}, min_value=0)

    def __init__(self, *args: Any, action: str, ticket: Ticket, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.action, self.ticket, self.user = action, ticket, user
        self.fields.update(_fields(action))
        if "to_unit" in self.fields:
            blank = _("Where the routing rules send it") if action == Action.DISPATCH else _("Choose a unit")
            choices = target_unit_choices(ticket.region, blank)
            if action == Action.TRANSFER:  # on to another unit: the service refuses the unit that has it now
                choices = [(value, label) for value, label in choices if value != ticket.handler_unit_id]
            self.fields["to_unit"].choices = choices
        self.initial.setdefault("version", ticket.version)

    def clean_duplicate_of(self) -> Ticket | None:
        number = typed_number(self.cleaned_data.get("duplicate_of"))
        if not number:
            return None
        try:
            return numbered_ticket(self.user, number, field="duplicate_of")
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.errors["duplicate_of"]) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (self.action == Action.CALLBACK and data.get("verdict") == CallbackVerdict.DISSATISFIED
                and not (data.get("note") or "").strip()):  # as the callback task's dialog asks
            self.add_error("note", _("Say why the customer is not satisfied: the department will read it."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        kwargs: dict[str, Any] = {"expected_version": data.pop("version")}
        if "to_unit" in data:
            unit_id = data.pop("to_unit")
            kwargs["to_unit"] = OrgUnit.objects.get(pk=unit_id) if unit_id else None
        if self.action == Action.DISPATCH:  # the rules' default is not the unit that just returned it
            kwargs["not_back"] = True
        kwargs.update(data)
        return kwargs

    def run(self) -> Ticket:
        if self.action == Action.CALLBACK:  # no callback task (solved at first contact): the same follow-up policy
            return do_record_ticket_callback(acting_user=self.user, ticket=self.ticket, **self.service_kwargs())
        return ACTION_SERVICES[self.action](acting_user=self.user, ticket=self.ticket, **self.service_kwargs())


DANGEROUS = frozenset({Action.WITHDRAW, Action.REJECT, Action.RETURN})
PRIMARY = frozenset({Action.ACCEPT, Action.REPLY, Action.ANSWER, Action.DISPATCH, Action.CLOSE})

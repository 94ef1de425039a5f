"""Forms of the workbench: queue filters, the desk's create-and-dispatch form, the ticket actions."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.core.text import one_char_line_breaks
from loopdesk.customers.choices import Tier
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.choices import Channel, ContactType, Priority, Status
from loopdesk.tickets.models import Category

BLANK = [("", _("Any"))]


class TextField(forms.CharField):
    """A text box's field: its `max_length` counts a line break once, as the box (`maxlength`) does, and the text is
    kept with LF line breaks (a form posts CR LF). Every workbench text box with a limit uses it."""

    widget = forms.Textarea

    def to_python(self, value: Any) -> str:
        return one_char_line_breaks(super().to_python(value))


def category_options(active_only: bool = True) -> list[tuple[int, str, str]]:
    """(id, "基础通信 › 信号覆盖 › 室内无信号", search text) for every category, from one query."""
    fields = ("id", "code", "name", "name_en", "path", "keywords", "is_active", "parent_id")
    qs = Category.objects.only(*fields).order_by("path")
    nodes = list(qs)
    language = get_language()
    names = {c.pk: c.display_name(language) for c in nodes}
    result = []
    for c in nodes:
        if active_only and not c.is_active:
            continue
        path = " › ".join(names.get(i, "") for i in c.ancestor_ids())
        search = " ".join([path, c.name, c.name_en, c.keywords or "", c.code]).lower()
        result.append((c.pk, path, search))
    return result


class CategorySelect(forms.Select):
    """A <select> whose options carry the full path and search text for the type-ahead (app.js)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.paths: dict[str, tuple[str, str]] = {}

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        """The options as one string: Django renders each option through its own template, which for a
        category tree of a few hundred nodes cost more than the rest of a queue page."""
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = set(self.format_value(value))
        options = []
        for choice, label in self.choices:  # escaped with the standard library's html.escape, as Django's escape
            key = "" if choice is None else str(choice)
            extra = self.paths.get(key)
            data = f' data-path="{html.escape(extra[0])}" data-search="{html.escape(extra[1])}"' if extra else ""
            selected = " selected" if key in chosen else ""
            options.append(f'<option value="{html.escape(key)}"{data}{selected}>{html.escape(str(label))}</option>')
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(options)))  # noqa: S308 - escaped above


def category_field(required: bool, label: Any) -> forms.TypedChoiceField:
    field = forms.TypedChoiceField(label=label, required=required, coerce=int, empty_value=None,
                                   widget=CategorySelect(attrs={"data-combobox": "1"}))
    return field


def fill_categories(field: forms.Field, blank_label: Any) -> None:
    options = category_options()
    field.choices = [("", blank_label)] + [(pk, path) for pk, path, _search in options]
    field.widget.paths = {str(pk): (path, search) for pk, path, search in options}
    field.widget.choices = field.choices


class MultiValueSelect(CategorySelect):
    """One <select>, but the query string may name several values (?status=new&status=returned: a home block's
    "See all" lists every status the block counts)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        getlist = getattr(data, "getlist", None)
        return getlist(name) if getlist is not None else data.get(name)

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        if len([v for v in self.format_value(value) if v]) > 1:  # show every value chosen, and send them again
            attrs = {**(attrs or {}), "multiple": True}
        return super().render(name, value, attrs, renderer)


class QueueFilterForm(forms.Form):
    status = forms.MultipleChoiceField(label=_("Status"), required=False, choices=BLANK + list(Status.choices),
                                       widget=MultiValueSelect)
    contact_type = forms.ChoiceField(label=_("Contact type"), required=False, choices=BLANK + list(ContactType.choices))
    category = category_field(False, _("Category (with subcategories)"))
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=BLANK + list(Channel.choices))
    branch = forms.TypedChoiceField(label=_("Branch"), required=False, coerce=int, empty_value=None)
    tier = forms.ChoiceField(label=_("Customer tier"), required=False, choices=BLANK + list(Tier.choices))
    handler = forms.ChoiceField(label=_("Handler"), required=False, choices=[*BLANK, ("me", _("With me"))])
    flag = forms.ChoiceField(label=_("SLA"), required=False,
                             choices=[*BLANK, ("overtime", _("Overtime")), ("problem", _("Problem ticket"))])
    created_from = forms.DateField(label=_("Registered from"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label=_("Registered until"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[
        ("due", _("Due soonest first")), ("-due", _("Due latest first")), ("-created", _("Newest first"))])

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.user = user  # for "with me"
        fill_categories(self.fields["category"], _("Any"))
        language = get_language()
        branches = OrgUnit.objects.filter(level=UnitLevel.CENTRE, function=UnitFunction.FRONT_LINE, is_active=True)
        self.fields["branch"].choices = BLANK + [(u.pk, u.display_name(language)) for u in branches.order_by("path")]
        self.fields["status"].widget.choices = self.fields["status"].choices
        for field in self.fields.values():  # every select's options as one string (see CategorySelect.render)
            if type(field.widget) is forms.Select:
                field.widget = CategorySelect(attrs=field.widget.attrs, choices=field.choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", _("The end date is before the start date."))
        return data

    def apply(self, qs: Any) -> Any:
        """Narrow a ticket queryset by the valid filters (call after is_valid())."""
        data = self.cleaned_data
        statuses = [value for value in data.get("status") or [] if value]
        if statuses:
            qs = qs.filter(status__in=statuses)
        for name in ("contact_type", "channel", "tier"):
            if data.get(name):
                qs = qs.filter(**{name: data[name]})
        if data.get("category"):
            path = Category.objects.filter(pk=data["category"]).values_list("path", flat=True).first() or "/-/"
            qs = qs.filter(category__path__startswith=path)
        if data.get("branch"):
            qs = qs.filter(branch_id=data["branch"])
        if data.get("handler") == "me" and self.user is not None:
            qs = qs.filter(handler_user=self.user)
        if data.get("flag") == "problem":
            qs = qs.filter(is_problem=True)
        elif data.get("flag") == "overtime":  # as the badge, home and board count them: a problem ticket is not here
            qs = qs.filter(is_overtime=True, is_problem=False)
        if data.get("created_from"):
            qs = qs.filter(created_at__gte=_day_start(data["created_from"]))
        if data.get("created_to"):
            qs = qs.filter(created_at__lt=_day_start(data["created_to"] + dt.timedelta(days=1)))
        return qs


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=SHANGHAI)


def now_local() -> dt.datetime:
    return timezone.localtime()


class DeskForm(forms.Form):
    """One form for a new contact: register it, and by default dispatch it in the same step."""

    contact_type = forms.ChoiceField(label=_("Contact type"), choices=ContactType.choices,
                                     initial=ContactType.COMPLAINT, widget=forms.RadioSelect)
    category = category_field(True, _("Category"))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    title = forms.CharField(label=_("Summary"), required=False, max_length=200)
    description = TextField(label=_("What the customer says"), max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args: Any, channel: str = Channel.HOTLINE, **kwargs: Any):
        super().__init__(*args, **kwargs)
        fill_categories(self.fields["category"], _("Type to search, e.g. signal"))
        self.fields["category"].widget.attrs["data-placeholder"] = str(_("Type to search, e.g. signal or bill"))
        self.fields["channel"].initial = channel

    def clean_category(self) -> Category | None:
        pk = self.cleaned_data.get("category")
        category = Category.objects.filter(pk=pk, is_active=True).first() if pk else None
        if category is None:
            raise forms.ValidationError(_("Choose an active category."))
        return category


class PolicyPreviewForm(forms.Form):
    """What would happen to a ticket with these attributes: routing target, SLA policy, committed time."""

    category = category_field(True, _("Category"))
    contact_type = forms.ChoiceField(label=_("Contact type"), choices=ContactType.choices,
                                     initial=ContactType.COMPLAINT)
    tier = forms.ChoiceField(label=_("Customer tier"), choices=Tier.choices, initial=Tier.REGULAR)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.HOTLINE)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    city = forms.TypedChoiceField(label=_("City"), required=False, coerce=int, empty_value=None,
                                  help_text=_("Where the customer is; by default your own city."))
    branch = forms.TypedChoiceField(label=_("Customer's branch"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, home_region: str = "", **kwargs: Any):
        """`home_region`: the user's own city (region code), or "" for a user above the city level (province, HQ),
        who must choose the city or a branch: the city's rules and second-line support depend on it."""
        super().__init__(*args, **kwargs)
        self.home_region = home_region
        fill_categories(self.fields["category"], _("Type to search, e.g. signal"))
        language = get_language()
        cities = OrgUnit.objects.filter(level=UnitLevel.CITY, is_active=True).order_by("path")
        self.fields["city"].choices = [("", _("My city") if home_region else "—")] + [
            (u.pk, f"{u.display_name(language)} ({u.region})") for u in cities]
        branches = OrgUnit.objects.filter(level=UnitLevel.CENTRE, function=UnitFunction.FRONT_LINE, is_active=True)
        self.fields["branch"].choices = BLANK + [(u.pk, u.display_name(language)) for u in branches.order_by("path")]

    def clean(self) -> dict[str, Any]:
        """Adds `region` (the city whose rules apply) and the chosen `branch_unit`."""
        data = super().clean() or {}
        city = OrgUnit.objects.filter(pk=data["city"]).first() if data.get("city") else None
        branch = OrgUnit.objects.filter(pk=data["branch"]).first() if data.get("branch") else None
        data["branch_unit"] = branch
        if branch is not None and city is not None and branch.region != city.region:
            self.add_error("branch", _("This branch is not in the chosen city."))
        data["region"] = (branch.region if branch else city.region if city else self.home_region)
        if not data["region"] and "city" not in self.errors:
            self.add_error("city", _("Choose the city or the customer's branch: the rules of each city differ."))
        return data

    def clean_category(self) -> Category | None:
        pk = self.cleaned_data.get("category")
        category = Category.objects.filter(pk=pk).first() if pk else None
        if category is None:
            raise forms.ValidationError(_("Choose a category."))
        return category

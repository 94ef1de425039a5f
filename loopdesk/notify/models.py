"""Customer messages: SMS templates (edited by supervisors), opt-outs, every SMS queued, the progress schedule."""

from __future__ import annotations

import string

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopdesk.core.text import one_char_line_breaks


class MessageKind(models.TextChoices):
    ACK = "ack", _("Acknowledgement (number and committed date)")
    PROGRESS = "progress", _("Progress update")
    PROGRESS_LATE = "progress_late", _("Progress update (committed time passed)")
    INFO_REQUEST = "info_request", _("Information needed from the customer")
    RESOLUTION = "resolution", _("Resolution notice")
    COMMIT_CHANGED = "commit_changed", _("Committed date changed")
    SURVEY = "survey", _("Satisfaction survey")
    WINDOW_SURVEY = "window_survey", _("Window-service survey")
    SURVEY_THANKS = "survey_thanks", _("Thanks for the rating")
    HELP = "help", _("Help reply to an unrecognised SMS")
    SURVEY_CLOSED = "survey_closed", _("Reply to a closed survey")
    SPAM_ACK = "spam_ack", _("Spam report received")
    OPTOUT_ACK = "optout_ack", _("Opt-out confirmed")


# The variables each template may use; anything else is refused when the template is saved.
TEMPLATE_VARIABLES: dict[str, frozenset[str]] = {
    MessageKind.ACK: frozenset({"number", "committed_date", "handler_unit", "hotline"}),
    MessageKind.PROGRESS: frozenset({"number", "committed_date", "handler_unit", "hotline"}),
    # Sent instead of `progress` once the committed time has passed: it never quotes that time.
    MessageKind.PROGRESS_LATE: frozenset({"number", "handler_unit", "hotline"}),
    MessageKind.INFO_REQUEST: frozenset({"number", "handler_unit", "hotline"}),
    MessageKind.RESOLUTION: frozenset({"number", "handler_unit", "hotline"}),
    MessageKind.COMMIT_CHANGED: frozenset({"number", "committed_date", "hotline"}),
    MessageKind.SURVEY: frozenset({"number", "survey_instructions", "survey_link", "valid_hours", "hotline"}),
    MessageKind.WINDOW_SURVEY: frozenset({"unit", "survey_instructions", "valid_hours", "hotline"}),
    MessageKind.SURVEY_THANKS: frozenset({"score_label", "hotline"}),
    MessageKind.HELP: frozenset({"survey_instructions", "hotline"}),
    # A rating sent after the survey's validity: it did not count (not the help text, which asks for a number).
    MessageKind.SURVEY_CLOSED: frozenset({"hotline"}),
    MessageKind.SPAM_ACK: frozenset({"reported_number", "hotline"}),
    MessageKind.OPTOUT_ACK: frozenset({"hotline"}),
}
MAX_SMS_TEXT = 500


def template_fields(text: str) -> list[str]:
    """The `{variable}` names used in a template text; raises ValueError on broken braces."""
    return [name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None]


def check_template(kind: str, text: str) -> dict[str, list[str]]:
    """Field errors of a template text (empty when it is valid)."""
    allowed = TEMPLATE_VARIABLES.get(kind, frozenset())
    if not text.strip():
        return {"text": [str(_("This field is required."))]}
    if len(text) > MAX_SMS_TEXT:
        return {"text": [str(_("At most %(limit)d characters.") % {"limit": MAX_SMS_TEXT})]}
    try:
        names = template_fields(text)
    except ValueError:
        return {"text": [str(_("Unbalanced braces: write a variable as {name} and a brace itself as {{ or }}."))]}
    unknown = sorted({n for n in names if n not in allowed})
    if unknown:
        return {"text": [str(_("Unknown variables: %(unknown)s. This message may use: %(allowed)s.") % {
            "unknown": ", ".join("{" + n + "}" for n in unknown),
            "allowed": ", ".join("{" + n + "}" for n in sorted(allowed)),
        })]}
    return {}


class MessageTemplate(models.Model):
    """The Chinese text of one kind of customer SMS, with `{variable}` placeholders; edited by supervisors."""

    kind = models.CharField(_("message"), max_length=20, choices=MessageKind.choices, unique=True)
    text = models.TextField(_("text"), help_text=_("Variables in braces, e.g. {number}; see the list per message."))
    is_active = models.BooleanField(_("send this message"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("updated by"))

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")
        ordering = ["kind"]

    def __str__(self) -> str:
        return str(self.get_kind_display())

    def clean(self) -> None:
        # A line break is one character (LF) of the SMS, as the text box counts it: a form posts it as CR LF.
        self.text = one_char_line_breaks(self.text or "")
        errors = check_template(self.kind, self.text)
        if errors:
            raise ValidationError(errors)

    def save(self, *args: object, **kwargs: object) -> None:
        # Also guards saves that bypass forms (shell, fixtures): a broken template never reaches a customer.
        self.clean()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class SmsOptOut(models.Model):
    """A number that asked for no more service notices (replies to its own messages still go out)."""

    msisdn = models.CharField(_("mobile number"), max_length=11, unique=True)
    source = models.CharField(_("source"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("SMS opt-out")
        verbose_name_plural = _("SMS opt-outs")


class CustomerMessage(models.Model):
    """Every SMS queued for a customer: the daily cap counts these, and the key makes each one unique."""

    msisdn = models.CharField(_("mobile number"), max_length=11)
    kind = models.CharField(_("message"), max_length=20, choices=MessageKind.choices)
    ticket_id = models.BigIntegerField(_("work order id"), null=True, blank=True, db_index=True)
    dedupe_key = models.CharField(_("de-duplication key"), max_length=200, unique=True)
    text = models.TextField(_("text"))
    sender = models.CharField(_("sender"), max_length=21)
    scheduled_for = models.DateTimeField(_("send at"))
    day = models.DateField(_("day (Asia/Shanghai)"))
    outbox_id = models.BigIntegerField(_("outbox message"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    # Set when the deliverer gave it up unsent (a progress update whose work order was answered meanwhile): it no
    # longer uses up the number's daily cap.
    given_up_at = models.DateTimeField(_("given up at"), null=True, blank=True,
                                       help_text=_("Not sent: the work order was answered or closed before it went "
                                                   "out. It does not count toward the daily limit."))

    class Meta:
        verbose_name = _("customer SMS")
        verbose_name_plural = _("customer SMS")
        indexes = [models.Index(fields=["msisdn", "day"], name="notify_msg_daily")]

    def __str__(self) -> str:
        # Not Django's "%s object (%d)" in English: the kind of row in the reader's language and its id.
        return f"{self._meta.verbose_name} #{self.pk}"


class ProgressSchedule(models.Model):
    """When an open ticket's customer is next owed a progress update (one row per ticket)."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+",
                                  verbose_name=_("work order"))
    next_at = models.DateTimeField(_("next update at"), db_index=True)

    class Meta:
        verbose_name = _("progress update schedule")
        verbose_name_plural = _("progress update schedule")

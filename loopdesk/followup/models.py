"""Follow-up: the policy of the loop's automatic follow-up, SLA watches, staff alerts, escalations, callbacks."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.tickets.choices import CallbackVerdict, ContactType


class DissatisfiedAction(models.TextChoices):
    REOPEN = "reopen", _("Reopen the work order")
    ESCALATE = "escalate", _("Escalate to the service supervisors")


class FollowupPolicy(models.Model):
    """Business policy of follow-up and customer messages (one row; supervisors edit it in the admin)."""

    progress_every_hours = models.PositiveSmallIntegerField(
        _("progress update every (hours)"), default=24,
        help_text=_("While a complaint stays open beyond this, the customer gets an update at least this often."),
    )
    progress_contact_types = models.CharField(
        _("contact types with progress updates"), max_length=100, default="complaint,appeal,fault",
        help_text=_("Comma separated: complaint, appeal, fault, consultation, suggestion."),
    )
    quiet_start = models.TimeField(_("quiet hours start"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=dt.time(8, 0))
    daily_cap = models.PositiveSmallIntegerField(
        _("SMS per number per day"), default=5, help_text=_("Beyond it, updates are skipped and notices wait a day.")
    )
    survey_valid_hours = models.PositiveSmallIntegerField(_("survey valid for (hours)"), default=72)
    callback_due_hours = models.PositiveSmallIntegerField(_("callback due after the reply (hours)"), default=24)
    dissatisfied_action = models.CharField(
        _("when the customer is dissatisfied at the callback"), max_length=16,
        choices=DissatisfiedAction.choices, default=DissatisfiedAction.REOPEN,
    )
    appeal_escalate_when_overtime = models.BooleanField(
        _("escalate regulator appeals when overtime"), default=True,
        help_text=_("Other work orders are escalated when they become problem tickets."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("follow-up policy")
        verbose_name_plural = _("follow-up policy")

    def __str__(self) -> str:
        return str(_("Follow-up policy"))

    @classmethod
    def current(cls) -> FollowupPolicy:
        """The policy in force: the stored row, or the defaults while none is stored."""
        return cls.objects.order_by("pk").first() or cls()

    def progress_types(self) -> set[str]:
        return {item.strip() for item in self.progress_contact_types.split(",") if item.strip()}

    def clean(self) -> None:
        unknown = self.progress_types() - set(ContactType.values)
        if unknown:
            raise ValidationError({"progress_contact_types": _("Unknown contact types: %(types)s.") % {
                "types": ", ".join(sorted(unknown))}})
        if self.quiet_start == self.quiet_end:
            raise ValidationError({"quiet_end": _("Quiet hours must not start and end at the same time.")})
        if self.progress_every_hours == 0:
            raise ValidationError({"progress_every_hours": _("At least one hour.")})


class WatchKind(models.TextChoices):
    WARN = "warn", _("Due soon")
    OVERTIME = "overtime", _("Becomes overtime")
    PROBLEM = "problem", _("Becomes a problem ticket")


class SlaWatch(models.Model):
    """A moment the SLA sweep must act on for one open ticket (kept in step by a ticket-event listener).

    The sweep reads only rows whose `fire_at` has come, so its work is proportional to what is due, not to
    the number of open tickets.
    """

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("work order"))
    kind = models.CharField(_("kind"), max_length=16, choices=WatchKind.choices)
    fire_at = models.DateTimeField(_("fires at"))
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA watch")
        verbose_name_plural = _("SLA watches")
        indexes = [models.Index(fields=["fire_at", "id"], name="followup_watch_due")]
        constraints = [models.UniqueConstraint(fields=["ticket", "kind"], name="followup_watch_unique")]


class AlertKind(models.TextChoices):
    DUE_SOON = "due_soon", _("Due soon")
    OVERTIME = "overtime", _("Overtime")
    PROBLEM = "problem", _("Problem ticket")
    ESCALATED = "escalated", _("Escalated")
    CALLBACK_DUE = "callback_due", _("Callback due")
    CALLBACK_OVERDUE = "callback_overdue", _("Callback overdue")
    LOW_RATING = "low_rating", _("Low satisfaction rating")


class StaffAlert(models.Model):
    """A message to one member of staff about one ticket (shown in the workbench); unique per occasion."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followup_alerts",
                             verbose_name=_("staff member"))
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                               verbose_name=_("work order"))
    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    occasion = models.CharField(_("occasion"), max_length=100, help_text=_("Makes a repeated sweep harmless."))
    message = models.CharField(_("message"), max_length=300)  # in the addressee's language when it was raised
    # The same message in every language of the site ({"zh-hans": ..., "en": ...}): shown in the reader's language
    # of the moment (`shown_message`). Empty on alerts raised before it was kept: `message` is shown.
    texts = models.JSONField(_("message in each language"), default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")
        indexes = [
            # /alerts/ lists a user's alerts newest first (`selectors.my_alerts`): read in index order, no sort.
            models.Index(fields=["user", "-created_at", "-id"], name="followup_alert_list"),
            # The unread ones (the top bar's count, the 'unread only' list), newest first: a partial index, since
            # PostgreSQL does not take `read_at IS NULL` as an equality that would let (user, read_at, ...) sort.
            models.Index(fields=["user", "-created_at", "-id"], condition=models.Q(read_at__isnull=True),
                         name="followup_alert_unread"),
        ]
        constraints = [models.UniqueConstraint(fields=["user", "occasion"], name="followup_alert_once")]

    def __str__(self) -> str:
        # Not Django's "%s object (%d)" in English: the kind of row in the reader's language and its id.
        return f"{self._meta.verbose_name} #{self.pk}"

    def shown_message(self) -> str:
        """The message in the active language (the reader's), else as it was stored."""
        return str((self.texts or {}).get(get_language() or "") or self.message)


class EscalationReason(models.TextChoices):
    PROBLEM = "problem", _("Problem ticket (past its problem limit)")  # the limit is the policy's (appeals: shorter)
    APPEAL_OVERTIME = "appeal_overtime", _("Regulator appeal overtime")
    DISSATISFIED = "dissatisfied", _("Dissatisfied at the callback")
    LOW_RATING = "low_rating", _("Survey rated 1–2")
    MANUAL = "manual", _("Escalated by hand")


class Escalation(models.Model):
    """A ticket handed to the service supervisors for follow-up; resolved by a supervisor with a note."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="escalations",
                               verbose_name=_("work order"))
    reason = models.CharField(_("reason"), max_length=20, choices=EscalationReason.choices)
    occasion = models.CharField(_("occasion"), max_length=100, unique=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("escalated by"), help_text=_("Who escalated it by hand; empty when the system did."),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("resolved by"),
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        indexes = [models.Index(fields=["created_at"], name="followup_esc_open", condition=Q(resolved_at=None))]


class CallbackStatus(models.TextChoices):
    OPEN = "open", _("To do")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class CallbackTask(models.Model):
    """A callback (回访) the first responder owes the customer after the department replied."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="callback_tasks",
                               verbose_name=_("work order"))
    cycle = models.PositiveSmallIntegerField(_("handling cycle"), default=0, help_text=_("Times reopened before."))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="callback_tasks",
                                 verbose_name=_("assignee"))
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=16, choices=CallbackStatus.choices, default=CallbackStatus.OPEN)
    verdict = models.CharField(_("verdict"), max_length=16, choices=CallbackVerdict.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    overdue_alerted = models.BooleanField(_("overdue alert sent"), default=False)

    class Meta:
        verbose_name = _("callback task")
        verbose_name_plural = _("callback tasks")
        indexes = [
            models.Index(fields=["assignee", "due_at"], name="followup_cb_mine", condition=Q(status="open")),
            models.Index(fields=["due_at"], name="followup_cb_overdue",
                         condition=Q(status="open", overdue_alerted=False)),
        ]
        constraints = [models.UniqueConstraint(fields=["ticket", "cycle"], name="followup_cb_once_per_cycle")]

    def __str__(self) -> str:
        # Not Django's "%s object (%d)" in English: the kind of row in the reader's language and its id.
        return f"{self._meta.verbose_name} #{self.pk}"

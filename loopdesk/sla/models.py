"""SLA policies and the calendars their clocks run on. Business policy: edited by supervisors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopdesk.core.names import EnglishNamed
from loopdesk.customers.choices import Tier
from loopdesk.tickets.choices import Channel, ContactType, Priority


class CalendarKind(models.TextChoices):
    ALWAYS = "24x7", _("24×7 (every minute counts)")
    WORKDAYS = "workdays", _("Working days (Chinese public holidays and make-up workdays honoured)")


class BusinessCalendar(EnglishNamed, models.Model):
    """The time an SLA clock counts. Working days come from a maintained holiday library; the
    `days` table overrides single dates where the library is wrong or a local arrangement applies."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True,
                               help_text=_("Shown when the interface is in English; empty: the Chinese name."))
    kind = models.CharField(_("kind"), max_length=16, choices=CalendarKind.choices, default=CalendarKind.ALWAYS)
    work_start = models.TimeField(_("working day starts"), default=dt.time(0, 0))
    work_end = models.TimeField(
        _("working day ends"), null=True, blank=True, help_text=_("Empty: the whole working day counts.")
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A working day ends after it starts (a day with no working time would stop every clock for good)."""
        super().clean()
        if self.work_end is not None and self.work_start is not None and self.work_end <= self.work_start:
            raise ValidationError({"work_end": _(
                "The working day must end after it starts; to count until midnight (24:00), leave the end empty.")})
        if self.pk is not None and self.work_start is not None:
            self._check_policies_fit()

    def _check_policies_fit(self) -> None:
        """The longest time limit of the policies on this calendar still fits in what its clocks count (about
        three years ahead): shorter working days could leave their work orders without any due time."""
        from django.utils import timezone

        from loopdesk.sla.calendars import WorkingTime

        longest = max((max(getattr(p, name) for name in SlaPolicy.LIMITS)
                       for p in SlaPolicy.objects.filter(calendar_id=self.pk)), default=0)
        if not longest:
            return
        overrides = dict(self.days.values_list("date", "is_workday"))
        working_time = WorkingTime(self.kind, self.work_start, self.work_end, overrides)
        if working_time.add(timezone.now(), longest) is None:
            raise ValidationError({"work_end": _(
                "Working days this short cannot count the longest time limit of the SLA policies on this calendar "
                "(%(minutes)s minutes) within about three years.") % {"minutes": longest}})


class CalendarDay(models.Model):
    """An override of one date in one calendar: a local holiday, or a make-up working day."""

    calendar = models.ForeignKey(BusinessCalendar, verbose_name=_("calendar"), on_delete=models.CASCADE,
                                 related_name="days")
    date = models.DateField(_("date"))
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="sla_calendar_day_unique")]

    def clean(self) -> None:
        """Overrides apply to working-day calendars: a 24×7 calendar counts every minute and ignores them. A form
        error, not a field's: the calendar is a hidden field on the calendar page's inline rows."""
        super().clean()
        if self.calendar_id is not None and BusinessCalendar.objects.filter(
                pk=self.calendar_id, kind=CalendarKind.ALWAYS).exists():
            raise ValidationError(_("A 24×7 calendar counts every minute: a date override has no effect on it. "
                                    "Enter it on a working-day calendar."))


class SlaPolicy(EnglishNamed, models.Model):
    """Time limits for the tickets it matches. The first active policy (by position) whose every
    non-empty condition matches applies; a policy with no conditions is the default."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True,
                               help_text=_("Shown when the interface is in English; empty: the Chinese name."))
    position = models.PositiveIntegerField(_("position"), default=100, help_text=_("Lower is tried first."))
    is_active = models.BooleanField(_("active"), default=True)
    contact_type = models.CharField(_("contact type"), max_length=16, choices=ContactType.choices, blank=True)
    category = models.ForeignKey(
        "tickets.Category",
        verbose_name=_("category (with its subtree)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    tier = models.CharField(_("customer tier"), max_length=8, choices=Tier.choices, blank=True)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    calendar = models.ForeignKey(BusinessCalendar, verbose_name=_("calendar"), on_delete=models.PROTECT)

    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"), default=120)
    hop_reply_minutes = models.PositiveIntegerField(_("dispatch to reply, per hop (minutes)"), default=48 * 60)
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"), default=72 * 60)
    overtime_minutes = models.PositiveIntegerField(_("overtime after (minutes)"), default=48 * 60)
    problem_minutes = models.PositiveIntegerField(_("problem ticket after (minutes)"), default=72 * 60)
    callback_minutes = models.PositiveIntegerField(
        _("answer to callback and close (minutes)"), default=48 * 60,
        help_text=_("After the customer is answered, the callback (回访) and closing are due within this time."),
    )
    warn_before_minutes = models.PositiveIntegerField(_("warn before due (minutes)"), default=4 * 60)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    LIMITS = ("first_response_minutes", "hop_reply_minutes", "resolution_minutes", "overtime_minutes",
              "problem_minutes", "callback_minutes")

    def clean(self) -> None:
        """Every time limit is at least a minute (0 would make each ticket late on arrival), and a ticket becomes a
        problem ticket no sooner than it becomes overtime."""
        super().clean()
        errors: dict[str, Any] = {}
        for name in self.LIMITS:
            value = getattr(self, name)
            if value is not None and value < 1:
                errors[name] = _("A time limit is at least 1 minute.")
        if (self.problem_minutes is not None and self.overtime_minutes is not None and "problem_minutes" not in errors
                and self.problem_minutes < self.overtime_minutes):
            errors["problem_minutes"] = _("A work order cannot become a problem ticket before it is overtime: "
                                          "make this at least the overtime limit.")
        if self.calendar_id is not None:
            self._check_calendar_horizon(errors)
        if errors:
            raise ValidationError(errors)

    def _check_calendar_horizon(self, errors: dict[str, Any]) -> None:
        """Each limit fits in what the calendar's clocks count (about three years ahead, fewer minutes on a
        working-day calendar): beyond it no due time exists and registering a work order fails."""
        from django.utils import timezone

        from loopdesk.sla.calendars import working_time_for

        working_time = working_time_for(self.calendar)
        start = timezone.now()
        for name in self.LIMITS:
            value = getattr(self, name)
            if name not in errors and value and working_time.add(start, value) is None:
                errors[name] = _("Too long for this calendar: its clocks count at most about three years ahead.")

    def __str__(self) -> str:
        return self.name


class ReferenceVersion(models.Model):
    """One row whose `token` changes whenever reference data changes (categories, SLA policies, calendars,
    routing rules, org units, follow-up policy, SMS templates, TMF subscriptions).

    Database triggers change it (so bulk updates, raw SQL and other processes are seen too); every process
    keeps its copy of the reference data for as long as the token stays the same (`loopdesk.sla.refcache`).
    The token is random, not a counter, so a rolled-back change never makes an old copy look current.
    """

    token = models.CharField(_("token"), max_length=32)

    class Meta:
        verbose_name = _("reference data version")
        verbose_name_plural = _("reference data versions")

    def __str__(self) -> str:
        return self.token

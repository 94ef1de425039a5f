"""Satisfaction surveys (ticket and window service), inbound SMS, spam reports (the spam platform's intake)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loopdesk.tickets.choices import Channel


class Score(models.IntegerChoices):
    VERY_SATISFIED = 5, _("Very satisfied (非常满意)")
    SATISFIED = 4, _("Satisfied (很满意)")
    NEUTRAL = 3, _("Neutral (一般)")
    DISSATISFIED = 2, _("Not quite satisfied (不太满意)")
    VERY_BAD = 1, _("Very bad (很差)")


SCORE_WORDS = {5: "非常满意", 4: "很满意", 3: "一般", 2: "不太满意", 1: "很差"}


class SurveyKind(models.TextChoices):
    TICKET = "ticket", _("Work order closed")
    WINDOW = "window", _("Window service (hall, hotline)")


class SurveyStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the answer")
    ANSWERED = "answered", _("Answered")
    EXPIRED = "expired", _("Expired")


class Survey(models.Model):
    """One satisfaction question sent to one number; answered once, by SMS reply or the one-time web link."""

    kind = models.CharField(_("kind"), max_length=8, choices=SurveyKind.choices)
    msisdn = models.CharField(_("mobile number"), max_length=11)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="surveys", verbose_name=_("work order"))
    channel = models.CharField(_("contact channel"), max_length=16, choices=Channel.choices, blank=True)
    unit = models.ForeignKey("org.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("unit rated"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("staff rated"))
    occasion = models.CharField(_("occasion"), max_length=100, unique=True)
    token_hash = models.CharField(_("link token (SHA-256)"), max_length=64, unique=True)
    status = models.CharField(_("status"), max_length=8, choices=SurveyStatus.choices, default=SurveyStatus.OPEN)
    sent_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("valid until"))
    # When its SMS goes out (the SMS's `CustomerMessage.scheduled_for`: later than `sent_at` when held for quiet
    # hours or the daily limit). An SMS reply rates only a survey whose SMS has gone out; blank on older rows.
    sms_at = models.DateTimeField(_("SMS goes out at"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), choices=Score.choices, null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_via = models.CharField(_("answered via"), max_length=8, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    region = models.CharField(_("region code"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [
            models.Index(fields=["msisdn", "sent_at"], name="survey_open_by_number", condition=Q(status="open")),
            models.Index(fields=["expires_at"], name="survey_expiry", condition=Q(status="open")),
            # The screen-pop's "last satisfaction": the number's newest answered survey, read from the index.
            models.Index(fields=["msisdn", "answered_at"], name="survey_answered_by_number",
                         condition=Q(status="answered")),
        ]

    def __str__(self) -> str:
        # Not Django's "%s object (%d)" in English: the kind of row in the reader's language and its id.
        return f"{self._meta.verbose_name} #{self.pk}"


class InboundOutcome(models.TextChoices):
    RATED = "rated", _("Survey answered")
    EXPIRED = "expired", _("Reply after the survey expired")
    ANSWERED = "answered", _("Another rating of an answered survey")
    HELP = "help", _("Not understood: help sent")
    SPAM = "spam", _("Spam report")
    OPT_OUT = "opt_out", _("Opt-out")
    DUPLICATE = "duplicate", _("Repeated delivery")
    TOO_LARGE = "too_large", _("Larger than any SMS: logged, not read")


class InboundSms(models.Model):
    """Every SMS the gateway forwarded to us, with what we made of it."""

    gateway_id = models.CharField(_("gateway message id"), max_length=64, unique=True)
    sender = models.CharField(_("from"), max_length=21)
    recipient = models.CharField(_("to"), max_length=21)
    text = models.TextField(_("text"), blank=True)
    received_at = models.DateTimeField(_("received at"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=InboundOutcome.choices)
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("survey"))

    class Meta:
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        indexes = [models.Index(fields=["sender", "received_at"], name="inbound_by_sender")]


class SpamNumber(models.Model):
    """A number customers reported for spam, with how often and when: the spam platform's worklist."""

    number = models.CharField(_("reported number"), max_length=21, unique=True)
    report_count = models.PositiveIntegerField(_("reports"), default=0)
    reporter_count = models.PositiveIntegerField(_("distinct reporters"), default=0)
    first_reported_at = models.DateTimeField(_("first reported"))
    last_reported_at = models.DateTimeField(_("last reported"))

    class Meta:
        verbose_name = _("reported spam number")
        verbose_name_plural = _("reported spam numbers")
        indexes = [models.Index(fields=["-report_count"], name="spam_top")]


class SpamReport(models.Model):
    """One customer's report (a forwarded spam SMS) of one number."""

    spam_number = models.ForeignKey(SpamNumber, on_delete=models.CASCADE, related_name="reports",
                                    verbose_name=_("reported spam number"))
    reporter = models.CharField(_("reporter"), max_length=11)
    content = models.TextField(_("content"))
    inbound = models.OneToOneField(InboundSms, on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("inbound SMS"))
    created_at = models.DateTimeField(_("reported at"))

    class Meta:
        verbose_name = _("spam report")
        verbose_name_plural = _("spam reports")
        indexes = [models.Index(fields=["spam_number", "reporter"], name="spam_by_reporter")]

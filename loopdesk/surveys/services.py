"""Surveys, inbound SMS and spam reports.

- A closed work order gets a survey: an SMS asking for a 1–5 reply, and a one-time web link (only a
  deliberate POST records a rating, so link scanners cannot rate). Scores 1–2 escalate to the supervisors.
- Window services (hall, hotline) get a survey from the survey port (seed 002's 10086700).
- Inbound SMS: a reply is matched to the latest open survey sent to that number; messages to the spam
  port become spam reports, aggregated by reported number; TD/退订 opts out; a rating after the survey closed (expired,
  or already rated) is told so (it did not count); anything else gets help.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loopdesk.core.db import insert_unless_exists
from loopdesk.core.errors import NotFoundError, ValidationFailed
from loopdesk.core.text import mask_msisdn, normalize_msisdn
from loopdesk.followup.models import AlertKind, EscalationReason, FollowupPolicy
from loopdesk.followup.services import alert, do_escalate_ticket, supervisors_of
from loopdesk.notify.models import MessageKind
from loopdesk.notify.services import do_opt_out, queue_sms
from loopdesk.org.models import OrgUnit
from loopdesk.sla import refcache
from loopdesk.surveys.models import (
    SCORE_WORDS,
    InboundOutcome,
    InboundSms,
    SpamNumber,
    SpamReport,
    Survey,
    SurveyKind,
    SurveyStatus,
)
from loopdesk.tickets.choices import Channel, EventKind
from loopdesk.tickets.models import Ticket, TicketEvent

log = logging.getLogger(__name__)

LOW_SCORES = frozenset({1, 2})
_WORDS = {"非常满意": 5, "很满意": 4, "满意": 4, "一般": 3, "不太满意": 2, "不满意": 2, "很差": 1, "差": 1}
_SCORE_RE = re.compile(r"^([1-5])\s*(?:分|星)?\s*(非常满意|很满意|满意|一般|不太满意|不满意|很差)?$")
_OPT_OUT_WORDS = frozenset({"TD", "T", "N", "退订", "取消"})
_NUMBER_RE = re.compile(r"\+?\d[\d\- ]{3,19}\d")
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_PUNCTUATION = "。，,.!！?？~～ \t\r\n"


def parse_score(text: str) -> int | None:
    """1–5 from a reply: digits, full-width digits, or the scale's words (满意, 不满意 ...)."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip(_PUNCTUATION)
    if cleaned in _WORDS:
        return _WORDS[cleaned]
    match = _SCORE_RE.match(cleaned)
    return int(match.group(1)) if match else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_link(token: str) -> str:
    return f"{settings.LOOPDESK_PUBLIC_URL}/s/{token}/"


def _new_survey(*, kind: str, msisdn: str, occasion: str, at: dt.datetime, **fields: Any) -> tuple[Survey, str]:
    """A survey sent at `at` (unsaved) and the link token only its SMS carries (the row keeps its hash)."""
    token = secrets.token_urlsafe(16)
    hours = refcache.followup_policy().survey_valid_hours
    survey = Survey(kind=kind, msisdn=msisdn, occasion=occasion, token_hash=_token_hash(token), sent_at=at,
                    expires_at=at + dt.timedelta(hours=hours), **fields)
    return survey, token


def _valid_from_sending(survey: Survey, scheduled_for: dt.datetime) -> None:
    """A survey whose SMS waits (quiet hours, the number's daily limit for up to a week) is valid for the policy's
    hours from when the SMS goes out, as its text says: else the customer got a link already expired, or nearly."""
    survey.sms_at = scheduled_for
    if scheduled_for > survey.sent_at:
        survey.expires_at += scheduled_for - survey.sent_at
    # A queryset update: the survey's figures (the rollups' post_save) depend neither on its expiry nor on when its
    # SMS goes out (a held survey still counts on the day it was created).
    Survey.objects.filter(pk=survey.pk).update(expires_at=survey.expires_at, sms_at=survey.sms_at)


def on_ticket_event(ticket: Ticket, event: TicketEvent) -> None:
    """Ticket-event listener: a closed work order gets its satisfaction survey (once per close)."""
    if event.kind != EventKind.CLOSE:
        return
    msisdn = ticket.customer.msisdn
    survey, token = _new_survey(kind=SurveyKind.TICKET, msisdn=msisdn, occasion=f"ticket:{ticket.pk}:{event.seq}",
                                at=event.created_at, ticket=ticket, channel=ticket.channel,
                                unit=ticket.first_responder_unit, staff=ticket.first_responder, region=ticket.region)
    # One statement that skips a survey this close already has. Not `save()`: its post_save would note the ticket
    # for the rollups (loopdesk.reports.rollups.on_survey_saved), which this close event's listener does already,
    # in the same transaction.
    if not insert_unless_exists(survey, ["occasion"]):
        return
    message = queue_sms(msisdn=msisdn, kind=MessageKind.SURVEY, dedupe_key=f"sms:survey:{ticket.pk}:{event.seq}",
                        context={"number": ticket.number, "survey_link": survey_link(token),
                                 "valid_hours": refcache.followup_policy().survey_valid_hours},
                        ticket_id=ticket.pk, region=ticket.region, sender=settings.LOOPDESK_SMS_SURVEY_PORT,
                        now=event.created_at)
    if message is None:
        # Not sent (opted out, switched off, the daily limit): nobody was asked, so no survey is kept (as a window
        # survey's). Else, open and the number's latest, it took the SMS rating of a survey the customer did get,
        # and the reports counted it as sent.
        Survey.objects.filter(pk=survey.pk).delete()
    else:
        _valid_from_sending(survey, message.scheduled_for)


def do_create_window_survey(*, acting_user: Any, msisdn: str, channel: str, contact_ref: str,
                            unit: OrgUnit | None = None, now: dt.datetime | None = None) -> Survey:
    """After a hall or hotline contact, ask the customer to rate it by SMS from the survey port. When the SMS is not
    queued (switched off, opted out, the daily limit), no survey is kept: the one returned is unsaved (no pk)."""
    from loopdesk.core.text import validate_msisdn

    errors: dict[str, list[str]] = {}
    try:
        validate_msisdn(msisdn)
    except Exception:
        errors["msisdn"] = [str(_("Enter an 11-digit mobile number."))]
    if channel not in (Channel.HALL, Channel.HOTLINE, Channel.ACCOUNT_MANAGER):
        errors["channel"] = [str(_("Window surveys rate a hall, hotline or account-manager contact."))]
    contact_ref = (contact_ref or "").strip()
    if not contact_ref or len(contact_ref) > 64:
        errors["contact_ref"] = [str(_("Give the contact's reference (at most 64 characters)."))]
    if errors:
        raise ValidationFailed(errors)
    unit = unit or acting_user.unit
    at = now or timezone.now()
    occasion = f"window:{channel}:{contact_ref}"
    with transaction.atomic():
        existing = Survey.objects.filter(occasion=occasion).first()
        if existing is not None:
            return existing
        survey, _token = _new_survey(kind=SurveyKind.WINDOW, msisdn=msisdn, occasion=occasion, at=at,
                                     channel=channel, unit=unit, staff=acting_user,
                                     region=getattr(unit, "region", "") or "")
        try:
            with transaction.atomic():
                survey.save(force_insert=True)
                message = queue_sms(msisdn=msisdn, kind=MessageKind.WINDOW_SURVEY,
                                    dedupe_key=f"sms:window:{survey.pk}",
                                    context={"unit": unit.name if unit else "",
                                             "valid_hours": FollowupPolicy.current().survey_valid_hours},
                                    region=survey.region, sender=settings.LOOPDESK_SMS_SURVEY_PORT, now=at)
                if message is None:
                    raise _NotSent
                _valid_from_sending(survey, message.scheduled_for)
        except _NotSent:
            # Not sent (switched off, opted out, the daily limit for days): nothing was asked, so no survey is kept.
            # Else a press again said "already sent", and, the number's latest open survey, it took the customer's
            # SMS rating of the survey they did get. The unsaved survey says why (`selectors.window_survey_delivery`).
            survey.pk = None
    return survey


class _NotSent(Exception):
    """A window survey's SMS was not queued: its survey is rolled back."""


def do_rate_survey(*, survey: Survey | int, score: int, via: str, comment: str = "",
                   now: dt.datetime | None = None) -> Survey:
    """Record the one answer of a survey. Scores 1–2 create a follow-up for the service supervisors."""
    if score not in SCORE_WORDS:
        raise ValidationFailed(field="score", message=_("Choose a rating from 1 to 5."))
    # A line break counts once, as the survey page's comment box counts it (a form posts it as CR LF).
    comment = (comment or "").replace("\r\n", "\n").strip()
    if len(comment) > 500:
        raise ValidationFailed(field="comment", message=_("At most %(limit)d characters.") % {"limit": 500})
    at = now or timezone.now()
    with transaction.atomic():
        pk = survey.pk if isinstance(survey, Survey) else survey
        locked = Survey.objects.select_for_update().filter(pk=pk).first()
        if locked is None:
            raise NotFoundError(_("Survey not found."))
        if locked.status == SurveyStatus.ANSWERED:
            raise ValidationFailed(field="score", message=_("This survey was already answered. Thank you!"))
        if locked.status == SurveyStatus.EXPIRED or locked.expires_at <= at:
            raise ValidationFailed(field="score", message=_("This survey has expired."))
        locked.status, locked.score, locked.answered_at, locked.answered_via, locked.comment = (
            SurveyStatus.ANSWERED, score, at, via[:8], comment)
        locked.save(update_fields=["status", "score", "answered_at", "answered_via", "comment"])
        if score in LOW_SCORES:
            if locked.ticket_id:
                do_escalate_ticket(ticket=locked.ticket_id, reason=EscalationReason.LOW_RATING,
                                   occasion=f"survey:{locked.pk}", note=comment, now=at)
            else:
                # As a work order's: the city's supervisors, else its province's and HQ's.
                unit = OrgUnit.objects.filter(pk=locked.unit_id).only("province").first() if locked.unit_id else None
                supervisors = supervisors_of(locked.region, unit.province if unit is not None else "")
                alert(supervisors, ticket=None, kind=AlertKind.LOW_RATING, occasion=f"survey:{locked.pk}",
                      message=lambda: _("A window-service survey was rated %(score)d.") % {"score": score}, at=at)
        queue_sms(msisdn=locked.msisdn, kind=MessageKind.SURVEY_THANKS, dedupe_key=f"sms:thanks:{locked.pk}",
                  context={"score_label": SCORE_WORDS[score]}, ticket_id=locked.ticket_id, region=locked.region,
                  sender=settings.LOOPDESK_SMS_SURVEY_PORT, now=at)
    return locked


def survey_for_token(token: str) -> Survey | None:
    if not token or len(token) > 64:
        return None
    return Survey.objects.filter(token_hash=_token_hash(token)).select_related("ticket").first()


def expire_surveys(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return Survey.objects.filter(status=SurveyStatus.OPEN, expires_at__lte=now).update(status=SurveyStatus.EXPIRED)


# --- inbound SMS -----------------------------------------------------------------------------------


@dataclass
class InboundResult:
    inbound: InboundSms
    duplicate: bool = False


def _digits(value: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", value or ""))


def _record_spam(inbound: InboundSms, text: str, at: dt.datetime) -> str | None:
    # The forwarded spam: the sender's number first (an international prefix dropped), then its text.
    normalized = re.sub(r"^\s*(\+86|0086)[\s-]*", "", unicodedata.normalize("NFKC", text))
    match = _NUMBER_RE.search(normalized)
    if not match:
        return None
    number = _digits(match.group(0))[-21:]
    spam, _created = SpamNumber.objects.select_for_update().get_or_create(
        number=number, defaults={"first_reported_at": at, "last_reported_at": at})
    new_reporter = not SpamReport.objects.filter(spam_number=spam, reporter=inbound.sender).exists()
    SpamReport.objects.create(spam_number=spam, reporter=inbound.sender[:11], content=text, inbound=inbound,
                              created_at=at)
    SpamNumber.objects.filter(pk=spam.pk).update(
        report_count=F("report_count") + 1, reporter_count=F("reporter_count") + int(new_reporter),
        last_reported_at=at)
    return number


def log_oversized_inbound(*, gateway_id: str, sender: str, recipient: str, text: str,
                          received_at: dt.datetime | None = None) -> InboundResult:
    """A signed inbound body larger than any SMS (`views.MAX_BODY`): kept (text whole) as outcome `too_large` for an
    administrator to look at, neither read as a rating, opt-out or spam report nor answered. Idempotent on the
    gateway's message id, as `handle_inbound`."""
    at = received_at or timezone.now()
    sender, recipient = _digits(normalize_msisdn(_digits(sender))), _digits(recipient)
    inbound, created = InboundSms.objects.get_or_create(gateway_id=gateway_id, defaults={
        "sender": sender[:21], "recipient": recipient[:21], "text": text, "received_at": at,
        "outcome": InboundOutcome.TOO_LARGE})
    if created:
        log.warning("inbound SMS %s from %s: %d characters, larger than any SMS: logged, not read", gateway_id,
                       mask_msisdn(sender), len(text))
    return InboundResult(inbound, duplicate=not created)


def handle_inbound(*, gateway_id: str, sender: str, recipient: str, text: str,
                   received_at: dt.datetime | None = None) -> InboundResult:
    """Make sense of one inbound SMS. Idempotent on the gateway's message id; never raises for odd content."""
    at = received_at or timezone.now()
    # The sender as the mobile number (a +86 / 0086 / 86 prefix dropped, as the desk reads a caller): else the
    # surveys sent to the number, its opt-out and replies missed a gateway that reports it in international form.
    sender, recipient = _digits(normalize_msisdn(_digits(sender))), _digits(recipient)
    with transaction.atomic():
        existing = InboundSms.objects.filter(gateway_id=gateway_id).first()
        if existing is not None:
            return InboundResult(existing, duplicate=True)
        inbound = InboundSms.objects.create(gateway_id=gateway_id, sender=sender[:21], recipient=recipient[:21],
                                            text=text, received_at=at, outcome=InboundOutcome.HELP)
        reply_key = f"sms:reply:{inbound.pk}"
        can_reply = _MOBILE_RE.fullmatch(sender) is not None

        def reply(kind: str, context: dict[str, Any], from_number: str | None = None) -> None:
            if can_reply:
                queue_sms(msisdn=sender, kind=kind, dedupe_key=reply_key, context=context, sender=from_number,
                          now=at)

        normalized = unicodedata.normalize("NFKC", text).strip(_PUNCTUATION).upper()
        if recipient == _digits(settings.LOOPDESK_SMS_SPAM_PORT):
            number = _record_spam(inbound, text, at)
            if number is not None:
                inbound.outcome = InboundOutcome.SPAM
                reply(MessageKind.SPAM_ACK, {"reported_number": number}, recipient)
        elif normalized in _OPT_OUT_WORDS and can_reply:
            do_opt_out(msisdn=sender, source="sms", now=at)
            inbound.outcome = InboundOutcome.OPT_OUT
            reply(MessageKind.OPTOUT_ACK, {})
        else:
            score = parse_score(text)
            # Only surveys whose SMS had gone out by the reply: one still held (quiet hours, the daily limit) was
            # not seen yet, and took the rating of the survey the customer did get. (Blank `sms_at`: older rows.)
            received = Survey.objects.filter(Q(sms_at__isnull=True) | Q(sms_at__lte=at), msisdn=sender)
            survey = (received.exclude(status=SurveyStatus.ANSWERED)
                      .order_by("-sent_at", "-id").first()) if score is not None else None
            answered = (received.filter(status=SurveyStatus.ANSWERED)
                        .order_by("-sent_at", "-id").first()) if score is not None else None
            if survey is not None and survey.status == SurveyStatus.OPEN and survey.expires_at > at:
                do_rate_survey(survey=survey, score=score or 0, via="sms", now=at)
                inbound.outcome, inbound.survey = InboundOutcome.RATED, survey
            elif answered is not None and (survey is None or (answered.sent_at, answered.pk) > (survey.sent_at,
                                                                                              survey.pk)):
                # The latest survey was rated already (by the link, or this reply sent twice): it counted once.
                inbound.outcome, inbound.survey = InboundOutcome.ANSWERED, answered
            elif survey is not None:
                inbound.outcome, inbound.survey = InboundOutcome.EXPIRED, survey
        if inbound.outcome in (InboundOutcome.EXPIRED, InboundOutcome.ANSWERED):
            # A rating that came too late or twice: say so, not "reply with a number" (they just did).
            reply(MessageKind.SURVEY_CLOSED, {}, recipient or None)
        elif inbound.outcome == InboundOutcome.HELP:
            reply(MessageKind.HELP, {}, recipient or None)
        inbound.save(update_fields=["outcome", "survey"])
        log.info("inbound SMS %s: %s", inbound.pk, inbound.outcome)
    return InboundResult(inbound)

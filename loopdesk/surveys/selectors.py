"""Read queries of surveys and spam reports that the workbench shares.

- `spam_page`: the reported numbers (already aggregated in SpamNumber by the inbound-SMS service), newest
  report first, one keyset page at a time, each with its latest report's content and reporter (one query).
- `window_survey_delivery`: what became of a window survey's SMS (queued, postponed, or not sent and why).
- `with_sms_delivery` / `sms_delivery_label`: whether a survey's SMS was delivered, still waits, or failed, as the
  outbox says (not when it was scheduled to go out), for a whole page of surveys in its one query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import CharField, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Cast, Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from loopdesk.notify.models import CustomerMessage, MessageKind, MessageTemplate, SmsOptOut
from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.surveys.models import SpamNumber, SpamReport, Survey, SurveyKind

SPAM_PAGE_SIZE = 50


def _latest(field: str) -> Subquery:
    return Subquery(SpamReport.objects.filter(spam_number=OuterRef("pk")).order_by("-created_at", "-id")
                    .values(field)[:1])


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)


def encode_cursor(row: Any) -> str:
    """Exact (microseconds since the epoch, id) of the last row shown."""
    return f"{(row.last_reported_at - _EPOCH) // _MICRO}_{row.pk}"


def decode_cursor(cursor: str) -> tuple[dt.datetime, int] | None:
    """(last_reported_at, id) from a cursor; None when it is not one of ours."""
    try:
        stamp, pk = cursor.split("_", 1)
        return _EPOCH + int(stamp) * _MICRO, int(pk)
    except (ValueError, OverflowError, OSError):
        return None


def spam_page(*, after: str = "", size: int = SPAM_PAGE_SIZE) -> tuple[list[Any], str]:
    """One page of reported numbers, newest report first; returns (rows, cursor of the next page or "")."""
    qs = SpamNumber.objects.annotate(sample_content=_latest("content"), sample_reporter=_latest("reporter"))
    key = decode_cursor(after) if after else None
    if key is not None:
        at, pk = key
        qs = qs.filter(Q(last_reported_at__lt=at) | Q(last_reported_at=at, pk__lt=pk))
    rows = list(qs.order_by("-last_reported_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, encode_cursor(rows[-1]) if more and rows else ""


@dataclass(frozen=True)
class Delivery:
    state: str  # queued | postponed | undelivered (the outbox failed or gave up) | opted_out | switched_off | capped
    send_at: dt.datetime | None = None


def window_survey_delivery(survey: Survey, *, now: dt.datetime) -> Delivery:
    """What became of the SMS of a window survey (see loopdesk.notify.services.queue_sms for the rules)."""
    message = CustomerMessage.objects.filter(dedupe_key=f"sms:window:{survey.pk}").only("scheduled_for",
                                                                                        "outbox_id").first()
    if message is not None:
        outbox = (OutboxMessage.objects.filter(pk=message.outbox_id).values_list("status", flat=True).first()
                  if message.outbox_id is not None else None)
        if outbox in (OutboxStatus.FAILED, OutboxStatus.DEAD):
            return Delivery("undelivered", message.scheduled_for)
        later = message.scheduled_for > now + dt.timedelta(minutes=1)
        return Delivery("postponed" if later else "queued", message.scheduled_for)
    if SmsOptOut.objects.filter(msisdn=survey.msisdn).exists():
        return Delivery("opted_out")
    if MessageTemplate.objects.filter(kind=MessageKind.WINDOW_SURVEY, is_active=False).exists():
        return Delivery("switched_off")
    return Delivery("capped")


def is_opted_out(msisdn: str) -> bool:
    return SmsOptOut.objects.filter(msisdn=msisdn).exists()


def find_window_survey(occasion: str) -> Any:
    return Survey.objects.filter(occasion=occasion).first()


def _sms_key() -> CaseWhen:
    """The outbox key of a survey's SMS, as `surveys.services` queues it: `sms:window:<survey id>` for a window survey,
    `sms:survey:<work order id>:<close event seq>` (its occasion `ticket:<id>:<seq>`) for a work order's."""
    return CaseWhen(
        When(kind=SurveyKind.WINDOW, then=Concat(Value("sms:window:"), Cast(F("pk"), CharField()))),
        default=Concat(Value("sms:survey:"), Substr(F("occasion"), len("ticket:") + 1)),
        output_field=CharField())


def with_sms_delivery(qs: QuerySet[Survey]) -> QuerySet[Survey]:
    """`qs` with `sms_status` and `sms_delivered_at`: the outbox row of each survey's SMS (None: no row, e.g. an
    imported or demo survey), read by the outbox's unique key in the same query."""
    outbox = OutboxMessage.objects.filter(dedupe_key=OuterRef("sms_key"))
    return qs.annotate(sms_key=_sms_key(), sms_status=Subquery(outbox.values("status")[:1]),
                       sms_delivered_at=Subquery(outbox.values("delivered_at")[:1]))


def sms_delivery_label(survey: Survey) -> str:
    """What became of the survey's SMS, in the reader's language (`survey` from `with_sms_delivery`)."""
    status = getattr(survey, "sms_status", None)
    if status == OutboxStatus.DELIVERED:
        delivered_at = getattr(survey, "sms_delivered_at", None)
        return _("Delivered at %(time)s") % {
            "time": timezone.localtime(delivered_at).strftime("%Y-%m-%d %H:%M") if delivered_at else "—"}
    if status == OutboxStatus.PENDING:
        if survey.sms_at is None:
            return _("Waiting to go out")
        return _("Waiting to go out (not before %(time)s)") % {
            "time": timezone.localtime(survey.sms_at).strftime("%Y-%m-%d %H:%M")}
    if status == OutboxStatus.FAILED:
        return _("Not delivered yet: failed, will retry")
    if status == OutboxStatus.DEAD:
        return _("Not delivered: the gateway gave up")
    return _("No SMS on record")

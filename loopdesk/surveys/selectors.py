"""Read queries of surveys and spam reports that the workbench shares.

- `spam_page`: the reported numbers (already aggregated in SpamNumber by the inbound-SMS service), newest
  report first, one keyset page at a time, each with its latest report's content and reporter (one query).
- `window_survey_delivery`: what became of a window survey's SMS (queued, postponed, or not sent and why).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, Subquery

from loopdesk.notify.models import CustomerMessage, MessageKind, MessageTemplate, SmsOptOut
from loopdesk.surveys.models import SpamNumber, SpamReport, Survey

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
    state: str  # queued | postponed | opted_out | switched_off | capped
    send_at: dt.datetime | None = None


def window_survey_delivery(survey: Survey, *, now: dt.datetime) -> Delivery:
    """What became of the SMS of a window survey (see loopdesk.notify.services.queue_sms for the rules)."""
    message = CustomerMessage.objects.filter(dedupe_key=f"sms:window:{survey.pk}").only("scheduled_for").first()
    if message is not None:
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

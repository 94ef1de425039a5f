"""Customer SMS: render a template, apply quiet hours, opt-out and the daily cap, queue it in the outbox.

Every message is written to the outbox in the transaction of the change that causes it, under a
de-duplication key derived from that change (e.g. `sms:ack:<ticket>`), so a customer never gets the same
SMS twice however often the change is replayed or the worker retries.
"""

from __future__ import annotations

import datetime as dt
import logging
import string
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from loopdesk.followup.models import FollowupPolicy
from loopdesk.notify.defaults import DEFAULT_TEXTS, SURVEY_INSTRUCTIONS
from loopdesk.notify.gateways import Sms, get_gateway
from loopdesk.notify.models import (
    CustomerMessage,
    MessageKind,
    MessageTemplate,
    ProgressSchedule,
    SmsOptOut,
    check_template,
)
from loopdesk.org.scope import covers_every_region
from loopdesk.outbox.models import OutboxMessage
from loopdesk.outbox.services import NotDeliverable, enqueue
from loopdesk.sla import refcache
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.choices import EventKind
from loopdesk.tickets.models import Ticket, TicketEvent

log = logging.getLogger(__name__)


def may_edit_templates(user: Any) -> bool:
    """Whether `user`'s scope covers every region the SMS templates serve (one set for all of them): administrators,
    HQ's staff, and a province's staff while no unit is in another province (`loopdesk.org.scope`). A city's
    supervisor reads and previews them only: a change there would change (or silence) the SMS of every other city.
    The page's role check (service supervisors) and the admin's model permissions come on top."""
    return covers_every_region(user)

SMS_CHANNEL = "sms"
# Answers to a message the customer sent: they go out even to an opted-out number and in quiet hours.
RESPONSE_KINDS = frozenset({MessageKind.SURVEY_THANKS, MessageKind.HELP, MessageKind.SURVEY_CLOSED,
                            MessageKind.SPAM_ACK, MessageKind.OPTOUT_ACK})
# Skipped (not postponed) when the daily cap is reached: the next one comes anyway.
SKIPPABLE_KINDS = frozenset({MessageKind.PROGRESS, MessageKind.PROGRESS_LATE})


def render(kind: str, context: dict[str, Any]) -> str | None:
    """The text of `kind` with its variables filled in, or None when the supervisors switched it off."""
    template: MessageTemplate | None = refcache.message_templates().get(kind)
    if template is None:
        return fill(DEFAULT_TEXTS[kind], context)
    if not template.is_active:
        return None
    errors = check_template(kind, template.text)
    if errors:  # saved past the checks (a raw UPDATE, an older list of variables): never fail the change
        log.error("SMS template %s is not valid (%s): the built-in text is sent instead", str(kind),
                  "; ".join(errors.get("text", [])))
        return fill(DEFAULT_TEXTS[kind], context)
    return fill(template.text, context)


def fill(text: str, context: dict[str, Any]) -> str:
    """`text` with its `{variables}` filled in from `context` (after the hotline and the survey instructions every
    message may use): what a customer receives, and what the template editor's preview shows."""
    context = {"hotline": settings.LOOPDESK_SMS_SENDER, "survey_instructions": SURVEY_INSTRUCTIONS, **context}
    out = []
    # Only plain names are substituted (no attribute access or format specs): templates are user input.
    for literal, name, _spec, _conv in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append(str(context.get(name, "")))
    return "".join(out)


def local_date_text(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def release_time(at: dt.datetime, policy: FollowupPolicy) -> dt.datetime:
    """`at`, or the end of the quiet hours when `at` falls inside them (Asia/Shanghai)."""
    local = at.astimezone(SHANGHAI)
    start, end, t = policy.quiet_start, policy.quiet_end, local.timetz().replace(tzinfo=None)
    wraps = start > end  # e.g. 21:00–08:00
    quiet = (t >= start or t < end) if wraps else (start <= t < end)
    if not quiet:
        return at
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=SHANGHAI)


def _morning_after(at: dt.datetime, policy: FollowupPolicy) -> dt.datetime:
    local = at.astimezone(SHANGHAI)
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), policy.quiet_end, tzinfo=SHANGHAI)


def queue_sms(
    *,
    msisdn: str,
    kind: str,
    dedupe_key: str,
    context: dict[str, Any],
    ticket_id: int | None = None,
    region: str = "",
    sender: str | None = None,
    now: dt.datetime | None = None,
) -> CustomerMessage | None:
    """Queue one customer SMS in the outbox (in the caller's transaction). None when not sent, with the reason
    being: already queued under this key, switched-off template, opted-out number, or daily cap."""
    policy: FollowupPolicy = refcache.followup_policy()
    is_response = kind in RESPONSE_KINDS
    text = render(kind, context)
    if text is None:
        return None
    now = now or timezone.now()
    send_at = now if is_response else release_time(now, policy)
    queued, opted_out, sent_that_day = _recipient_state(dedupe_key, msisdn, send_at.astimezone(SHANGHAI).date())
    if queued or (opted_out and not is_response):
        return None
    for attempt in range(7):
        day = send_at.astimezone(SHANGHAI).date()
        if attempt:
            sent_that_day = CustomerMessage.objects.filter(msisdn=msisdn, day=day, given_up_at__isnull=True).count()
        if sent_that_day < policy.daily_cap:
            break
        if is_response or kind in SKIPPABLE_KINDS:
            return None
        send_at = _morning_after(send_at, policy)
    else:
        return None
    sender = sender or settings.LOOPDESK_SMS_SENDER
    # The work order is recorded on CustomerMessage; the outbox row stays generic to the channel. No savepoint:
    # the outbox row is inserted only when its key is new (`enqueue`: ON CONFLICT DO NOTHING), and the message
    # shares that key, so the message cannot collide; any error fails the caller's whole transaction.
    row = enqueue(channel=SMS_CHANNEL, topic=kind, dedupe_key=dedupe_key, target=msisdn,
                  region=region, not_before=send_at,
                  payload={"to": msisdn, "text": text, "sender": sender, "kind": kind})
    if row is None:
        return None
    return CustomerMessage.objects.create(
        msisdn=msisdn, kind=kind, ticket_id=ticket_id, dedupe_key=dedupe_key[:200], text=text, sender=sender,
        scheduled_for=send_at, day=send_at.astimezone(SHANGHAI).date(), outbox_id=row.pk, created_at=now,
    )


def _recipient_state(dedupe_key: str, msisdn: str, day: dt.date) -> tuple[bool, bool, int]:
    """(already queued under this key, number opted out, messages to it on `day` not given up unsent): one query,
    not three. The count reads the (msisdn, day) index: a few rows a number and day."""
    messages = connection.ops.quote_name(CustomerMessage._meta.db_table)
    opt_outs = connection.ops.quote_name(SmsOptOut._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {messages} WHERE dedupe_key = %s), "  # noqa: S608 - our table names
            f"EXISTS (SELECT 1 FROM {opt_outs} WHERE msisdn = %s), "
            f"(SELECT COUNT(*) FROM {messages} WHERE msisdn = %s AND day = %s AND given_up_at IS NULL)",
            [dedupe_key[:200], msisdn, msisdn, day])
        queued, opted_out, count = cursor.fetchone()
    return bool(queued), bool(opted_out), int(count)


def ticket_context(ticket: Ticket) -> dict[str, Any]:
    return {"number": ticket.number, "committed_date": local_date_text(ticket.committed_at),
            "handler_unit": ticket.handler_unit.name}


def _queue_for_ticket(ticket: Ticket, kind: str, key: str, at: dt.datetime, **extra: Any) -> CustomerMessage | None:
    return queue_sms(msisdn=ticket.customer.msisdn, kind=kind, dedupe_key=f"sms:{kind}:{ticket.pk}:{key}",
                     context={**ticket_context(ticket), **extra}, ticket_id=ticket.pk, region=ticket.region, now=at)


def _schedule_progress(ticket: Ticket, start: dt.datetime) -> None:
    policy: FollowupPolicy = refcache.followup_policy()
    if ticket.contact_type not in policy.progress_types():
        return
    # One upsert (INSERT ... ON CONFLICT DO UPDATE) instead of a locking read and a write.
    ProgressSchedule.objects.bulk_create(
        [ProgressSchedule(ticket_id=ticket.pk, next_at=start + dt.timedelta(hours=policy.progress_every_hours))],
        update_conflicts=True, unique_fields=["ticket"], update_fields=["next_at"])


def on_ticket_event(ticket: Ticket, event: TicketEvent) -> None:
    """Ticket-event listener: the customer messages of the loop."""
    kind, at = event.kind, event.created_at
    if kind == EventKind.CREATE:
        _queue_for_ticket(ticket, MessageKind.ACK, "0", at)
        _schedule_progress(ticket, at)
    elif kind == EventKind.REQUEST_INFO:
        _queue_for_ticket(ticket, MessageKind.INFO_REQUEST, str(event.seq), at)
    elif kind == EventKind.COMMIT_TIME:
        _queue_for_ticket(ticket, MessageKind.COMMIT_CHANGED, str(event.seq), at)
    elif kind == EventKind.ANSWER:
        _queue_for_ticket(ticket, MessageKind.RESOLUTION, str(event.seq), at)
        ProgressSchedule.objects.filter(ticket=ticket).delete()
    elif kind == EventKind.REOPEN:
        _schedule_progress(ticket, at)
    elif kind in (EventKind.CLOSE, EventKind.WITHDRAW, EventKind.REJECT):
        ProgressSchedule.objects.filter(ticket=ticket).delete()


def sweep_progress(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Queue the progress updates that have come due (one per ticket and day at most). Idempotent."""
    now = now or timezone.now()
    policy = FollowupPolicy.current()
    every = dt.timedelta(hours=policy.progress_every_hours)
    due = list(ProgressSchedule.objects.filter(next_at__lte=now).order_by("next_at")[:batch])
    tickets = Ticket.objects.select_related("customer", "handler_unit").in_bulk([d.ticket_id for d in due])
    queued = 0
    for item in due:
        ticket = tickets.get(item.ticket_id)
        with transaction.atomic():
            if ticket is None or not ticket.is_open or ticket.answered_at is not None:
                ProgressSchedule.objects.filter(pk=item.pk).delete()
                continue
            day = now.astimezone(SHANGHAI).date().isoformat()
            # Never a committed time that has passed (overdue, or long on hold): then the work goes on and a new
            # time will be given (`progress_late`). One progress SMS a day either way: the same key.
            late = ticket.committed_at <= release_time(now, policy)  # as it goes out (after the quiet hours)
            kind = MessageKind.PROGRESS_LATE if late else MessageKind.PROGRESS
            queued += queue_sms(msisdn=ticket.customer.msisdn, kind=kind, context=ticket_context(ticket),
                                dedupe_key=f"sms:{MessageKind.PROGRESS}:{ticket.pk}:{day}", ticket_id=ticket.pk,
                                region=ticket.region, now=now) is not None
            ProgressSchedule.objects.filter(pk=item.pk).update(next_at=max(item.next_at + every, now + every / 2))
    return queued


def do_opt_out(*, msisdn: str, source: str, now: dt.datetime | None = None) -> bool:
    """Stop service notices to a number. Returns False when it had opted out already."""
    _obj, created = SmsOptOut.objects.get_or_create(msisdn=msisdn, defaults={
        "source": source[:32], "created_at": now or timezone.now()})
    return created


def deliver_sms(message: OutboxMessage) -> None:
    """Outbox deliverer of the `sms` channel: hand the message to the configured gateway. A progress update whose
    work order was answered or closed while it waited (quiet hours, the daily limit, a gateway outage) is given up:
    the customer would read "still in progress" after "resolved"."""
    payload = message.payload
    if message.topic in (MessageKind.PROGRESS, MessageKind.PROGRESS_LATE):
        # The SMS rows carry no ticket id (no delivery order between them): the work order is in the key that
        # `sweep_progress` gives them, sms:progress:<ticket>:<day>.
        parts = message.dedupe_key.split(":")
        ticket_id = parts[2] if len(parts) > 2 else ""
        state = (Ticket.objects.filter(pk=int(ticket_id)).values_list("is_open", "answered_at").first()
                 if ticket_id.isdigit() else None)
        if state is not None and (not state[0] or state[1] is not None):
            # Not sent: it leaves that day's cap to the messages the customer does get.
            CustomerMessage.objects.filter(dedupe_key=message.dedupe_key[:200]).update(given_up_at=timezone.now())
            raise NotDeliverable("the work order was answered or closed before this progress update went out")
    get_gateway().send(Sms(id=message.dedupe_key, to=payload["to"], sender=payload.get("sender", ""),
                           text=payload["text"]))

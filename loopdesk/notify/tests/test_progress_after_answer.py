"""A progress update held for the quiet hours ("we are still working on it, done by ...") went out the next morning
after the customer had been answered, together with the resolution SMS: the customer read "still in progress" after
"resolved". A progress update whose work order was answered or closed before it went out is not sent now (the outbox
row gives up, saying why); one still open goes out."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.notify import services as notify
from loopdesk.notify.gateways import read_file_gateway
from loopdesk.notify.models import CustomerMessage
from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.tickets import services as s

H = dt.timedelta(hours=1)


def _outbox(ticket_id: int, kind: str) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=CustomerMessage.objects.get(ticket_id=ticket_id, kind=kind).outbox_id)


def test_a_held_progress_update_is_not_sent_after_the_customer_was_answered(world: World, tmp_path,
                                                                             settings) -> None:
    settings.LOOPDESK_SMS_GATEWAY, settings.LOOPDESK_SMS_FILE = "file", tmp_path / "sms.jsonl"
    answered = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                                  dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    still_open = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                                    dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    assert notify.sweep_progress(now=T0 + 36 * H) == 2  # 21:00 in Shanghai: held until the morning
    assert _outbox(answered.pk, "progress").not_before > T0 + 36 * H
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=answered, now=T0 + 36 * H)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已调整天线", now=T0 + 37 * H)
    s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知", now=T0 + 37 * H)
    worker.deliver_due()
    progress = _outbox(answered.pk, "progress")
    assert progress.status == OutboxStatus.DEAD and "answered" in progress.last_error
    assert _outbox(still_open.pk, "progress").status == OutboxStatus.DELIVERED
    sent = read_file_gateway(settings.LOOPDESK_SMS_FILE)
    to_answered = [line["text"] for line in sent if line["to"] == answered.customer.msisdn]
    assert len(to_answered) == 2 and all(answered.number in text for text in to_answered)  # the ack, the resolution
    assert _outbox(answered.pk, "resolution").status == OutboxStatus.DELIVERED


def test_a_given_up_progress_update_does_not_use_up_the_daily_cap(world: World, tmp_path, settings) -> None:
    """The progress update held overnight and given up (the customer was answered meanwhile) was never sent, yet it
    counted toward that day's per-number SMS cap: the customer's next message that day was skipped or postponed.
    It is marked given up on its customer SMS row and no longer counts."""
    from loopdesk.followup.models import FollowupPolicy

    FollowupPolicy.objects.create(daily_cap=2)
    settings.LOOPDESK_SMS_GATEWAY, settings.LOOPDESK_SMS_FILE = "file", tmp_path / "sms.jsonl"
    ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                                dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    assert notify.sweep_progress(now=T0 + 36 * H) == 1  # 21:00: held until 08:00 the next day
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=ticket, now=T0 + 36 * H)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已调整天线", now=T0 + 37 * H)
    s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知", now=T0 + 37 * H)
    morning = T0 + 47 * H  # 08:00 the day the progress update and the resolution notice were held for
    msisdn = ticket.customer.msisdn
    assert CustomerMessage.objects.filter(msisdn=msisdn, day=morning.date()).count() == 2  # progress, resolution
    worker.deliver_due()
    progress = CustomerMessage.objects.get(ticket_id=ticket.pk, kind="progress")
    assert progress.given_up_at is not None and _outbox(ticket.pk, "progress").status == OutboxStatus.DEAD
    assert CustomerMessage.objects.get(ticket_id=ticket.pk, kind="resolution").given_up_at is None
    # One SMS went out that day (the resolution): the cap of 2 leaves room for one more, which the progress update
    # given up had taken.
    other = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                               dispatch_to=world.units["netmaint"], **world.ticket_kwargs(customer=ticket.customer))
    queued = notify.queue_sms(msisdn=msisdn, kind="progress", dedupe_key=f"sms:progress:{other.pk}:x",
                              context=notify.ticket_context(other), ticket_id=other.pk, now=morning + 2 * H)
    assert queued is not None and queued.day == morning.date()

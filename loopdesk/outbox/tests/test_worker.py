"""The outbox worker: delivers due rows through their channel's deliverer, retries with back-off, gives up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.outbox.services import _deliverers, enqueue, register_deliverer
from loopdesk.outbox.tasks import deliver_due


@pytest.fixture
def channels():
    sent: list[str] = []
    saved = dict(_deliverers)

    def ok(message: OutboxMessage) -> None:
        sent.append(message.dedupe_key)

    def broken(message: OutboxMessage) -> None:
        raise ConnectionError("subscriber is down")

    register_deliverer("t-ok", ok)
    register_deliverer("t-broken", broken)
    yield sent
    _deliverers.clear()
    _deliverers.update(saved)


def _row(channel: str, key: str, **kwargs) -> OutboxMessage:
    row = enqueue(channel=channel, topic="t", dedupe_key=key, payload={"n": key}, **kwargs)
    assert row is not None
    return row


def test_due_rows_are_delivered_once_in_order(db, channels) -> None:
    for i in range(5):
        _row("t-ok", f"k{i}")
    report = worker.deliver_due(batch=2)
    assert channels == ["k0", "k1", "k2", "k3", "k4"]
    assert report.delivered == 5
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}
    assert worker.deliver_due().claimed == 0  # nothing is sent twice


def test_rows_not_yet_due_wait(db, channels) -> None:
    _row("t-ok", "later", not_before=timezone.now() + dt.timedelta(hours=1))
    assert worker.deliver_due().claimed == 0 and channels == []


def test_dead_subscriber_does_not_block_others_and_backs_off(db, channels) -> None:
    _row("t-broken", "b1")
    _row("t-ok", "o1")
    report = worker.deliver_due()
    assert report.delivered == 1 and report.failed == 1 and channels == ["o1"]
    failed = OutboxMessage.objects.get(dedupe_key="b1")
    assert failed.status == OutboxStatus.FAILED and failed.attempts == 1
    assert "subscriber is down" in failed.last_error
    assert failed.not_before >= timezone.now() + dt.timedelta(seconds=25)  # back-off, not retried at once
    _row("t-ok", "o2")
    assert worker.deliver_due().delivered == 1 and channels == ["o1", "o2"]


def test_gives_up_after_max_attempts(db, channels) -> None:
    row = _row("t-broken", "b1")
    for attempt in range(1, 4):
        OutboxMessage.objects.filter(pk=row.pk).update(not_before=timezone.now())
        worker.deliver_due(max_attempts=3)
        row.refresh_from_db()
        assert row.attempts == attempt
    assert row.status == OutboxStatus.DEAD
    assert worker.retry_dead(ids=[row.pk]) == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING and row.attempts == 0


def test_channel_without_deliverer_is_retried_later(db, channels) -> None:
    _row("nobody-listens", "n1")
    assert worker.deliver_due().failed == 1
    assert "no deliverer" in OutboxMessage.objects.get(dedupe_key="n1").last_error


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [worker.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert worker.backoff(20).total_seconds() == 3600


def test_claimed_rows_are_invisible_until_the_lease_ends(db, channels) -> None:
    _row("t-ok", "c1")
    claimed = worker.claim_due(batch=10, lease_seconds=60)
    assert [r.dedupe_key for r in claimed] == ["c1"]
    assert worker.claim_due(batch=10, lease_seconds=60) == []  # a second worker takes nothing
    later = timezone.now() + dt.timedelta(seconds=61)
    # A worker that died holding the claim: after the lease the row is due again (at least once).
    assert [r.dedupe_key for r in worker.claim_due(batch=10, lease_seconds=60, now=later)] == ["c1"]


def test_celery_task_runs_the_worker(db, channels) -> None:
    _row("t-ok", "task1")
    result = deliver_due.delay()  # eager in tests
    assert result.get()["delivered"] == 1 and channels == ["task1"]


@pytest.fixture
def flaky(channels):
    """Channel `t-flaky`: refuses the messages whose key is in `refuse` (an answer, e.g. HTTP 500), sends the rest."""
    refuse: set[str] = set()

    def deliver(message: OutboxMessage) -> None:
        if message.dedupe_key in refuse:
            raise RuntimeError("HTTP 500")
        channels.append(message.dedupe_key)

    register_deliverer("t-flaky", deliver)
    return refuse


def test_one_tickets_messages_wait_behind_an_earlier_failed_one(db, channels, flaky) -> None:
    flaky.add("t1-a")
    for key in ("t1-a", "t1-b", "t1-c"):
        _row("t-flaky", key, ticket_id=1, target="sub-1")
    _row("t-flaky", "t2-a", ticket_id=2, target="sub-1")  # another ticket
    _row("t-flaky", "t1-other", ticket_id=1, target="sub-2")  # another subscriber of the same ticket
    report = worker.deliver_due()
    assert report.failed == 1 and sorted(channels) == ["t1-other", "t2-a"]
    # Ticket 1's later events to sub-1 were not sent ahead of the one being retried, nor counted as attempts.
    assert set(OutboxMessage.objects.filter(dedupe_key__in=["t1-b", "t1-c"]).values_list("status", "attempts")) == {
        (OutboxStatus.PENDING, 0)
    }
    # They wait for the retry (not due before it), so a long outage does not fill every claim with them.
    retry_at = OutboxMessage.objects.get(dedupe_key="t1-a").not_before
    assert set(OutboxMessage.objects.filter(dedupe_key__in=["t1-b", "t1-c"]).values_list("not_before", flat=True)) \
        == {retry_at}
    assert worker.deliver_due().claimed == 0  # still in back-off: nothing of ticket 1 to sub-1 goes out
    flaky.clear()
    OutboxMessage.objects.filter(dedupe_key__startswith="t1-").update(not_before=timezone.now())
    assert worker.deliver_due().delivered == 3  # one run: each one once the one before it is acknowledged
    assert channels[2:] == ["t1-a", "t1-b", "t1-c"]


def test_a_message_being_sent_holds_back_the_next_one_of_its_ticket(db, channels) -> None:
    for key in ("s1", "s2"):
        _row("t-ok", key, ticket_id=7, target="sub")
    _row("t-ok", "free", ticket_id=None, target="sub")  # no ticket: no order
    first = worker.claim_due(batch=10, lease_seconds=60)
    assert [r.dedupe_key for r in first] == ["s1", "free"]
    assert worker.claim_due(batch=10, lease_seconds=60) == []  # another worker does not send s2 meanwhile
    worker.deliver_rows(first, max_attempts=5)
    assert [r.dedupe_key for r in worker.claim_due(batch=10, lease_seconds=60)] == ["s2"]


def test_a_given_up_message_no_longer_holds_back_the_later_ones(db, channels, flaky) -> None:
    flaky.add("d1")
    _row("t-flaky", "d1", ticket_id=3, target="sub")
    _row("t-flaky", "d2", ticket_id=3, target="sub")
    worker.deliver_due(max_attempts=1)
    assert OutboxMessage.objects.get(dedupe_key="d1").status == OutboxStatus.DEAD
    assert channels == ["d2"]


def test_a_message_without_a_receiver_any_more_is_given_up_at_once_with_the_reason(db, channels) -> None:
    from loopdesk.outbox.services import NotDeliverable

    def gone(message: OutboxMessage) -> None:
        raise NotDeliverable("listener 7 was deleted")

    register_deliverer("t-gone", gone)
    row = _row("t-gone", "g1", ticket_id=9, target="7")
    _row("t-ok", "g2", ticket_id=9, target="7")  # another channel: not held
    report = worker.deliver_due()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.delivered_at) == (OutboxStatus.DEAD, 1, None)
    assert row.last_error == "not deliverable: listener 7 was deleted"
    assert report.dead == 1 and report.delivered == 1

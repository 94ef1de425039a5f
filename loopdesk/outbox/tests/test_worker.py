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

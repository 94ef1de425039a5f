"""A webhook subscriber that accepts the connection and never answers (E12), against a real loopback listener.

Before: every row of that subscriber cost the delivery timeout, one after the other, for a whole batch; the SMS
rows behind them waited, and the batch outlived its lease (rows claimed again while still being sent). Now the
subscriber is tried once per pass, its other rows wait for the back-off untried, and a pass stops starting
deliveries after its time budget, releasing what it did not start.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from loopdesk.notify.gateways import read_file_gateway
from loopdesk.notify.services import SMS_CHANNEL
from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.outbox.services import enqueue
from loopdesk.tmf import delivery
from loopdesk.tmf.models import DeliveryLog, EventSubscription

# Their listeners are on loopback: allowed here as a deployment allows a network (loopdesk.tmf.callbacks).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback_callbacks")]

TIMEOUT = 1.0  # the subscriber's delivery timeout in these tests (10 s in production)


@dataclass
class Listener:
    url: str = ""
    stall: bool = True  # accept, read the request, never answer
    delay: float = 0.0  # answer after this long
    status: int = 200
    received: list[str] = field(default_factory=list)  # X-LoopDesk-Event-Id of every request, in order
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def listener() -> Iterator[Listener]:
    state = Listener()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(self.headers.get("X-LoopDesk-Event-Id") or self.headers["Idempotency-Key"])
            if state.stall:
                state.release.wait(30)
                return
            time.sleep(state.delay)
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def sms_file(settings, tmp_path):
    settings.LOOPDESK_SMS_GATEWAY = "file"
    settings.LOOPDESK_SMS_FILE = tmp_path / "sms.jsonl"
    return settings.LOOPDESK_SMS_FILE


def _events(sub: EventSubscription, n: int) -> list[OutboxMessage]:
    start = timezone.now() - dt.timedelta(minutes=10)
    rows = []
    for i in range(n):
        row = enqueue(channel=delivery.CHANNEL, topic="TroubleTicketStatusChangeEvent", dedupe_key=f"ev-{i}",
                      payload={"eventId": f"ev-{i}", "eventType": "TroubleTicketStatusChangeEvent"},
                      target=str(sub.pk), not_before=start + dt.timedelta(seconds=i))
        assert row is not None
        rows.append(row)
    return rows


def test_a_subscriber_that_never_answers_costs_one_timeout_per_pass(listener, sms_file, monkeypatch) -> None:
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", TIMEOUT)
    sub = EventSubscription.objects.create(name="stalls", callback=listener.url)
    events = _events(sub, 12)
    # The SMS is due after all of them: the claim takes it last, behind the subscriber's rows.
    enqueue(channel=SMS_CHANNEL, topic="ticket_created", dedupe_key="sms-1", target="13800000001",
            payload={"to": "13800000001", "text": "您的工单已受理。"},
            not_before=timezone.now() - dt.timedelta(seconds=1))

    started = time.time()
    report = worker.deliver_due(batch=500, lease_seconds=120)
    elapsed = time.time() - started

    assert (report.claimed, report.delivered, report.failed, report.held) == (13, 1, 1, 11)
    sent = read_file_gateway(sms_file)
    assert [m["id"] for m in sent] == ["sms-1"]
    assert sent[0]["at"] - started < TIMEOUT + 1.5  # promptly: one timeout, not twelve
    assert elapsed < TIMEOUT + 2
    assert listener.received == ["ev-0"]  # tried once in the pass
    first = OutboxMessage.objects.get(pk=events[0].pk)
    assert first.status == OutboxStatus.FAILED and first.attempts == 1
    held = OutboxMessage.objects.filter(pk__in=[r.pk for r in events[1:]])
    assert {(r.status, r.attempts, r.not_before) for r in held} == {
        (OutboxStatus.PENDING, 0, first.not_before)}  # untried, attempt not counted, same back-off
    assert first.not_before > timezone.now() + dt.timedelta(seconds=20)
    assert all("not tried" in r.last_error for r in held)
    assert worker.deliver_due(batch=500, lease_seconds=120).claimed == 0  # nothing comes back before the back-off

    # The subscriber recovers; the back-off has passed.
    listener.stall = False
    listener.release.set()
    OutboxMessage.objects.filter(channel=delivery.CHANNEL).update(not_before=timezone.now())
    assert worker.deliver_due(batch=500, lease_seconds=120).delivered == 12
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}
    assert sorted(listener.received) == sorted(["ev-0", *[f"ev-{i}" for i in range(12)]])
    ok = list(DeliveryLog.objects.filter(ok=True).values_list("event_id", flat=True))
    assert sorted(ok) == sorted(f"ev-{i}" for i in range(12))  # each acknowledged once
    assert [m["id"] for m in read_file_gateway(sms_file)] == ["sms-1"]  # the SMS was not sent again


def test_a_pass_stops_starting_deliveries_when_its_budget_is_spent(listener, monkeypatch) -> None:
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", TIMEOUT)
    listener.stall = False
    listener.delay = 0.3
    sub = EventSubscription.objects.create(name="slow", callback=listener.url)
    events = _events(sub, 12)

    started = time.monotonic()
    report = worker.deliver_due(batch=500, lease_seconds=4)  # pass budget: a quarter of the lease, 1 s
    elapsed = time.monotonic() - started

    assert 2 <= report.delivered <= 5 and report.released == 12 - report.delivered and report.failed == 0
    assert elapsed < 1 + TIMEOUT  # the last delivery started within the budget ended well inside the lease
    delivered = set(OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).values_list("pk", flat=True))
    released = OutboxMessage.objects.exclude(pk__in=delivered)
    assert {r.attempts for r in released} == {0}
    assert all(r.not_before <= timezone.now() for r in released)
    # Released rows are due at once for any worker; the ones sent are not claimed again.
    again = worker.claim_due(batch=500, lease_seconds=60)
    assert {r.pk for r in again} == {r.pk for r in released} and not {r.pk for r in again} & delivered
    OutboxMessage.objects.filter(pk__in=[r.pk for r in again]).update(not_before=timezone.now(),
                                                                      attempts=0)
    while worker.deliver_due(batch=500, lease_seconds=60).claimed:
        pass
    assert OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count() == len(events)
    assert sorted(listener.received) == sorted(f"ev-{i}" for i in range(12))  # every event once


def test_a_subscriber_that_answers_with_an_error_is_tried_row_by_row(listener) -> None:
    """An answer (HTTP 500) is not 'unreachable': each row is tried and backs off on its own."""
    listener.stall = False
    listener.status = 500
    sub = EventSubscription.objects.create(name="errors", callback=listener.url)
    _events(sub, 3)
    report = worker.deliver_due(batch=500, lease_seconds=120)
    assert (report.failed, report.held, report.delivered) == (3, 0, 0)
    assert listener.received == ["ev-0", "ev-1", "ev-2"]
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_an_http_sms_gateway_that_never_answers_costs_one_timeout_per_pass(listener, settings) -> None:
    """The SMS gateway is one destination (the channel): its GatewayError raised from the timeout counts."""
    settings.LOOPDESK_SMS_GATEWAY, settings.LOOPDESK_SMS_HTTP_URL = "http", listener.url
    settings.LOOPDESK_SMS_HTTP_TIMEOUT = TIMEOUT
    for i in range(5):
        enqueue(channel=SMS_CHANNEL, topic="ack", dedupe_key=f"sms-{i}", target="13800000001",
                payload={"to": "13800000001", "text": f"第 {i} 条"},
                not_before=timezone.now() - dt.timedelta(seconds=10 - i))
    started = time.monotonic()
    report = worker.deliver_due(batch=500, lease_seconds=120)
    assert time.monotonic() - started < TIMEOUT + 2
    assert (report.failed, report.held, report.delivered) == (1, 4, 0)
    assert listener.received == ["sms-0"]
    assert "unreachable" in OutboxMessage.objects.get(dedupe_key="sms-0").last_error

"""The outbox is written in the ticket's transaction: a rolled-back change leaves nothing to send."""

from __future__ import annotations

import pytest
from django.db import transaction

from loopdesk.conftest import T0, World
from loopdesk.outbox.models import OutboxMessage
from loopdesk.outbox.services import enqueue
from loopdesk.tickets import events
from loopdesk.tickets import services as s


@pytest.fixture
def outbox_listener():
    def listener(ticket, event):
        enqueue(channel="test", topic=event.kind, dedupe_key=f"{ticket.pk}:{event.seq}",
                payload={"number": ticket.number, "status": ticket.status, "version": ticket.version},
                ticket_id=ticket.pk)

    events.register_listener("test-outbox", listener)
    yield
    events.unregister_listener("test-outbox")


def test_each_timeline_event_reaches_listeners_with_the_saved_state(world: World, outbox_listener) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    rows = list(OutboxMessage.objects.filter(ticket_id=t.pk).order_by("id"))
    assert [r.topic for r in rows] == ["create", "dispatch"]
    assert rows[-1].payload["status"] == "dispatched" and rows[-1].payload["version"] == t.version


def test_rolled_back_change_leaves_no_message(world: World, outbox_listener) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    with pytest.raises(RuntimeError), transaction.atomic():
        s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["it"], now=T0)
        raise RuntimeError("the caller's transaction fails after the service")
    assert list(OutboxMessage.objects.filter(ticket_id=t.pk).values_list("topic", flat=True)) == ["create"]


def test_same_dedupe_key_is_stored_once(db) -> None:
    first = enqueue(channel="sms", topic="ack", dedupe_key="k1", payload={}, target="13800000000")
    again = enqueue(channel="sms", topic="ack", dedupe_key="k1", payload={}, target="13800000000")
    assert first is not None and again is None
    assert OutboxMessage.objects.filter(dedupe_key="k1").count() == 1


def test_a_duplicate_costs_no_savepoint_and_leaves_the_transaction_usable(db) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    payload = {"to": "13800000000", "text": "【中国移动】您反映的问题已受理", "n": 1, "nested": {"a": [1, 2]}}
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            first = enqueue(channel="sms", topic="ack", dedupe_key="k2", payload=payload, target="13800000000",
                            ticket_id=42, region="JM")
            again = enqueue(channel="sms", topic="other", dedupe_key="k2", payload={}, target="13900000000")
        assert again is None and first is not None
        assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
        assert len(queries.captured_queries) == 2
        # Still usable (on PostgreSQL a failed INSERT without a savepoint would have aborted it).
        stored = OutboxMessage.objects.get(dedupe_key="k2")
    assert stored.pk == first.pk and not first._state.adding
    assert (stored.payload, stored.topic, stored.target, stored.ticket_id, stored.region, stored.status,
            stored.attempts, stored.not_before, stored.created_at) == (
        payload, "ack", "13800000000", 42, "JM", "pending", 0, first.not_before, first.created_at)


def test_an_error_other_than_the_duplicate_key_is_raised(db) -> None:
    """Only a repeated key is skipped: a row the database refuses otherwise (here NULL in a NOT NULL column) is an
    error, not silently taken for a duplicate."""
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        enqueue(channel="sms", topic="t", dedupe_key="k3", payload={}, region=None)  # type: ignore[arg-type]
    assert not OutboxMessage.objects.filter(dedupe_key="k3").exists()


def test_the_outbox_admin_masks_customers_numbers_for_staff_who_may_not_reveal_them(world: World) -> None:
    """An auditor (every view permission, may not reveal) read customers' full numbers in SMS rows (target and
    payload); staff with the reveal permission see them, as in the customer admin."""
    from django.contrib.auth.models import Permission
    from django.test import Client
    from django.utils import timezone

    from loopdesk.org.models import User

    row = OutboxMessage.objects.create(
        channel="sms", topic="ack", dedupe_key="sms:ack:1:1", target="13912345678", created_at=timezone.now(),
        not_before=timezone.now(), payload={"to": "13912345678", "text": "您的工单已受理", "kind": "ack"})
    staff = User.objects.create_user("auditor-staff", password="x-long-pass-2026", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_outboxmessage"))
    client = Client()
    client.force_login(staff)
    page = client.get(f"/admin/outbox/outboxmessage/{row.pk}/change/").content.decode()
    assert "13912345678" not in page and "139****5678" in page and "您的工单已受理" in page
    staff.user_permissions.add(Permission.objects.get(codename="reveal_customer"))
    staff = User.objects.get(pk=staff.pk)  # fresh permission cache
    client.force_login(staff)
    page = client.get(f"/admin/outbox/outboxmessage/{row.pk}/change/").content.decode()
    assert "13912345678" in page

"""Event callbacks into LoopDesk's own network (loopback, private, link-local) are refused when registered and at
delivery, unless LOOPDESK_WEBHOOK_ALLOWED_NETWORKS allows them (server-side request forgery)."""

from __future__ import annotations

import pytest
from django.utils import translation

from loopdesk.conftest import World
from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.tickets import services as s
from loopdesk.tmf import mapping
from loopdesk.tmf.delivery import CHANNEL
from loopdesk.tmf.models import DeliveryLog, EventSubscription, SubscriptionKind
from loopdesk.tmf.tests.conftest import BASE, Receiver

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("callback", [
    "http://127.0.0.1:8080/x", "http://localhost/x", "http://app.localhost/x", "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x", "http://10.1.2.3/x", "http://192.168.0.10/x", "http://172.16.5.5/x",
    "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/x", "http://[fd00::1]/x",
])
def test_the_hub_refuses_a_callback_into_our_own_network(world: World, crm, callback: str) -> None:
    response = crm.post(f"{BASE}/hub", {"callback": callback}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    body = response.json()
    assert {"code", "reason", "status"} <= set(body) and list(body["errors"]) == ["callback"]
    assert "LOOPDESK_WEBHOOK_ALLOWED_NETWORKS" in body["errors"]["callback"][0]
    assert not EventSubscription.objects.exists()


def test_the_hub_refusal_is_in_the_users_language(world: World, crm) -> None:
    response = crm.post(f"{BASE}/hub", {"callback": "http://127.0.0.1/x"}, format="json",
                        HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "回环" in response.json()["errors"]["callback"][0]


def test_an_allowed_network_and_a_public_address_are_accepted(world: World, crm, settings) -> None:
    assert crm.post(f"{BASE}/hub", {"callback": "http://203.0.113.7/x"}, format="json").status_code == 400  # TEST-NET
    assert crm.post(f"{BASE}/hub", {"callback": "http://8.8.8.8/x"}, format="json").status_code == 201
    assert crm.post(f"{BASE}/hub", {"callback": "http://10.20.3.4/x"}, format="json").status_code == 400
    settings.LOOPDESK_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert crm.post(f"{BASE}/hub", {"callback": "http://10.20.3.4/x"}, format="json").status_code == 201
    assert crm.post(f"{BASE}/hub", {"callback": "http://10.21.3.4/x"}, format="json").status_code == 400


def test_the_admin_refuses_a_webhook_into_our_own_network_with_a_form_error(world: World, client) -> None:
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    data = {"kind": SubscriptionKind.WEBHOOK, "name": "metadata", "callback": "http://169.254.169.254/x",
            "event_types": [mapping.CREATE_EVENT], "owner": "", "secret": "", "is_active": "on"}
    with translation.override("en"):
        refused = client.post("/admin/tmf/eventsubscription/add/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and not EventSubscription.objects.exists()
    errors = refused.context["adminform"].form.errors
    assert list(errors) == ["callback"] and "link-local" in errors["callback"][0]


def test_a_callback_that_now_resolves_into_our_network_is_given_up_at_delivery(world: World, receiver: Receiver,
                                                                             settings) -> None:
    """Stored before (or its name re-pointed since): the worker does not connect, the event is dead with the
    reason, and the attempt is in the delivery log."""
    sub = EventSubscription.objects.create(name="rebound", callback=receiver.url.replace("127.0.0.1", "localhost"))
    s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    row = OutboxMessage.objects.get(channel=CHANNEL)
    worker.deliver_due()
    row.refresh_from_db()
    assert row.status == OutboxStatus.DEAD and receiver.received == []
    assert "loopback" in row.last_error and "127.0.0.1" in row.last_error
    log = DeliveryLog.objects.get(subscription=sub)
    assert not log.ok and "loopback" in log.error

    settings.LOOPDESK_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # allowed on purpose: delivered
    s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    worker.deliver_due()
    assert len(receiver.received) == 1

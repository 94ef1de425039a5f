"""The TMF hub and webhooks: events written to the outbox in the ticket's transaction, delivered signed to a
real HTTP listener on loopback, every attempt in the delivery log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from loopdesk.conftest import World
from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage, OutboxStatus
from loopdesk.outbox.services import deliverer_for
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket
from loopdesk.tmf import mapping
from loopdesk.tmf.delivery import CHANNEL, DeliveryError, deliver, verify
from loopdesk.tmf.models import DeliveryLog, EventSubscription, SubscriptionKind
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token, ticket_body

# Their listeners are on loopback: allowed here as a deployment allows a network (loopdesk.tmf.callbacks).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback_callbacks")]


def deliver_all() -> list[OutboxMessage]:
    """What the outbox worker does for our channel: every pending row, oldest first, through the deliverer."""
    rows = list(OutboxMessage.objects.filter(channel=CHANNEL, status="pending").order_by("id"))
    for row in rows:
        deliverer_for(CHANNEL)(row)
        OutboxMessage.objects.filter(pk=row.pk).update(status="delivered")
    return rows


def register(client, callback: str, query: str = "") -> dict[str, Any]:
    response = client.post(f"{BASE}/hub", {"callback": callback, "query": query}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_tickets_whole_life_reaches_the_listener_signed_and_in_order(world: World, crm, oss, receiver) -> None:
    hub = register(crm, receiver.url)
    pk = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").json()["id"]
    crm.patch(f"{BASE}/troubleTicket/{pk}", {"status": "inProgress", "statusChangeReason": "派网维"}, format="json")
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=int(pk))
    oss.patch(f"{BASE}/troubleTicket/{pk}", {"status": "pending", "statusChangeReason": "地址？"}, format="json")
    crm.patch(f"{BASE}/troubleTicket/{pk}", {"status": "inProgress", "statusChangeReason": "某小区"}, format="json")
    oss.patch(f"{BASE}/troubleTicket/{pk}", {"status": "resolved", "statusChangeReason": "已调整天线"}, format="json")
    ticket = s.do_answer_customer(acting_user=world.user("agent"), ticket=int(pk), answer="已答复")
    ticket = s.do_callback(acting_user=world.user("agent"), ticket=ticket, verdict="satisfied")
    crm.patch(f"{BASE}/troubleTicket/{pk}", {"status": "closed"}, format="json")

    rows = deliver_all()
    assert len(receiver.received) == len(rows) > 0
    types = [json.loads(r["body"])["eventType"] for r in receiver.received]
    assert types[0] == mapping.CREATE_EVENT
    assert mapping.INFORMATION_REQUIRED_EVENT in types and types.count(mapping.RESOLVED_EVENT) == 1
    statuses = [json.loads(r["body"])["event"]["troubleTicket"]["status"] for r in receiver.received
                if json.loads(r["body"])["eventType"] == mapping.STATUS_CHANGE_EVENT]
    assert statuses == ["inProgress", "pending", "inProgress", "resolved", "closed"]
    event_ids = [r["headers"]["X-LoopDesk-Event-Id"] for r in receiver.received]
    assert len(set(event_ids)) == len(event_ids)
    for request in receiver.received:
        headers = request["headers"]
        assert verify(hub["secret"], headers["X-LoopDesk-Timestamp"], request["body"],
                      headers["X-LoopDesk-Signature-256"])
        body = json.loads(request["body"])
        assert body["eventId"] == headers["X-LoopDesk-Event-Id"]
        assert "13912345678" not in request["body"].decode()  # personal data stays masked
    assert DeliveryLog.objects.filter(ok=True).count() == len(rows)


def test_a_tampered_body_fails_verification(world: World, crm, receiver) -> None:
    hub = register(crm, receiver.url)
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    deliver_all()
    request = receiver.received[0]
    headers = request["headers"]
    tampered = request["body"].replace(b"acknowledged", b"closed")
    assert not verify(hub["secret"], headers["X-LoopDesk-Timestamp"], tampered, headers["X-LoopDesk-Signature-256"])


def test_query_selects_event_types_and_attributes(world: World, crm, receiver) -> None:
    register(crm, receiver.url, query=f"eventType={mapping.STATUS_CHANGE_EVENT}&ticketType=complaint")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world, status="inProgress"), format="json")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world, ticketType="fault", status="inProgress"), format="json")
    topics = list(OutboxMessage.objects.filter(channel=CHANNEL).values_list("topic", flat=True))
    assert topics == [mapping.STATUS_CHANGE_EVENT]


def test_event_bodies_are_in_the_deployments_language_whoever_acted(world: World, crm, receiver, settings) -> None:
    from django.utils import translation

    from loopdesk.tickets.choices import Channel

    register(crm, receiver.url)
    with translation.override("en"):  # an English-speaking agent registers the complaint
        s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    with translation.override("zh-hans"):
        s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
        expected = str(Channel(Channel.HOTLINE).label)
    assert settings.LANGUAGE_CODE == "zh-hans" and not expected.isascii()
    names = [row.payload["event"]["troubleTicket"]["channel"]["name"]
             for row in OutboxMessage.objects.filter(channel=CHANNEL).order_by("id")]
    assert names == [expected, expected]


def test_listener_only_hears_about_tickets_in_its_tokens_scope(world: World, crm, receiver) -> None:
    zhuhai = client_for(issue_token(world.users["zh_agent"]))
    register(zhuhai, receiver.url)
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    assert not OutboxMessage.objects.filter(channel=CHANNEL).exists()


def test_a_listener_whose_scope_user_was_cleared_still_hears_only_its_tokens_scope(world: World, crm,
                                                                                     receiver) -> None:
    """An administrator who cleared a hub listener's scope user (the admin showed it editable) let it hear every
    region's work orders, past its token's units; now the token's user limits it, and the admin shows it read-only."""
    from loopdesk.conftest import staff_client

    zhuhai = client_for(issue_token(world.users["zh_agent"]))
    hub = register(zhuhai, receiver.url)
    EventSubscription.objects.filter(pk=hub["id"]).update(owner=None)
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    assert not OutboxMessage.objects.filter(channel=CHANNEL).exists()
    page = staff_client(world, "admin", superuser=True).get(
        f"/admin/tmf/eventsubscription/{hub['id']}/change/").content.decode()
    assert 'name="kind"' not in page and 'name="owner"' not in page and 'name="callback"' in page


def test_events_are_written_in_the_tickets_transaction(world: World, crm, receiver) -> None:
    register(crm, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
        assert OutboxMessage.objects.filter(channel=CHANNEL).count() == 1
        raise RuntimeError("rolled back")
    assert not OutboxMessage.objects.filter(channel=CHANNEL).exists()


def test_unregister_stops_events_and_only_the_owner_may_unregister(world: World, crm, receiver) -> None:
    hub = register(crm, receiver.url)
    other = client_for(issue_token(world.users["agent2"]))
    assert other.delete(f"{BASE}/hub/{hub['id']}").status_code == 404
    assert crm.delete(f"{BASE}/hub/{hub['id']}").status_code == 204
    assert crm.delete(f"{BASE}/hub/{hub['id']}").status_code == 404
    assert crm.delete(f"{BASE}/hub/99999").json()["code"] == "not_found"
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    assert not OutboxMessage.objects.filter(channel=CHANNEL).exists()


def test_a_registration_repeated_by_the_same_integration_is_a_409_naming_the_listener(world: World, crm,
                                                                                     receiver) -> None:
    """A retry after a lost answer added a second listener: every event twice, and one the integration could not
    unregister (it never learnt its id)."""
    hub = register(crm, receiver.url, "eventType=TroubleTicketCreateEvent,TroubleTicketResolvedEvent&severity=major")
    again = crm.post(f"{BASE}/hub", {"callback": receiver.url, "query":
                                     "severity=Major&eventType=TroubleTicketResolvedEvent,TroubleTicketCreateEvent"},
                     format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 409, again.content
    body = again.json()
    assert body["code"] == "conflict" and body["existingId"] == hub["id"]
    assert body["existingHref"] == f"{BASE}/hub/{hub['id']}" and "secret" not in body
    assert EventSubscription.objects.filter(is_active=True).count() == 1
    # Another query, another token or a listener unregistered meanwhile: a new listener.
    assert crm.post(f"{BASE}/hub", {"callback": receiver.url}, format="json").status_code == 201
    oss = client_for(issue_token(world.users["specialist"], system="OSS"))
    assert oss.post(f"{BASE}/hub", {"callback": receiver.url, "query": "eventType=TroubleTicketCreateEvent,"
                                    "TroubleTicketResolvedEvent&severity=major"}, format="json").status_code == 201
    assert crm.delete(body["existingHref"]).status_code == 204
    register(crm, receiver.url, "eventType=TroubleTicketCreateEvent,TroubleTicketResolvedEvent&severity=major")


@pytest.mark.parametrize("body", [{}, {"callback": "not a url"}, {"callback": "ftp://127.0.0.1/x"},
                                  {"callback": "http://127.0.0.1/x", "query": "eventType=Nonsense"},
                                  {"callback": "http://127.0.0.1/x", "query": "colour=red"},
                                  {"callback": "http://127.0.0.1/x", "extra": 1}])
def test_bad_hub_registrations_are_400(world: World, crm, body) -> None:
    response = crm.post(f"{BASE}/hub", body, format="json")
    assert response.status_code == 400 and {"code", "reason", "status"} <= set(response.json())
    assert not EventSubscription.objects.exists()


def test_failed_delivery_raises_and_is_logged_without_blocking_ticket_work(world: World, crm, receiver) -> None:
    register(crm, receiver.url)
    receiver.answer = 500
    response = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    assert response.status_code == 201
    row = OutboxMessage.objects.get(channel=CHANNEL)
    with pytest.raises(DeliveryError):
        deliver(row)
    log = DeliveryLog.objects.get()
    assert (log.ok, log.status_code, log.event_id) == (False, 500, row.payload["eventId"])
    receiver.answer = 204
    deliver(row)  # the retry carries the same event id
    assert [r["headers"]["X-LoopDesk-Event-Id"] for r in receiver.received] == [row.payload["eventId"]] * 2


def test_a_dead_subscriber_is_a_logged_failure(world: World, crm) -> None:
    register(crm, "http://127.0.0.1:9/nobody-listens")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    with pytest.raises(DeliveryError):
        deliver(OutboxMessage.objects.get(channel=CHANNEL))
    assert DeliveryLog.objects.get().error


def test_the_delivery_log_list_says_why_an_attempt_failed(world: World, crm, client) -> None:
    """docs/tmf621.md: the log shows time, event, URL, HTTP status, error, duration. The list had no error: a refused
    connection was a row with no status and no reason until opened."""
    register(crm, "http://127.0.0.1:9/nobody-listens")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    with pytest.raises(DeliveryError):
        deliver(OutboxMessage.objects.get(channel=CHANNEL))
    error = DeliveryLog.objects.get().error
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get("/admin/tmf/deliverylog/").content.decode()
    assert "Connection refused" in error and "Connection refused" in page


def test_admin_webhook_gets_every_event_and_the_log_is_visible_to_admins(world: World, receiver, client) -> None:
    EventSubscription.objects.create(kind=SubscriptionKind.WEBHOOK, name="HQ", callback=receiver.url)
    t = s.do_create_ticket(acting_user=world.user("agent"), dispatch=True, **world.ticket_kwargs())
    deliver_all()
    types = [json.loads(r["body"])["eventType"] for r in receiver.received]
    assert types == [mapping.CREATE_EVENT, mapping.STATUS_CHANGE_EVENT]
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get("/admin/tmf/deliverylog/")
    assert page.status_code == 200 and f"{t.pk}-1-{mapping.CREATE_EVENT}" in page.content.decode()


def test_the_delivery_log_filters_by_subscription(world: World, receiver, client) -> None:
    """Two subscribers at the same receiver: one's attempts are found by its subscription, not only by URL."""
    hq = EventSubscription.objects.create(kind=SubscriptionKind.WEBHOOK, name="HQ", callback=receiver.url)
    EventSubscription.objects.create(kind=SubscriptionKind.WEBHOOK, name="CRM", callback=receiver.url)
    s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    deliver_all()
    assert DeliveryLog.objects.count() == 2
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get(f"/admin/tmf/deliverylog/?subscription__id__exact={hq.pk}")
    assert page.status_code == 200
    changelist = page.context["cl"]
    assert [log.subscription_id for log in changelist.result_list] == [hq.pk]
    offered = [spec for spec in changelist.filter_specs if spec.field_path == "subscription"]
    assert offered and f"?subscription__id__exact={hq.pk}" in page.content.decode()  # in the sidebar, to pick


def test_withdrawal_sends_status_change_and_delete_events(world: World, crm, receiver) -> None:
    register(crm, receiver.url)
    pk = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").json()["id"]
    crm.delete(f"{BASE}/troubleTicket/{pk}")
    topics = list(OutboxMessage.objects.filter(channel=CHANNEL).order_by("id").values_list("topic", flat=True))
    assert topics == [mapping.CREATE_EVENT, mapping.STATUS_CHANGE_EVENT, mapping.DELETE_EVENT]


def test_the_outbox_worker_delivers_with_back_off_after_a_failure(world: World, crm, receiver) -> None:
    """The generic worker (loopdesk.outbox.worker) picks our rows and calls our deliverer; a 500 is retried later."""
    from django.utils import timezone

    from loopdesk.outbox.worker import deliver_due

    register(crm, receiver.url)
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    receiver.answer = 503
    deliver_due()
    row = OutboxMessage.objects.get(channel=CHANNEL)
    assert row.status == "failed" and row.not_before > timezone.now() and row.attempts == 1
    receiver.answer = 200
    OutboxMessage.objects.filter(pk=row.pk).update(not_before=timezone.now())  # the back-off has passed
    deliver_due()
    row.refresh_from_db()
    assert row.status == "delivered"
    ids = {r["headers"]["X-LoopDesk-Event-Id"] for r in receiver.received}
    assert ids == {row.payload["eventId"]} and len(receiver.received) == 2
    assert list(DeliveryLog.objects.order_by("id").values_list("ok", flat=True)) == [False, True]


# --- event shapes: attribute changes, the v4 envelope, the signature --------------------------------------

SWAGGER = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "TMF621-TroubleTicket-v4.0.0.swagger.json"


@pytest.fixture(scope="module")
def swagger_definitions() -> dict[str, Any]:
    return json.loads(SWAGGER.read_text())["definitions"]


def _rows_after(first_id: int) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(channel=CHANNEL, id__gt=first_id).order_by("id"))


def _last_row_id() -> int:
    return OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_patched_note_is_one_attribute_value_change_on_note(world: World, crm, receiver) -> None:
    register(crm, receiver.url)
    pk = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").json()["id"]
    mark = _last_row_id()
    response = crm.patch(f"{BASE}/troubleTicket/{pk}", {"note": [{"text": "客户来电催办"}]}, format="json")
    assert response.status_code == 200, response.content
    rows = _rows_after(mark)
    assert [(r.topic, r.payload.get("fieldPath")) for r in rows] == [(mapping.ATTRIBUTE_CHANGE_EVENT, "note")]
    ticket = rows[0].payload["event"]["troubleTicket"]
    assert [n["text"] for n in ticket["note"]] == ["客户来电催办"]


@pytest.mark.parametrize("action", ["accept", "transfer"])
def test_accept_and_transfer_are_attribute_value_changes_on_related_party(world: World, crm, receiver,
                                                                          action: str) -> None:
    """Dispatched and in progress are both inProgress: no status change event, the handler (relatedParty) moved."""
    register(crm, receiver.url)
    pk = int(crm.post(f"{BASE}/troubleTicket", ticket_body(world, status="inProgress"), format="json").json()["id"])
    mark = _last_row_id()
    if action == "accept":
        s.do_accept_ticket(acting_user=world.user("specialist"), ticket=pk)
    else:
        s.do_transfer_ticket(acting_user=world.user("specialist"), ticket=pk, to_unit=world.units["netopt"],
                             note="属网优")
    rows = _rows_after(mark)
    assert [(r.topic, r.payload.get("fieldPath")) for r in rows] == [
        (mapping.ATTRIBUTE_CHANGE_EVENT, "relatedParty")]
    ticket = rows[0].payload["event"]["troubleTicket"]
    assert ticket["status"] == "inProgress"
    handlers = {p["name"] for p in ticket["relatedParty"] if p["role"] == mapping.HANDLER_ROLE}
    expected = {"specialist", world.units["netmaint"].name} if action == "accept" else {world.units["netopt"].name}
    assert handlers == expected


def test_answering_the_customer_is_an_attribute_change_on_characteristic_not_related_party(
        world: World, crm, oss, receiver) -> None:
    """Replied and answered are both resolved: the handlers stay, the workflow status moves (was fieldPath
    relatedParty, so a listener following handler changes was told the handler changed)."""
    register(crm, receiver.url)
    pk = int(crm.post(f"{BASE}/troubleTicket", ticket_body(world, status="inProgress"), format="json").json()["id"])
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=pk)
    assert oss.patch(f"{BASE}/troubleTicket/{pk}", {"status": "resolved", "statusChangeReason": "已调整天线"},
                     format="json").status_code == 200
    mark = _last_row_id()
    answered = crm.patch(f"{BASE}/troubleTicket/{pk}", {"status": "resolved", "statusChangeReason": "已告知客户"},
                         format="json")
    assert answered.status_code == 200, answered.content
    rows = _rows_after(mark)
    assert [(r.topic, r.payload.get("fieldPath")) for r in rows] == [(mapping.ATTRIBUTE_CHANGE_EVENT, "characteristic")]
    ticket = rows[0].payload["event"]["troubleTicket"]
    assert {c["name"]: c["value"] for c in ticket["characteristic"]}["workflowStatus"] == "answered"


def test_every_envelope_has_only_the_v4_swagger_attributes_of_its_event_type(
        world: World, crm, oss, receiver, swagger_definitions) -> None:
    register(crm, receiver.url)
    pk = crm.post(f"{BASE}/troubleTicket", ticket_body(world, status="inProgress"), format="json").json()["id"]
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=int(pk))
    crm.patch(f"{BASE}/troubleTicket/{pk}", {"note": [{"text": "补充"}]}, format="json")
    oss.patch(f"{BASE}/troubleTicket/{pk}", {"status": "pending", "statusChangeReason": "地址？"}, format="json")
    crm.patch(f"{BASE}/troubleTicket/{pk}", {"status": "inProgress", "statusChangeReason": "某小区"}, format="json")
    oss.patch(f"{BASE}/troubleTicket/{pk}", {"status": "resolved", "statusChangeReason": "已调整天线"}, format="json")
    other = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").json()["id"]
    crm.delete(f"{BASE}/troubleTicket/{other}")

    rows = deliver_all()
    assert {r.topic for r in rows} == set(mapping.EVENT_TYPES)  # every event type is checked below
    ticket_attributes = set(swagger_definitions["TroubleTicket"]["properties"]) | {"characteristic"}  # v5 extension
    for request in receiver.received:
        body = json.loads(request["body"])
        definition = swagger_definitions[body["eventType"]]
        assert set(body) <= set(definition["properties"]), (body["eventType"], set(body) - set(
            definition["properties"]))
        assert {"eventId", "eventTime", "eventType", "timeOcurred", "domain", "title", "event"} <= set(body)
        payload = definition["properties"]["event"]["$ref"].rsplit("/", 1)[-1]
        assert set(body["event"]) == set(swagger_definitions[payload]["properties"]) == {"troubleTicket"}
        assert set(body["event"]["troubleTicket"]) <= ticket_attributes
        assert ("fieldPath" in body) == (body["eventType"] == mapping.ATTRIBUTE_CHANGE_EVENT)
        for name in ("eventTime", "timeOcurred"):
            assert dt.datetime.fromisoformat(body[name]).tzinfo is not None


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body(world: World, crm, receiver) -> None:
    """Recomputed here with hmac.new, as a receiver would, not with the module's own verify()."""
    hub = register(crm, receiver.url)
    crm.post(f"{BASE}/troubleTicket", ticket_body(world, status="inProgress"), format="json")
    deliver_all()
    assert len(receiver.received) == 2
    for request in receiver.received:
        headers, raw = request["headers"], request["body"]
        timestamp = headers["X-LoopDesk-Timestamp"]
        assert timestamp.isdigit() and abs(int(timestamp) - time.time()) < 60
        expected = hmac.new(hub["secret"].encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
        assert headers["X-LoopDesk-Signature-256"] == f"sha256={expected}"
        wrong_key = hmac.new(b"not-the-secret", f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
        assert headers["X-LoopDesk-Signature-256"] != f"sha256={wrong_key}"
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(raw)["eventId"] == headers["X-LoopDesk-Event-Id"]


# --- the admin's webhook form -------------------------------------------------------------------------------


def _admin_client(world: World, client):
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    return client


def test_the_verification_recipe_in_the_docs_runs_and_accepts_only_genuine_fresh_events(world: World, crm,
                                                                                        receiver) -> None:
    """docs/tmf621.md gives receivers a recipe: it must run as written and accept what we send, nothing else."""
    import re
    import textwrap

    docs = (Path(__file__).resolve().parents[3] / "docs" / "tmf621.md").read_text()
    found = re.search(r"```python\n(.*?)```", docs[docs.index("X-LoopDesk-Signature-256"):], re.S)
    assert found, "no Python recipe after the signature header in docs/tmf621.md"
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(found.group(1)), namespace)  # our own documentation
    verified = namespace["verified"]
    hub = register(crm, receiver.url)
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    deliver_all()
    request = receiver.received[0]
    from django.utils.datastructures import CaseInsensitiveMapping

    headers = CaseInsensitiveMapping(dict(request["headers"].items()))  # as a web framework gives them
    assert verified(hub["secret"], headers, request["body"])
    assert not verified(hub["secret"], headers, request["body"].replace(b"acknowledged", b"closed"))
    assert not verified("another secret", headers, request["body"])
    old = str(int(headers["X-LoopDesk-Timestamp"]) - 3600)
    from loopdesk.tmf.delivery import sign
    replayed = CaseInsensitiveMapping({"x-loopdesk-timestamp": old,  # a genuine signature, an hour old
                                       "x-loopdesk-signature-256": sign(hub["secret"], old, request["body"])})
    assert verified(hub["secret"], replayed, request["body"], max_age=7200)
    assert not verified(hub["secret"], replayed, request["body"])


def test_admin_webhook_form_saves_event_types_and_makes_a_secret(world: World, client, receiver) -> None:
    client = _admin_client(world, client)
    form = client.get("/admin/tmf/eventsubscription/add/")
    assert form.status_code == 200 and mapping.RESOLVED_EVENT in form.content.decode()
    response = client.post("/admin/tmf/eventsubscription/add/", {
        "kind": SubscriptionKind.WEBHOOK, "name": "集团总部", "callback": receiver.url,
        "event_types": [mapping.CREATE_EVENT, mapping.RESOLVED_EVENT], "owner": "", "secret": "", "is_active": "on",
    })
    assert response.status_code == 302, response.content.decode()[-2000:]
    sub = EventSubscription.objects.get()
    assert (sub.kind, sub.name, sub.callback) == (SubscriptionKind.WEBHOOK, "集团总部", receiver.url)
    assert sub.event_types == [mapping.CREATE_EVENT, mapping.RESOLVED_EVENT]
    assert len(sub.secret) >= 32 and sub.owner is None and sub.is_active
    # The saved types select the events: a dispatch (status change) is not sent, the creation is.
    s.do_create_ticket(acting_user=world.user("agent"), dispatch=True, **world.ticket_kwargs())
    assert list(OutboxMessage.objects.filter(channel=CHANNEL).values_list("topic", flat=True)) == [
        mapping.CREATE_EVENT]
    deliver_all()
    request = receiver.received[0]
    expected = hmac.new(sub.secret.encode(), request["headers"]["X-LoopDesk-Timestamp"].encode() + b"."
                        + request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-LoopDesk-Signature-256"] == f"sha256={expected}"


def test_admin_webhook_form_keeps_a_given_secret_and_refuses_a_non_http_callback(world: World, client) -> None:
    client = _admin_client(world, client)
    data = {"kind": SubscriptionKind.WEBHOOK, "name": "BSS", "callback": "ftp://bss.example/events",
            "event_types": [mapping.DELETE_EVENT], "owner": "", "secret": "我们约定的密钥-0123456789",
            "is_active": "on"}
    refused = client.post("/admin/tmf/eventsubscription/add/", data)
    assert refused.status_code == 200 and not EventSubscription.objects.exists()
    assert "callback" in refused.context["adminform"].form.errors
    data["callback"] = "https://bss.example/events"
    assert client.post("/admin/tmf/eventsubscription/add/", data).status_code == 302
    sub = EventSubscription.objects.get()
    assert sub.secret == "我们约定的密钥-0123456789" and sub.event_types == [mapping.DELETE_EVENT]


@pytest.mark.parametrize("query", [
    "status=sleeping", "severity=Apocalyptic", "ticketType=party", "channel.id=pigeon",
    "event.troubleTicket.status=sleeping", "ticketType=complaint=fault", "eventType=TroubleTicketCreateEvent&&x",
    "=complaint",
])
def test_a_hub_query_with_a_value_the_attribute_never_has_is_400_naming_query(world: World, crm, query) -> None:
    """Stored as given, such a filter would silently never match: the listener would hear nothing."""
    response = crm.post(f"{BASE}/hub", {"callback": "http://127.0.0.1/x", "query": query}, format="json")
    assert response.status_code == 400, response.content
    assert "query" in response.json()["errors"]
    assert not EventSubscription.objects.exists()


def test_a_hub_query_matches_whatever_case_and_alias_the_api_accepts(world: World, crm, receiver) -> None:
    """severity=major and ticketType=incident are what POST accepts for Major and fault: they filter the same."""
    register(crm, receiver.url, query=f"eventType={mapping.CREATE_EVENT}&severity=major&ticketType=incident"
                                      "&event.troubleTicket.status=acknowledged&channel.id=hotline")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world, ticketType="fault"), format="json")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world, ticketType="fault", severity="Minor"), format="json")
    assert OutboxMessage.objects.filter(channel=CHANNEL).count() == 1


def test_a_hub_query_attribute_given_twice_matches_either_value_as_get_does(world: World, crm, receiver) -> None:
    """`ticketType=complaint&ticketType=fault` is an OR, as the comma and as GET /troubleTicket read it (and as
    eventType given twice is): the first value was silently dropped, the listener heard only about faults."""
    register(crm, receiver.url, query=f"eventType={mapping.CREATE_EVENT}&ticketType=complaint&ticketType=fault")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world, ticketType="fault"), format="json")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world, ticketType="suggestion"), format="json")
    types = [row.payload["event"]["troubleTicket"]["ticketType"]
             for row in OutboxMessage.objects.filter(channel=CHANNEL).order_by("id")]
    assert types == ["complaint", "fault"]


def test_a_recomputed_due_date_is_an_attribute_value_change_on_characteristic(world: World, crm, receiver) -> None:
    """A calendar or policy edit recomputes open tickets' SLA (dueDate, isOvertime ... in `characteristic`): a
    listener mirroring the ticket heard nothing and kept the old due date until the ticket's next event."""
    register(crm, receiver.url)
    pk = int(crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").json()["id"])
    Ticket.objects.filter(pk=pk).update(due_at=Ticket.objects.get(pk=pk).due_at + dt.timedelta(days=3))  # stale
    mark = _last_row_id()
    ticket = s.do_recompute_sla(ticket=pk)
    rows = _rows_after(mark)
    assert [(r.topic, r.payload.get("fieldPath")) for r in rows] == [(mapping.ATTRIBUTE_CHANGE_EVENT, "characteristic")]
    due = {c["name"]: c["value"] for c in rows[0].payload["event"]["troubleTicket"]["characteristic"]}["dueDate"]
    assert dt.datetime.fromisoformat(due) == ticket.due_at


def test_the_event_id_carries_the_tickets_timeline_sequence_as_documented(world: World, crm, receiver) -> None:
    """docs/tmf621.md: eventId is <ticket id>-<timeline sequence>-<eventType>; a receiver orders on the sequence."""
    register(crm, receiver.url)
    pk = crm.post(f"{BASE}/troubleTicket", ticket_body(world, status="inProgress"), format="json").json()["id"]
    crm.patch(f"{BASE}/troubleTicket/{pk}", {"note": [{"text": "跟进"}]}, format="json")
    crm.patch(f"{BASE}/troubleTicket/{pk}", {"status": "cancelled", "statusChangeReason": "客户撤销"}, format="json")
    deliver_all()
    seen = []
    for request in receiver.received:
        body = json.loads(request["body"])
        ticket_id, seq, event_type = body["eventId"].split("-")
        assert (ticket_id, event_type) == (pk, body["eventType"])
        seen.append((int(seq), event_type))
    timeline = dict(Ticket.objects.get(pk=pk).events.values_list("seq", "kind"))
    assert [(timeline[seq], t) for seq, t in seen] == [
        ("create", mapping.CREATE_EVENT), ("dispatch", mapping.STATUS_CHANGE_EVENT),
        ("note", mapping.ATTRIBUTE_CHANGE_EVENT), ("withdraw", mapping.STATUS_CHANGE_EVENT),
        ("withdraw", mapping.DELETE_EVENT)]
    assert [seq for seq, _t in seen] == sorted(seq for seq, _t in seen)


@pytest.mark.parametrize("revoke", ["deactivate", "expire", "delete", "disable user"])
def test_a_listener_stops_hearing_when_its_token_is_revoked(world: World, receiver, revoke) -> None:
    """A hub listener acts with the token that registered it: revoked, expired or deleted (its unit limits gone
    with it), the listener hears nothing more, also of events queued before."""
    from django.utils import timezone

    from loopdesk.tmf.models import ApiToken

    limited = client_for(issue_token(world.users["agent"], system="HQ", units=[world.units["jm"]]))
    crm = client_for(issue_token(world.users["agent"]))
    register(limited, receiver.url)
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    queued = OutboxMessage.objects.filter(channel=CHANNEL).count()
    assert queued == 1
    token = ApiToken.objects.get(system="HQ")
    if revoke == "deactivate":
        ApiToken.objects.filter(pk=token.pk).update(is_active=False)
    elif revoke == "expire":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    elif revoke == "delete":
        token.delete()
    else:
        type(world.users["agent"]).objects.filter(pk=world.users["agent"].pk).update(is_active=False)
        crm = client_for(issue_token(world.users["admin"]))
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    assert OutboxMessage.objects.filter(channel=CHANNEL).count() == queued
    worker.deliver_due()  # the real worker: what it records matters here
    assert receiver.received == []
    # Given up, with the reason, not "delivered" to nobody.
    dropped = OutboxMessage.objects.get(channel=CHANNEL)
    assert dropped.status == OutboxStatus.DEAD and dropped.delivered_at is None
    assert "not deliverable" in dropped.last_error and "listener" in dropped.last_error


def test_a_listener_follows_its_token_to_another_service_user(world: World, receiver) -> None:
    """An administrator points a token at another service user (another region): its listener hears what the token
    now sees, not the former user's tickets, and the integration may still unregister it (was: events of the former
    user's region kept coming, and DELETE /hub/{id} with the same token was a 403)."""
    from loopdesk.tmf.models import ApiToken

    moved = client_for(issue_token(world.users["agent"], system="HQ"))
    crm = client_for(issue_token(world.users["agent"]))
    hub = register(moved, receiver.url)
    token = ApiToken.objects.get(system="HQ")
    token.user = world.users["zh_agent"]
    token.save()
    assert crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").status_code == 201
    assert not OutboxMessage.objects.filter(channel=CHANNEL).exists()  # a Jiangmen ticket: no longer its scope
    assert moved.delete(f"{BASE}/hub/{hub['id']}").status_code == 204


def test_only_the_registering_integration_may_unregister_even_with_the_same_service_user(world: World,
                                                                                          receiver) -> None:
    """Two integrations acting as one service user: one must not remove the other's listener."""
    first = client_for(issue_token(world.users["agent"], system="CRM"))
    second = client_for(issue_token(world.users["agent"], system="BSS"))
    hub = register(first, receiver.url)
    response = second.delete(f"{BASE}/hub/{hub['id']}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert EventSubscription.objects.get(pk=hub["id"]).is_active
    assert first.delete(f"{BASE}/hub/{hub['id']}").status_code == 204


def test_another_integrations_listener_is_answered_as_an_unknown_id(world: World, receiver) -> None:
    """DELETE /hub/{id} of another integration's listener was a 403 and of an unknown id a 404: any token could
    learn which listener ids exist. Now both are the same 404 (in the caller's language), and nothing is removed."""
    first = client_for(issue_token(world.users["agent"], system="CRM"))
    second = client_for(issue_token(world.users["zh_agent"], system="BSS"))
    hub = register(first, receiver.url)
    unknown = int(hub["id"]) + 1000
    for language in ("en", "zh-hans"):
        theirs = second.delete(f"{BASE}/hub/{hub['id']}", HTTP_ACCEPT_LANGUAGE=language)
        missing = second.delete(f"{BASE}/hub/{unknown}", HTTP_ACCEPT_LANGUAGE=language)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == {k: str(v).replace(str(unknown), str(hub["id"])) for k, v in missing.json().items()}
    assert EventSubscription.objects.get(pk=hub["id"]).is_active


def test_a_listener_is_unregistered_with_the_credential_that_registered_it(world: World, receiver) -> None:
    """A listener registered in a signed-in session could be removed by any token of that user (another
    integration), and one registered by a token by the user's session; an administrator may remove any."""
    from rest_framework.test import APIClient

    session = APIClient()
    session.force_login(world.users["agent"])
    token = client_for(issue_token(world.users["agent"], system="CRM"))
    by_session, by_token = register(session, receiver.url), register(token, receiver.url)
    assert token.delete(f"{BASE}/hub/{by_session['id']}").status_code == 404
    assert session.delete(f"{BASE}/hub/{by_token['id']}").status_code == 404
    assert EventSubscription.objects.filter(is_active=True).count() == 2
    assert session.delete(f"{BASE}/hub/{by_session['id']}").status_code == 204
    from django.contrib.auth.models import Permission

    world.users["admin"].user_permissions.add(Permission.objects.get(codename="change_eventsubscription"))
    admin = APIClient()
    admin.force_login(world.users["admin"])
    assert admin.delete(f"{BASE}/hub/{by_token['id']}").status_code == 204
    assert not EventSubscription.objects.filter(is_active=True).exists()


def test_each_listener_gets_the_external_id_of_its_own_system(world: World, receiver) -> None:
    """As GET shows it to that system: a CRM listener must not correlate an event by the OSS id."""
    from loopdesk.tickets.models import ExternalRef

    crm = client_for(issue_token(world.users["agent"], system="CRM"))
    oss = client_for(issue_token(world.users["agent"], system="OSS"))
    pk = oss.post(f"{BASE}/troubleTicket", ticket_body(world, externalId="OSS-9"), format="json").json()["id"]
    ExternalRef.objects.create(ticket_id=pk, system="CRM", external_id="CRM-77")
    crm_hub = register(crm, receiver.url)
    oss_hub = register(oss, receiver.url)
    crm.patch(f"{BASE}/troubleTicket/{pk}", {"note": [{"text": "跟进"}]}, format="json")
    by_sub = {row.target: row.payload["event"]["troubleTicket"]["externalId"]
              for row in OutboxMessage.objects.filter(channel=CHANNEL)}
    assert by_sub == {crm_hub["id"]: "CRM-77", oss_hub["id"]: "OSS-9"}
    assert crm.get(f"{BASE}/troubleTicket/{pk}").json()["externalId"] == "CRM-77"


def test_a_redirect_is_a_failed_delivery_not_followed(world: World, crm) -> None:
    """urllib follows a 302 answer to a POST with a GET without the body: the event was lost yet counted as
    delivered (and the callback could send LoopDesk anywhere)."""
    seen: list[str] = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append("POST")
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        def do_GET(self) -> None:
            seen.append("GET")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        register(crm, f"http://127.0.0.1:{server.server_port}/listener")
        crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
        with pytest.raises(DeliveryError):
            deliver(OutboxMessage.objects.get(channel=CHANNEL))
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["POST"]
    log = DeliveryLog.objects.get()
    assert (log.ok, log.status_code) == (False, 302)


def test_a_listener_registered_by_a_signed_in_user_without_a_token_still_hears(world: World, receiver) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.users["agent"])
    register(client, receiver.url)
    s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    assert OutboxMessage.objects.filter(channel=CHANNEL).count() == 1


def test_a_signed_in_user_with_a_long_user_name_may_register_a_listener(world: World, receiver) -> None:
    """The listener is named after the user (user names up to 150 characters, the name column 100): PostgreSQL
    refused the row, a 500."""
    from rest_framework.test import APIClient

    user = world.users["agent"]
    user.username, user.display_name = "crm-" + "x" * 140, ""
    user.save()
    client = APIClient()
    client.force_authenticate(user)
    register(client, receiver.url)
    assert EventSubscription.objects.get().name == user.username[:100]


def test_the_migration_stores_older_listeners_query_values_as_events_show_them(world: World, crm) -> None:
    """Listeners registered before the hub checked its query kept "severity=major" and "ticketType=incident",
    which never matched an event; the data migration makes them match."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("loopdesk.tmf.migrations.0002_canonical_hub_filters")
    old = EventSubscription.objects.create(
        kind=SubscriptionKind.WEBHOOK, name="old", callback="http://127.0.0.1:9/listener",
        filters={"severity": ["major", " CRITICAL "], "ticketType": ["incident"], "status": ["acknowledged"]})
    odd = EventSubscription.objects.create(kind=SubscriptionKind.WEBHOOK, name="odd", callback="http://127.0.0.1:9/x",
                                           filters={"channel.id": ["nowhere"], "severity": ["huge"]})
    plain = EventSubscription.objects.create(kind=SubscriptionKind.WEBHOOK, name="plain",
                                             callback="http://127.0.0.1:9/other")
    migration.forwards(apps, None)
    for sub in (old, odd, plain):
        sub.refresh_from_db()
    assert old.filters == {"severity": ["Major", "Critical"], "ticketType": ["fault"], "status": ["acknowledged"]}
    assert odd.filters == {"channel.id": ["nowhere"], "severity": ["huge"]}  # can never match: left for its owner
    assert plain.filters == {}
    # Now the listener hears about a major fault as a listener registered today does.
    s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(contact_type="fault", priority="high"))
    assert OutboxMessage.objects.filter(channel=CHANNEL, target=str(old.pk)).exists()


def test_a_read_only_token_may_listen_to_what_it_may_read_and_unregister(world: World, crm, receiver) -> None:
    """Subscribing is reading: a read-only token registers a listener (it was 403), hears about the tickets it may
    read only, and may unregister it; it still cannot write tickets."""
    reader = client_for(issue_token(world.users["agent"], write=False, system="BI"))
    zhuhai_reader = client_for(issue_token(world.users["zh_agent"], write=False, system="ZH-BI"))
    hub = register(reader, receiver.url)
    register(zhuhai_reader, receiver.url + "/zh")
    assert reader.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").status_code == 403
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    assert [int(t) for t in OutboxMessage.objects.filter(channel=CHANNEL).values_list("target", flat=True)] == [
        int(hub["id"])]  # the Jiangmen ticket: not for the Zhuhai reader
    assert reader.delete(f"{BASE}/hub/{hub['id']}").status_code == 204
    assert not EventSubscription.objects.get(pk=hub["id"]).is_active


def test_linking_two_tickets_tells_the_listeners_of_both(world: World, crm, receiver) -> None:
    """The relationship shows on both tickets (isParent / isChild): each one's listeners hear an attribute change
    of troubleTicketRelationship, each event with that ticket's new relationships."""
    parent = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").json()["id"]
    child = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").json()["id"]
    register(crm, receiver.url, "eventType=TroubleTicketAttributeValueChangeEvent")
    response = crm.patch(f"{BASE}/troubleTicket/{parent}", {"troubleTicketRelationship": [
        {"id": child, "relationshipType": "isParent"}]}, format="json")
    assert response.status_code == 200, response.content
    deliver_all()
    bodies = {json.loads(r["body"])["event"]["troubleTicket"]["id"]: json.loads(r["body"]) for r in receiver.received}
    assert set(bodies) == {parent, child}
    assert all(b["fieldPath"] == "troubleTicketRelationship" for b in bodies.values())
    assert (parent, "isChild") in [(r["id"], r["relationshipType"]) for r in bodies[child]["event"]["troubleTicket"][
        "troubleTicketRelationship"]]


def test_a_hub_query_written_by_a_url_encoder_is_read_as_the_same_query(world: World, crm, receiver) -> None:
    """The query has the syntax of a URL's query string: a client that builds it with its URL encoder (a comma as
    %2C, a space as %20, a leading ?) was refused with 400 'unknown event type(s): A%2CB'."""
    from urllib.parse import urlencode

    encoded = "?" + urlencode({"eventType": f"{mapping.CREATE_EVENT},{mapping.DELETE_EVENT}",
                               "event.troubleTicket.ticketType": "complaint"})
    assert "%2C" in encoded
    hub = register(crm, receiver.url, query=encoded)
    sub = EventSubscription.objects.get(pk=hub["id"])
    assert sub.event_types == [mapping.CREATE_EVENT, mapping.DELETE_EVENT]
    assert sub.filters == {"ticketType": ["complaint"]}
    assert hub["query"] == encoded
    crm.post(f"{BASE}/troubleTicket", ticket_body(world, ticketType="fault"), format="json")
    crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json")
    assert list(OutboxMessage.objects.filter(channel=CHANNEL).values_list("topic", flat=True)) == [
        mapping.CREATE_EVENT]
    spaced = register(crm, receiver.url + "2", query="eventType=TroubleTicketCreateEvent%20")
    assert EventSubscription.objects.get(pk=spaced["id"]).event_types == [mapping.CREATE_EVENT]


@pytest.mark.parametrize("callback", ["https:///x", "not a url", "ftp://example.com/x"])
def test_a_bad_callback_is_named_once(world: World, crm, callback: str) -> None:
    """The URL field and the http(s) validator both refused such a callback: the same message twice in `errors`
    ("Enter a valid URL. Enter a valid URL.")."""
    response = crm.post(f"{BASE}/hub", {"callback": callback}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    messages = response.json()["errors"]["callback"]
    assert len(messages) == len(set(messages)) == 1, messages
    assert response.json()["message"] == f"callback: {messages[0]}"


def test_an_event_names_only_the_linked_work_orders_its_listener_may_see(world: World, oss, receiver) -> None:
    """The network system's listener heard of a link from its work order to the IT centre's, with the other's number
    and id, which its GET does not show (docs/access.md): the events carry the relationships its scope allows."""
    register(oss, receiver.url)
    agent = world.user("agent")
    mine = s.do_create_ticket(acting_user=agent, dispatch=True, dispatch_to=world.units["netmaint"],
                              **world.ticket_kwargs())
    other = s.do_create_ticket(acting_user=agent, dispatch=True, dispatch_to=world.units["it"],
                               **world.ticket_kwargs())
    OutboxMessage.objects.filter(channel=CHANNEL).delete()
    s.do_link_tickets(acting_user=agent, ticket=mine, other=other, kind="related")
    bodies = [json.dumps(row.payload, ensure_ascii=False)
              for row in OutboxMessage.objects.filter(channel=CHANNEL, ticket_id=mine.pk)]
    assert bodies and all(other.number not in body for body in bodies)
    assert not OutboxMessage.objects.filter(channel=CHANNEL, ticket_id=other.pk).exists()  # not its scope

"""The mapping table of docs/tmf621.md, row by row: what goes in, what is stored, what comes out, and the list
filters on each attribute."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from loopdesk.conftest import World
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import LinkKind, Priority, RejectReason, Status, Visibility
from loopdesk.tickets.models import ExternalRef, Ticket, TicketLink
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token
from loopdesk.tmf.tests.test_trouble_ticket_api import assert_error, patch
from loopdesk.tmf.tests.test_trouble_ticket_api import create as create_for_one_customer

pytestmark = pytest.mark.django_db

_msisdns = itertools.count(13912340001)


def create(client, world: World, **overrides):
    """A ticket of a customer of its own: tickets of one customer are linked as repeat complaints."""
    overrides.setdefault("relatedParty", [{"id": str(next(_msisdns)), "role": "customer"}])
    return create_for_one_customer(client, world, **overrides)


def get(client, pk, **params):
    response = client.get(f"{BASE}/troubleTicket/{pk}", params)
    assert response.status_code == 200, response.content
    return response.json()


# --- severity and priority ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("severity", "priority", "stored", "out_severity", "out_priority"), [
    ("Critical", "Low", Priority.LOW, "Minor", "Low"),  # priority wins; low shows as severity Minor
    ("Minor", "Critical", Priority.URGENT, "Critical", "Critical"),
    ("Major", None, Priority.HIGH, "Major", "High"),
    ("minor", "medium", Priority.NORMAL, "Minor", "Medium"),  # case does not matter
])
def test_priority_beats_severity(world: World, crm, severity, priority, stored, out_severity, out_priority) -> None:
    extra = {"priority": priority} if priority else {}
    body = create(crm, world, severity=severity, **extra).json()
    assert Ticket.objects.get(pk=body["id"]).priority == stored
    assert (body["severity"], body["priority"]) == (out_severity, out_priority)


def test_unknown_priority_is_400_even_with_a_valid_severity(world: World, crm) -> None:
    assert_error(create(crm, world, priority="Extreme"), 400, "priority")
    assert not Ticket.objects.exists()


# --- related parties ---------------------------------------------------------------------------------------


def test_related_parties_name_customer_first_responder_and_handlers(world: World, crm) -> None:
    pk = create(crm, world, status="inProgress").json()["id"]
    parties = get(crm, pk)["relatedParty"]
    by_role = {(p["role"], p["@referredType"]): p for p in parties}
    assert set(by_role) == {("customer", "Customer"), ("firstResponder", "Individual"),
                            ("handler", "Organization")}
    assert by_role[("firstResponder", "Individual")]["id"] == str(world.users["agent"].pk)
    handler_unit = by_role[("handler", "Organization")]
    assert handler_unit["id"] == str(world.units["netmaint"].pk) and handler_unit["name"] == "网络维护中心"
    assert handler_unit["href"] == f"/api/units/{world.units['netmaint'].pk}/"
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=int(pk))
    parties = get(crm, pk)["relatedParty"]
    person = [p for p in parties if p["role"] == "handler" and p["@referredType"] == "Individual"]
    assert person == [{"id": str(world.users["specialist"].pk), "name": "specialist", "role": "handler",
                       "@referredType": "Individual"}]


# --- notes and status history ------------------------------------------------------------------------------


def test_a_note_without_type_is_internal(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    body = patch(crm, pk, {"note": [{"text": "内部跟进"}, {"text": "已联系客户", "@type": "CustomerNote"}]}).json()
    notes = [(n["text"], n["@type"]) for n in body["note"]]
    assert notes == [("内部跟进", "InternalNote"), ("已联系客户", "CustomerNote")]
    stored = dict(Ticket.objects.get(pk=pk).events.filter(kind="note").values_list("note", "visibility"))
    assert stored == {"内部跟进": Visibility.INTERNAL, "已联系客户": Visibility.CUSTOMER}
    assert all(n["author"] == "agent" and n["date"] and n["id"].isdigit() for n in body["note"])
    # Sent back with their ids (merge patch): not added twice.
    assert len(patch(crm, pk, {"note": body["note"]}).json()["note"]) == 2


def test_status_change_history(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    patch(crm, pk, {"status": "inProgress", "statusChangeReason": "请网维处理"})
    patch(crm, pk, {"status": "cancelled", "statusChangeReason": "客户撤销"})
    body = get(crm, pk)
    history = [(c["status"], c["changeReason"], c["@type"]) for c in body["statusChange"]][1:]
    assert body["statusChange"][0]["status"] == "acknowledged"
    assert history == [("inProgress", "请网维处理", "StatusChange"), ("cancelled", "客户撤销", "StatusChange")]
    dates = [dt.datetime.fromisoformat(c["changeDate"]) for c in body["statusChange"]]
    assert dates == sorted(dates) and body["statusChangeDate"] == body["statusChange"][-1]["changeDate"]
    assert body["statusChangeReason"] == "客户撤销" and body["status"] == "cancelled"


def test_status_change_history_does_not_repeat_a_status(world: World, crm, oss) -> None:
    """Dispatched, accepted and transferred are all inProgress: one entry (the dispatch), not three in a row."""
    pk = create(crm, world).json()["id"]
    patch(crm, pk, {"status": "inProgress", "statusChangeReason": "请网维处理"})
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=int(pk))
    patch(oss, pk, {"status": "pending", "statusChangeReason": "地址？"})
    patch(crm, pk, {"status": "inProgress", "statusChangeReason": "某小区"})
    body = get(crm, pk)
    assert [(c["status"], c["changeReason"]) for c in body["statusChange"]][1:] == [
        ("inProgress", "请网维处理"), ("pending", "地址？"), ("inProgress", "某小区")]
    assert Ticket.objects.get(pk=pk).events.exclude(to_status="").count() > len(body["statusChange"])


# --- dates -------------------------------------------------------------------------------------------------


def test_requested_resolution_date_round_trip_and_patch_refusal(world: World, crm) -> None:
    wanted = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    body = create(crm, world, requestedResolutionDate=wanted.isoformat()).json()
    assert dt.datetime.fromisoformat(body["requestedResolutionDate"]) == wanted
    assert Ticket.objects.get(pk=body["id"]).requested_resolution_at == wanted
    assert patch(crm, body["id"], {"requestedResolutionDate": body["requestedResolutionDate"]}).status_code == 200
    later = (wanted + dt.timedelta(days=1)).isoformat()
    assert_error(patch(crm, body["id"], {"requestedResolutionDate": later}), 400, "requestedResolutionDate")
    assert_error(patch(crm, body["id"], {"requestedResolutionDate": None}), 400, "requestedResolutionDate")
    assert Ticket.objects.get(pk=body["id"]).requested_resolution_at == wanted
    without = create(crm, world).json()
    assert without["requestedResolutionDate"] is None
    assert patch(crm, without["id"], {"requestedResolutionDate": None}).status_code == 200


# --- external ids ------------------------------------------------------------------------------------------


def test_external_id_with_two_systems(world: World, crm) -> None:
    pk = create(crm, world, externalId="CRM-77").json()["id"]
    ExternalRef.objects.create(ticket_id=pk, system="OSS", external_id="OSS-9")
    oss = client_for(issue_token(world.users["agent"], system="OSS"))
    hq = client_for(issue_token(world.users["agent"], system="HQ"))
    assert get(crm, pk)["externalId"] == "CRM-77"
    assert get(oss, pk)["externalId"] == "OSS-9"  # each system sees its own id
    assert get(hq, pk)["externalId"] in {"CRM-77", "OSS-9"}  # a system without one: the first
    ids = next(c["value"] for c in get(hq, pk)["characteristic"] if c["name"] == "externalIds")
    assert sorted(ids) == ["CRM:CRM-77", "OSS:OSS-9"]
    # Stored under the token's system; the same id from another system is another ticket's business.
    assert create(oss, world, externalId="CRM-77").status_code == 201
    again = create(crm, world, externalId="CRM-77")  # CRM registering its CRM-77 once more: the ticket it has
    assert again.status_code == 409 and again.json()["existingId"] == str(pk)


# --- relationships -----------------------------------------------------------------------------------------


def _rels(body) -> set[tuple[str, str]]:
    return {(r["id"], r["relationshipType"]) for r in body["troubleTicketRelationship"]}


def test_relationship_is_parent_and_related_to(world: World, crm) -> None:
    a = create(crm, world).json()["id"]
    b = create(crm, world).json()["id"]
    c = create(crm, world).json()["id"]
    body = patch(crm, a, {"troubleTicketRelationship": [{"id": b, "relationshipType": "isParent"},
                                                        {"id": c, "relationshipType": "relatedTo"}]}).json()
    assert _rels(body) == {(b, "isParent"), (c, "relatedTo")}
    assert Ticket.objects.get(pk=b).parent_id == int(a)
    assert _rels(get(crm, b)) == {(a, "isChild")}
    assert _rels(get(crm, c)) == {(a, "relatedTo")}
    # Sent again (merge patch echo): nothing new.
    patch(crm, a, {"troubleTicketRelationship": body["troubleTicketRelationship"]})
    assert TicketLink.objects.filter(from_ticket_id=a).count() == 2


def test_relationship_is_duplicate_of_by_link_and_by_rejection(world: World, crm) -> None:
    original = create(crm, world).json()["id"]
    linked = create(crm, world).json()["id"]
    body = patch(crm, linked, {"troubleTicketRelationship": [{"id": original, "relationshipType": "isDuplicateOf"}]})
    assert _rels(body.json()) == {(original, "isDuplicateOf")}
    assert Ticket.objects.get(pk=linked).status == Status.NEW  # a link only
    assert (linked, "hasDuplicate") in _rels(get(crm, original))
    rejected = create(crm, world).json()["id"]
    body = patch(crm, rejected, {"status": "rejected", "statusChangeReason": "重复投诉",
                                 "troubleTicketRelationship": [{"id": original, "relationshipType": "isDuplicateOf"}]})
    assert body.status_code == 200, body.content
    ticket = Ticket.objects.get(pk=rejected)
    assert (ticket.status, ticket.reject_reason, ticket.duplicate_of_id) == (
        Status.REJECTED, RejectReason.DUPLICATE, int(original))
    assert TicketLink.objects.filter(from_ticket_id=rejected, kind=LinkKind.DUPLICATE).count() == 1
    assert _rels(body.json()) == {(original, "isDuplicateOf")}


def test_unknown_relationship_type_is_400(world: World, crm) -> None:
    a = create(crm, world).json()["id"]
    b = create(crm, world).json()["id"]
    assert_error(patch(crm, a, {"troubleTicketRelationship": [{"id": b, "relationshipType": "isCousinOf"}]}),
                 400, "troubleTicketRelationship")
    assert not TicketLink.objects.exists()


def test_repeat_links_come_back_and_may_be_echoed_but_not_renamed(world: World, crm) -> None:
    """Two complaints of one customer are linked by LoopDesk (isRepeatOf/hasRepeat). Echoing the array back is
    fine; an unknown type for the already linked id is still a 400, not skipped as an echo."""
    first = create_for_one_customer(crm, world).json()["id"]
    second = create_for_one_customer(crm, world).json()
    assert _rels(second) == {(first, "isRepeatOf")}
    assert _rels(get(crm, first)) == {(second["id"], "hasRepeat")}
    assert patch(crm, second["id"], {"troubleTicketRelationship": second["troubleTicketRelationship"]}
                 ).status_code == 200
    assert_error(patch(crm, second["id"], {"troubleTicketRelationship": [
        {"id": first, "relationshipType": "isCousinOf"}]}), 400, "troubleTicketRelationship")
    # A type LoopDesk only sets itself cannot create a link.
    third = create(crm, world).json()["id"]
    assert_error(patch(crm, third, {"troubleTicketRelationship": [{"id": first, "relationshipType": "hasRepeat"}]}),
                 400, "troubleTicketRelationship")
    assert TicketLink.objects.count() == 1


# --- characteristics ---------------------------------------------------------------------------------------


def test_characteristics_names_types_and_values(world: World, crm) -> None:
    pk = create(crm, world, externalId="CRM-5").json()["id"]
    ticket = Ticket.objects.get(pk=pk)
    chars = {c["name"]: (c["valueType"], c["value"]) for c in get(crm, pk)["characteristic"]}
    assert chars == {
        "number": ("string", ticket.number),
        "province": ("string", "GD"),
        "region": ("string", "JM"),
        "workflowStatus": ("string", "new"),
        "categoryCode": ("string", world.categories["indoor"].code),
        "customerTier": ("string", ticket.tier),
        "dueDate": ("string", timezone.localtime(ticket.due_at).isoformat()),
        "slaPaused": ("boolean", False),
        "isOvertime": ("boolean", False),
        "isProblem": ("boolean", False),
        "isRepeat": ("boolean", False),
        "version": ("integer", 1),
        "externalIds": ("array", ["CRM:CRM-5"]),
    }


# --- list filters ------------------------------------------------------------------------------------------


@pytest.fixture
def three(world: World, crm) -> list[dict]:
    """[0] Major/High complaint with CRM-1; [1] Critical fault in category 'calls'; [2] Minor/Low consultation."""
    return [
        create(crm, world, externalId="CRM-1").json(),
        create(crm, world, severity="Critical", ticketType="fault",
               relatedEntity=[{"id": world.categories["calls"].code, "role": "category"}]).json(),
        create(crm, world, severity="Minor", priority="Low", ticketType="consultation").json(),
    ]


def _listed(client, **params) -> list[str]:
    response = client.get(f"{BASE}/troubleTicket", {**params, "sort": "id"})
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()]


@pytest.mark.parametrize(("params", "expected"), [
    ({"priority": "Low"}, [2]),
    ({"priority": "high,critical"}, [0, 1]),
    ({"severity": "Minor"}, [2]),
    ({"externalId": "CRM-1"}, [0]),
    ({"externalId": "CRM-404"}, []),
    ({"relatedEntity.id": "CALLS"}, [1]),
    ({"ticketType": "complaint"}, [0]),
    ({"ticketType": "incident"}, [1]),  # a synonym of fault
])
def test_attribute_filters(world: World, crm, three, params, expected) -> None:
    ids = [t["id"] for t in three]
    assert _listed(crm, **params) == [ids[i] for i in expected]


def test_id_filter(world: World, crm, three) -> None:
    ids = [t["id"] for t in three]
    assert _listed(crm, id=f"{ids[0]},{ids[2]}") == [ids[0], ids[2]]
    assert _listed(crm, id="abc") == []


def test_last_update_and_inclusive_date_filters(world: World, crm, three) -> None:
    ids = [t["id"] for t in three]
    patch(crm, ids[1], {"status": "inProgress"})
    touched = get(crm, ids[1])["lastUpdate"]
    assert touched > three[2]["lastUpdate"]
    assert _listed(crm, **{"lastUpdate.gte": touched}) == [ids[1]]
    assert _listed(crm, **{"lastUpdate.gt": touched}) == []
    assert _listed(crm, **{"lastUpdate.lt": touched}) == [ids[0], ids[2]]
    first = three[0]["creationDate"]
    assert _listed(crm, **{"creationDate.lte": first}) == [ids[0]]
    assert _listed(crm, **{"creationDate.gte": first}) == ids


@pytest.mark.parametrize("params", [{"severity": "Apocalyptic"}, {"priority": "Extreme"},
                                    {"ticketType": "party"}, {"channel.id": "pigeon"},
                                    {"severity": "Minor,Huge"}])
def test_unknown_filter_values_are_400_like_status(world: World, crm, three, params) -> None:
    name = next(iter(params))
    body = assert_error(crm.get(f"{BASE}/troubleTicket", params), 400, name)
    assert "Huge" in body["errors"][name][0] if "Huge" in params[name] else True

"""TMF621 v4 /troubleTicket, derived from the spec: every operation, its errors, filters, fields, paging."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from rest_framework.test import APIClient

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import World
from loopdesk.customers.models import Customer
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token, ticket_body

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "reason", "message", "status"}


def create(client, world: World, **overrides):
    return client.post(f"{BASE}/troubleTicket", ticket_body(world, **overrides), format="json")


def assert_error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= ERROR_KEYS and body["status"] == str(status)
    if field is not None:
        assert field in body["errors"], body
    return body


# --- POST -------------------------------------------------------------------------------------------


def test_create_returns_201_with_the_resource_and_location(world: World, crm) -> None:
    response = create(crm, world, externalId="CRM-1001", note=[{"text": "客户很着急", "@type": "CustomerNote"}])
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert response["Location"] == body["href"] == f"{BASE}/troubleTicket/{ticket.pk}"
    assert body["status"] == "acknowledged" and ticket.status == Status.NEW
    assert body["severity"] == "Major" and ticket.priority == "high"
    assert body["ticketType"] == "complaint" and body["externalId"] == "CRM-1001"
    assert ticket.first_responder == world.users["agent"] and ticket.channel == "hotline"
    assert [n["text"] for n in body["note"]] == ["客户很着急"] and body["note"][0]["@type"] == "CustomerNote"
    customer = next(p for p in body["relatedParty"] if p["role"] == "customer")
    assert customer["name"] == "139****5678" and "13912345678" not in response.content.decode()
    assert ticket.external_refs.get().system == "CRM"


def test_a_post_repeated_with_the_same_external_id_is_a_409_naming_the_ticket(world: World, crm) -> None:
    first = create(crm, world, externalId="CRM-2001")
    assert first.status_code == 201
    again = create(crm, world, externalId="CRM-2001")  # a retry after the answer was lost
    body = assert_error(again, 409)
    assert body["existingId"] == first.json()["id"] and body["existingHref"] == first.json()["href"]
    assert first.json()["id"] in body["message"]
    assert Ticket.objects.count() == 1
    # A caller that cannot see that ticket learns nothing of it: the plain field error.
    other = client_for(issue_token(world.users["zh_agent"]))
    hidden = assert_error(create(other, world, externalId="CRM-2001"), 400, "externalId")
    assert "existingId" not in hidden and first.json()["href"] not in hidden["message"]
    assert Ticket.objects.count() == 1


def test_create_with_status_in_progress_dispatches_through_routing(world: World, crm) -> None:
    response = create(crm, world, status="inProgress")
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.status == Status.DISPATCHED and ticket.handler_unit == world.units["netmaint"]
    assert response.json()["status"] == "inProgress"


@pytest.mark.parametrize("missing", ["description", "severity", "ticketType", "relatedParty", "relatedEntity"])
def test_create_without_a_required_attribute_is_400_naming_it(world: World, crm, missing: str) -> None:
    body = ticket_body(world)
    del body[missing]
    response = crm.post(f"{BASE}/troubleTicket", body, format="json")
    assert_error(response, 400, missing)
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(("attribute", "value", "field"), [
    ("description", 123, "description"),
    ("relatedParty", {"id": "13912345678"}, "relatedParty"),
    ("channel", "hotline", "channel"),
    ("expectedResolutionDate", "next week", "expectedResolutionDate"),
    ("description", "x" * 4001, "description"),
])
def test_create_with_a_wrong_type_is_400_naming_the_attribute(world: World, crm, attribute, value, field) -> None:
    assert_error(create(crm, world, **{attribute: value}), 400, field)
    assert Ticket.objects.count() == 0


def test_a_requested_resolution_date_already_past_is_400_naming_it(world: World, crm) -> None:
    body = assert_error(create(crm, world, requestedResolutionDate="2020-01-01T09:00:00+08:00"), 400,
                        "requestedResolutionDate")
    assert list(body["errors"]) == ["requestedResolutionDate"]
    assert Ticket.objects.count() == 0
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    created = create(crm, world, requestedResolutionDate=future.isoformat())
    assert created.status_code == 201, created.content
    assert dt.datetime.fromisoformat(created.json()["requestedResolutionDate"]) == future


def test_unknown_and_read_only_attributes_are_refused(world: World, crm) -> None:
    body = assert_error(create(crm, world, colour="red", creationDate="2026-01-01T00:00:00Z"), 400)
    assert {"colour", "creationDate"} <= set(body["errors"])
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"relatedParty": [{"id": "12345", "role": "customer"}]}, "relatedParty"),
    ({"relatedEntity": [{"id": "NO-SUCH", "role": "category"}]}, "relatedEntity"),
    ({"channel": {"id": "pigeon"}}, "channel.id"),
    ({"ticketType": "party"}, "ticketType"),
    ({"severity": "Apocalyptic"}, "severity"),
    ({"status": "closed"}, "status"),
])
def test_invalid_values_are_400_and_nothing_is_stored(world: World, crm, overrides, field) -> None:
    customers = Customer.objects.count()
    assert_error(create(crm, world, **overrides), 400, field)
    assert Ticket.objects.count() == 0 and Customer.objects.count() == customers


def test_malformed_json_is_400_naming_the_body_in_the_request_language(world: World, crm) -> None:
    response = crm.post(f"{BASE}/troubleTicket", data='{"description": ', content_type="application/json",
                        HTTP_ACCEPT_LANGUAGE="en")
    body = assert_error(response, 400, "body")
    assert body["code"] == "validation_error"
    assert body["errors"]["body"] == ["The request body is not valid JSON (line 1, column 17)."]
    zh = crm.post(f"{BASE}/troubleTicket", data='{"description": ', content_type="application/json",
                  HTTP_ACCEPT_LANGUAGE="zh-hans")
    with translation.override("zh-hans"):
        expected = str(_("The request body is not valid JSON (line %(line)d, column %(column)d).")
                       % {"line": 1, "column": 17})
    assert assert_error(zh, 400, "body")["errors"]["body"] == [expected] != body["errors"]["body"]
    # Valid JSON text but not JSON the spec allows (NaN) and bytes that are not UTF-8: the same field.
    assert_error(crm.post(f"{BASE}/troubleTicket", data='{"severity": NaN}', content_type="application/json"),
                 400, "body")
    assert_error(crm.post(f"{BASE}/troubleTicket", data=b'{"description": "\xff"}',
                          content_type="application/json"), 400, "body")
    assert Ticket.objects.count() == 0


def test_malformed_json_patch_is_400_and_changes_nothing(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    response = crm.patch(f"{BASE}/troubleTicket/{pk}", data='{"status": "cancelled", "statusChangeReason": ',
                         content_type="application/merge-patch+json")
    assert_error(response, 400, "body")
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.status == Status.NEW and ticket.version == 1 and ticket.events.count() == 1


def test_oversized_body_is_refused(world: World, crm, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = create(crm, world, description="长" * 1500)
    assert_error(response, 400, "body")
    assert Ticket.objects.count() == 0


def test_error_messages_follow_the_request_language(world: World, crm) -> None:
    body = ticket_body(world)
    del body["severity"]
    en = crm.post(f"{BASE}/troubleTicket", body, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    zh = crm.post(f"{BASE}/troubleTicket", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    with translation.override("zh-hans"):
        required_zh = str(_("This field is required."))
    assert en["errors"]["severity"] == ["This field is required."] != [required_zh]
    assert zh["errors"]["severity"] == [required_zh]


def test_attachment_by_value_is_stored_and_listed(world: World, crm) -> None:
    content = base64.b64encode(b"%PDF-1.4 bill").decode()
    response = create(crm, world, attachment=[{"name": "bill.pdf", "mimeType": "application/pdf",
                                                "content": content}])
    assert response.status_code == 201, response.content
    assert [a["name"] for a in response.json()["attachment"]] == ["bill.pdf"]


def test_an_attachment_of_the_largest_allowed_size_fits_in_a_request(world: World, crm, settings, tmp_path) -> None:
    """By value the file travels in base64 (4/3 of its size): the body limit left no room for a file of the size the
    UI (and docs/tmf621.md) allow, refusing it as an oversized body."""
    settings.MEDIA_ROOT = str(tmp_path)
    data = b"%PDF-1.4 " + b"0" * (settings.LOOPDESK_ATTACHMENT_MAX_BYTES - 9)
    response = create(crm, world, attachment=[{"name": "big.pdf", "mimeType": "application/pdf",
                                                "content": base64.b64encode(data).decode()}])
    assert response.status_code == 201, response.content[:300]
    assert response.json()["attachment"][0]["size"]["amount"] == settings.LOOPDESK_ATTACHMENT_MAX_BYTES
    # One byte more is refused on the attachment, by its size, not as a body too large.
    response = create(crm, world, attachment=[{"name": "big.pdf", "mimeType": "application/pdf",
                                                "content": base64.b64encode(data + b"0").decode()}])
    assert_error(response, 400, "attachment")


def test_an_attachments_description_is_who_may_see_it_and_what_is_not_kept_is_refused(world: World, crm) -> None:
    """`description` is the visibility GET shows ("customer" / "internal"): sent, it was dropped (every attachment
    internal); a url, an attachment type or a wrong size were dropped too."""
    pdf = base64.b64encode(b"%PDF-1.4 bill").decode()
    body = create(crm, world, attachment=[
        {"name": "bill.pdf", "mimeType": "application/pdf", "content": pdf, "description": "customer",
         "size": {"amount": 13, "units": "bytes"}},
        {"name": "memo.pdf", "content": pdf, "description": "internal"}]).json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert dict(ticket.attachments.values_list("filename", "visibility")) == {"bill.pdf": "customer",
                                                                               "memo.pdf": "internal"}
    assert [a["description"] for a in body["attachment"]] == ["customer", "internal"]
    added = patch(crm, body["id"], {"attachment": [{"name": "later.pdf", "content": pdf, "description": "Customer"}]})
    assert added.status_code == 200, added.content
    assert ticket.attachments.get(filename="later.pdf").visibility == "customer"
    for extra, field in (({"description": "photo of the bill"}, "attachment[0].description"),
                         ({"url": "https://example.com/bill.pdf"}, "attachment[0].url"),
                         ({"attachmentType": "bill"}, "attachment[0].attachmentType"),
                         ({"size": {"amount": 99}}, "attachment[0].size")):
        item = {"name": "x.pdf", "content": pdf, **extra}
        assert_error(create(crm, world, attachment=[item]), 400, field)
        assert_error(patch(crm, body["id"], {"attachment": [item]}), 400, field)
    assert Ticket.objects.count() == 1 and ticket.attachments.count() == 3


def test_attachment_of_a_forbidden_type_is_400_and_nothing_stored(world: World, crm) -> None:
    content = base64.b64encode(b"MZ...").decode()
    response = create(crm, world, attachment=[{"name": "x.exe", "mimeType": "application/x-msdownload",
                                                "content": content}])
    assert_error(response, 400, "attachment")
    assert Ticket.objects.count() == 0


def test_attachment_whose_bytes_are_a_program_is_400_whatever_its_declared_type(world: World, crm) -> None:
    content = base64.b64encode(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64).decode()
    for name in ("x.exe", "shot.png", "attachment"):
        response = create(crm, world, attachment=[{"name": name, "mimeType": "image/png", "content": content}])
        assert_error(response, 400, "attachment")
    assert Ticket.objects.count() == 0


def test_read_only_token_cannot_create(world: World) -> None:
    client = client_for(issue_token(world.users["agent"], write=False))
    assert_error(create(client, world), 403)
    assert client.get(f"{BASE}/troubleTicket").status_code == 200


def test_token_of_a_role_that_may_not_register_gets_403(world: World) -> None:
    client = client_for(issue_token(world.users["specialist"]))
    assert_error(create(client, world), 403)


# --- authentication ---------------------------------------------------------------------------------


def test_missing_or_wrong_token_is_401_with_bearer_challenge(world: World, crm) -> None:
    from rest_framework.test import APIClient

    anonymous = APIClient().get(f"{BASE}/troubleTicket")
    assert_error(anonymous, 401)
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert_error(client_for("ld_deadbeef_wrong").get(f"{BASE}/troubleTicket"), 401)


def test_token_is_stored_hashed(world: World) -> None:
    from loopdesk.tmf.models import ApiToken

    raw = issue_token(world.users["agent"])
    stored = ApiToken.objects.get()
    assert raw not in (stored.key_hash, stored.prefix) and stored.matches(raw)


# --- GET by id ---------------------------------------------------------------------------------------


def test_retrieve_with_fields_returns_only_those_plus_id_and_href(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    body = crm.get(f"{BASE}/troubleTicket/{pk}", {"fields": "status,severity"}).json()
    assert set(body) == {"id", "href", "status", "severity"}
    full = crm.get(f"{BASE}/troubleTicket/{pk}")
    assert {"statusChange", "relatedParty", "characteristic", "note"} <= set(full.json())
    assert full["ETag"] == '"1"'


def test_retrieve_unknown_id_is_404_in_the_error_shape(world: World, crm) -> None:
    assert_error(crm.get(f"{BASE}/troubleTicket/999999"), 404)
    assert_error(crm.get(f"{BASE}/troubleTicket/not-a-number"), 404)
    assert_error(crm.get(f"{BASE}/noSuchResource"), 404)


def test_unknown_field_in_fields_is_400(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    assert_error(crm.get(f"{BASE}/troubleTicket/{pk}", {"fields": "status,shoeSize"}), 400, "fields")


def test_ticket_outside_the_tokens_scope_is_404(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    zhuhai = client_for(issue_token(world.users["zh_agent"]))
    assert_error(zhuhai.get(f"{BASE}/troubleTicket/{pk}"), 404)
    assert zhuhai.get(f"{BASE}/troubleTicket").json() == []
    # A token limited to units narrows even an administrator's scope.
    limited = client_for(issue_token(world.users["admin"], units=[world.units["zh"]]))
    assert_error(limited.get(f"{BASE}/troubleTicket/{pk}"), 404)
    everything = client_for(issue_token(world.users["admin"], units=[world.units["jm"]]))
    assert everything.get(f"{BASE}/troubleTicket/{pk}").status_code == 200


# --- GET list ---------------------------------------------------------------------------------------


def _three_tickets(world: World, crm) -> list[str]:
    ids = [create(crm, world).json()["id"]]
    ids.append(create(crm, world, severity="Critical", ticketType="fault",
                      channel={"id": "hall"}).json()["id"])
    ids.append(create(crm, world, severity="Minor", ticketType="consultation", status="inProgress").json()["id"])
    return ids


def test_list_has_pagination_headers(world: World, crm) -> None:
    ids = _three_tickets(world, crm)
    response = crm.get(f"{BASE}/troubleTicket", {"offset": 1, "limit": 1, "sort": "id"})
    assert response.status_code == 200
    assert response["X-Total-Count"] == "3" and response["X-Result-Count"] == "1"
    assert [t["id"] for t in response.json()] == [ids[1]]


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "inProgress"}, [2]),
    ({"status": "acknowledged"}, [0, 1]),
    ({"severity": "Critical"}, [1]),
    ({"ticketType": "fault,consultation"}, [1, 2]),
    ({"channel.id": "hall"}, [1]),
    ({"relatedParty.id": "13912345678"}, [0, 1, 2]),
])
def test_filters_exclude_what_they_should(world: World, crm, params, expected) -> None:
    ids = _three_tickets(world, crm)
    body = crm.get(f"{BASE}/troubleTicket", {**params, "sort": "id"}).json()
    assert [t["id"] for t in body] == [ids[i] for i in expected]


def test_date_filters_with_gt_and_lt(world: World, crm) -> None:
    first = create(crm, world).json()
    response = crm.get(f"{BASE}/troubleTicket", {"creationDate.gt": first["creationDate"]})
    assert response.json() == []
    before = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    assert [t["id"] for t in crm.get(f"{BASE}/troubleTicket", {"creationDate.gt": before}).json()] == [first["id"]]
    assert crm.get(f"{BASE}/troubleTicket", {"creationDate.lt": before}).json() == []


def test_a_date_without_a_time_names_the_whole_day(world: World, crm) -> None:
    """`creationDate.lte=<today>` includes today's tickets (it meant today's midnight, leaving them all out);
    `.gt=<today>` starts tomorrow; `.gte` / `.lt` compare with the day's start, in Asia/Shanghai."""
    first = create(crm, world).json()
    today = timezone.localdate().isoformat()

    def ids(**params: str) -> list[str]:
        return [t["id"] for t in crm.get(f"{BASE}/troubleTicket", params).json()]

    assert ids(**{"creationDate.lte": today}) == [first["id"]]
    assert ids(**{"creationDate.gte": today}) == [first["id"]]
    assert ids(**{"creationDate.gt": today}) == [] and ids(**{"creationDate.lt": today}) == []
    response = crm.get(f"{BASE}/troubleTicket", {"creationDate.lte": today})
    assert response["X-Total-Count"] == "1"


def test_date_filter_with_an_offset_postgresql_would_refuse(world: World, crm) -> None:
    first = create(crm, world).json()
    # Found by schemathesis on PostgreSQL: a valid ISO offset beyond ±15:59 was a server error.
    response = crm.get(f"{BASE}/troubleTicket", {"creationDate.gt": "2025-03-30T16:52:41.44-20:51"})
    assert response.status_code == 200 and [t["id"] for t in response.json()] == [first["id"]]
    assert crm.get(f"{BASE}/troubleTicket", {"creationDate.gt": "2825-03-30T16:52:41.44-20:51"}).json() == []


@pytest.mark.parametrize("name", ["externalId", "relatedEntity.id", "relatedParty.id", "channel.id", "id"])
def test_a_filter_value_with_a_nul_character_is_a_400_naming_it(world: World, crm, name) -> None:
    """PostgreSQL refuses NUL in a query's text: externalId and relatedEntity.id were server errors there."""
    create(crm, world, externalId="CRM-1")
    assert_error(crm.get(f"{BASE}/troubleTicket?{name}=CRM%001"), 400, name)


def test_a_date_filter_typed_with_a_plain_plus_reads_the_offset(world: World, crm) -> None:
    """"+" in a query string arrives as a space unless written %2B: "…T09:00:00+08:00" typed into a URL as it is
    (the example of the error message) is read with its offset, not refused."""
    first = create(crm, world).json()
    created = Ticket.objects.get(pk=first["id"]).created_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    before = (created - dt.timedelta(minutes=1)).replace(microsecond=0, tzinfo=None).isoformat()
    after = (created + dt.timedelta(minutes=1)).replace(microsecond=0, tzinfo=None).isoformat()
    url = f"{BASE}/troubleTicket?creationDate.gt={before}+08:00&creationDate.lt={after}+08:00"
    response = crm.get(url)
    assert response.status_code == 200, response.content
    assert [t["id"] for t in response.json()] == [first["id"]]
    assert crm.get(f"{BASE}/troubleTicket?creationDate.gt={after}+08:00").json() == []
    # The offset counts (not dropped): the same wall-clock time at +09:00 is an hour earlier.
    hour_later = (created + dt.timedelta(minutes=50)).replace(microsecond=0, tzinfo=None).isoformat()
    assert [t["id"] for t in crm.get(f"{BASE}/troubleTicket?creationDate.lt={hour_later}+0900").json()] == []
    assert [t["id"] for t in crm.get(f"{BASE}/troubleTicket?creationDate.lt={hour_later}+0800").json()] \
        == [first["id"]]
    # A date with a time and no offset keeps its meaning (local time), and nonsense is still a 400.
    assert [t["id"] for t in crm.get(f"{BASE}/troubleTicket?creationDate.gt={before.replace('T', '+')}").json()] \
        == [first["id"]]
    assert_error(crm.get(f"{BASE}/troubleTicket?creationDate.gt={before}+08:00+08:00"), 400, "creationDate.gt")


@pytest.mark.parametrize("params", [{"colour": "red"}, {"limit": "-1"}, {"limit": "100000"},
                                    {"creationDate.gt": "yesterday"}, {"status": "sleeping"}, {"sort": "shoe"},
                                    {"creationDate.gt": "2026-13-45T09:00:00+08:00"},
                                    {"creationDate.lt": "9999-12-31T23:59:59-15:00"},
                                    {"creationDate.gt": ""}, {"lastUpdate.lte": " , "}, {"status": ""}])
def test_bad_list_parameters_are_400(world: World, crm, params) -> None:
    assert_error(crm.get(f"{BASE}/troubleTicket", params), 400)


def test_repeated_parameters_are_not_silently_cut_to_the_last(world: World, crm) -> None:
    ids = _three_tickets(world, crm)
    # fields given twice asks for both, as a comma does (was only the last one: status silently missing).
    listed = crm.get(f"{BASE}/troubleTicket?fields=status&fields=severity&sort=id").json()
    assert [set(t) for t in listed] == [{"id", "href", "status", "severity"}] * 3
    one = crm.get(f"{BASE}/troubleTicket/{ids[0]}?fields=status&fields=severity").json()
    assert set(one) == {"id", "href", "status", "severity"}
    # A parameter that takes one value, given twice with different values: which one was meant? A 400 naming it.
    for query, name in (("limit=1&limit=3", "limit"), ("offset=0&offset=2", "offset"), ("sort=id&sort=-id", "sort")):
        assert_error(crm.get(f"{BASE}/troubleTicket?{query}"), 400, name)
    # The same value twice is harmless.
    response = crm.get(f"{BASE}/troubleTicket?limit=2&limit=2&sort=id&sort=id")
    assert response.status_code == 200 and [t["id"] for t in response.json()] == ids[:2]


def test_a_too_large_offset_or_limit_says_too_large_with_the_maximum(world: World, crm) -> None:
    """offset=10000000000 was told "Enter a whole number of at least 0." (it is one): now it is told it is too large
    and the largest accepted, in the caller's language; leading zeros do not make a number large."""
    _three_tickets(world, crm)
    for query, name, largest in (("offset=10000000000", "offset", "999999999"),
                                 ("limit=99999999999999999999", "limit", "1000"), ("limit=1001", "limit", "1000")):
        response = crm.get(f"{BASE}/troubleTicket?{query}", HTTP_ACCEPT_LANGUAGE="en")
        assert_error(response, 400, name)
        assert response.json()["errors"][name] == [f"Too large: at most {largest}."]
        chinese = crm.get(f"{BASE}/troubleTicket?{query}", HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert chinese.json()["errors"][name] == [f"过大：最多 {largest}。"]
    assert len(crm.get(f"{BASE}/troubleTicket?offset=0000000001&limit=00000000002").json()) == 2
    assert crm.get(f"{BASE}/troubleTicket?offset=-1", HTTP_ACCEPT_LANGUAGE="en").json()["errors"]["offset"] == [
        "Enter a whole number of at least 0."]


def test_fields_selects_attributes_inside_structured_ones(world: World, crm) -> None:
    """TMF630 dot notation: `relatedParty.name` is the name of each related party, `channel.id` the channel's id."""
    pk = create(crm, world, note=[{"text": "客户很着急", "@type": "CustomerNote"}]).json()["id"]
    full = crm.get(f"{BASE}/troubleTicket/{pk}").json()
    one = crm.get(f"{BASE}/troubleTicket/{pk}", {"fields": "channel.id,relatedParty.name,relatedParty.role,note.text,"
                                                           "status"}).json()
    assert one == {"id": pk, "href": full["href"], "status": full["status"], "channel": {"id": "hotline"},
                   "relatedParty": [{"name": p["name"], "role": p["role"]} for p in full["relatedParty"]],
                   "note": [{"text": "客户很着急"}]}
    # A whole attribute and one of its parts: the whole attribute.
    assert crm.get(f"{BASE}/troubleTicket/{pk}", {"fields": "channel,channel.id"}).json()["channel"] == full["channel"]
    listed = crm.get(f"{BASE}/troubleTicket", {"fields": "relatedEntity.id"}).json()
    assert listed == [{"id": pk, "href": full["href"], "relatedEntity": [{"id": world.categories["indoor"].code}]}]
    # Unknown parts are named, as unknown attributes are.
    for bad in ("channel.colour", "status.id", "relatedParty.", "nothing.id"):
        body = assert_error(crm.get(f"{BASE}/troubleTicket/{pk}", {"fields": bad}), 400, "fields")
        assert bad in body["errors"]["fields"][0]


def test_list_fields_selection(world: World, crm) -> None:
    _three_tickets(world, crm)
    body = crm.get(f"{BASE}/troubleTicket", {"fields": "status"}).json()
    assert all(set(t) == {"id", "href", "status"} for t in body)


# --- PATCH ------------------------------------------------------------------------------------------


def patch(client, pk, body, **headers):
    return client.patch(f"{BASE}/troubleTicket/{pk}", body, format="json", **headers)


def test_patch_status_runs_the_workflow_services_with_the_same_timeline(world: World, crm, oss) -> None:
    pk = create(crm, world).json()["id"]
    assert patch(crm, pk, {"status": "inProgress", "statusChangeReason": "请网维处理"}).json()["status"] == "inProgress"
    assert patch(oss, pk, {"status": "inProgress"}).status_code == 200  # already inProgress: nothing to do
    t = Ticket.objects.get(pk=pk)
    assert t.status == Status.DISPATCHED
    # The network specialist: accept is not a TMF status change (dispatched and in progress are both inProgress),
    # so the specialist asks for information, which requires accepting first through the UI or the /api/.
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t)
    pending = patch(oss, pk, {"status": "pending", "statusChangeReason": "请提供具体地址"})
    assert pending.json()["status"] == "pending"
    patch(crm, pk, {"status": "inProgress", "statusChangeReason": "江门市新会区某小区"})
    resolved = patch(oss, pk, {"status": "resolved", "statusChangeReason": "已调整天线"})
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolutionDate"]
    # Same TMF status, but a row of the table (replied → resolved): the front line answers the customer.
    answered = patch(crm, pk, {"status": "resolved", "statusChangeReason": "已告知客户"})
    assert answered.status_code == 200 and answered.json()["status"] == "resolved"
    t = Ticket.objects.get(pk=pk)
    assert t.status == Status.ANSWERED and t.answer == "已告知客户" and t.resolution == "已调整天线"
    kinds = list(TicketEvent.objects.filter(ticket_id=pk).order_by("seq").values_list("kind", flat=True))
    assert kinds == ["create", "dispatch", "accept", "request_info", "provide_info", "reply", "answer"]
    assert AuditLog.objects.filter(action="ticket.reply", object_id=str(pk)).exists()


def test_patch_an_impossible_status_change_is_409_naming_what_is_possible(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    body = assert_error(patch(crm, pk, {"status": "closed"}), 409)
    assert body["code"] == "invalid_transition" and "cancelled" in body["possibleStatus"]
    assert Ticket.objects.get(pk=pk).status == Status.NEW


def test_the_409_lists_only_the_statuses_this_caller_may_request(world: World, crm, oss) -> None:
    pk = create(crm, world, status="inProgress").json()["id"]
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=Ticket.objects.get(pk=pk))
    # In progress: the handler may ask for information, a suspension or reply; withdrawing is the front line's.
    handler = assert_error(patch(oss, pk, {"status": "closed"}), 409)
    assert handler["possibleStatus"] == ["pending", "held", "resolved"]
    assert "cancelled" not in handler["message"] and "pending, held, resolved" in handler["message"]
    front = assert_error(patch(crm, pk, {"status": "closed"}), 409)
    assert front["possibleStatus"] == ["cancelled"]
    # A reachable status the caller's role may not request: 403, naming what it may.
    denied = assert_error(patch(oss, pk, {"status": "cancelled", "statusChangeReason": "不处理了"}), 403)
    assert denied["possibleStatus"] == ["pending", "held", "resolved"]
    assert Ticket.objects.get(pk=pk).status == Status.IN_PROGRESS


def test_closing_after_a_dissatisfied_callback_is_a_409_offering_the_reopening(world: World, crm) -> None:
    """Was a 400 on `callback_verdict`, a field the TMF resource does not have."""
    pk = create(crm, world).json()["id"]
    agent = world.user("agent")
    s.do_answer_customer(acting_user=agent, ticket=int(pk), answer="已答复", resolution="重启终端")
    s.do_callback(acting_user=agent, ticket=int(pk), verdict="dissatisfied", note="客户不满意")
    body = assert_error(patch(crm, pk, {"status": "closed"}), 409)
    assert body["code"] == "invalid_transition" and body["possibleStatus"] == ["acknowledged"]
    assert "errors" not in body and "callback_verdict" not in body["message"]
    assert Ticket.objects.get(pk=pk).status == Status.CALLED_BACK


def test_patch_by_a_token_without_permission_is_403_and_changes_nothing(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    auditor = client_for(issue_token(world.users["auditor"]))
    assert_error(patch(auditor, pk, {"status": "cancelled", "statusChangeReason": "x"}), 403)
    assert Ticket.objects.get(pk=pk).status == Status.NEW


def test_a_read_only_user_is_403_before_any_if_match_check(world: World, crm) -> None:
    """An auditor's token sending a stale If-Match got 412 (and so learnt the ticket had changed) on PATCH and
    DELETE: one who may not change the ticket is refused first, whatever If-Match says."""
    pk = create(crm, world).json()["id"]
    patch(crm, pk, {"note": [{"text": "跟进"}]})
    auditor = client_for(issue_token(world.users["auditor"]))
    for if_match in ('"1"', '"99"'):
        assert_error(patch(auditor, pk, {"status": "cancelled", "statusChangeReason": "x"}, HTTP_IF_MATCH=if_match),
                     403)
        assert_error(auditor.delete(f"{BASE}/troubleTicket/{pk}", HTTP_IF_MATCH=if_match), 403)
    specialist = client_for(issue_token(world.users["zh_agent"]))  # another region: no such ticket for it
    assert_error(specialist.delete(f"{BASE}/troubleTicket/{pk}", HTTP_IF_MATCH='"1"'), 404)
    assert Ticket.objects.get(pk=pk).status == Status.NEW


def test_patch_required_reason_is_a_field_error(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    assert_error(patch(crm, pk, {"status": "cancelled"}), 400, "statusChangeReason")


def test_patch_with_a_stale_if_match_is_412(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    assert patch(crm, pk, {"note": [{"text": "第一次跟进"}]}, HTTP_IF_MATCH='"1"').status_code == 200
    patch(crm, pk, {"status": "inProgress"}, HTTP_IF_MATCH='"1"')
    body = assert_error(patch(crm, pk, {"status": "cancelled", "statusChangeReason": "客户撤销"},
                              HTTP_IF_MATCH='"1"'), 412)
    assert body["code"] == "precondition_failed"
    assert Ticket.objects.get(pk=pk).status == Status.DISPATCHED


def test_patch_fixed_attributes_may_be_echoed_but_not_changed(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    same = patch(crm, pk, {"severity": "Major", "ticketType": "complaint", "note": [{"text": "补充"}]})
    assert same.status_code == 200 and [n["text"] for n in same.json()["note"]] == ["补充"]
    assert_error(patch(crm, pk, {"description": "改了"}), 400, "description")
    assert_error(patch(crm, pk, {"id": "5"}), 400, "id")


def test_patch_expected_resolution_date_changes_the_committed_time(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    when = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    body = patch(crm, pk, {"expectedResolutionDate": when.isoformat(), "statusChangeReason": "客户同意"}).json()
    assert Ticket.objects.get(pk=pk).committed_at == when
    assert dt.datetime.fromisoformat(body["expectedResolutionDate"]) == when


def test_patch_expected_resolution_date_after_the_answer_is_a_400_on_it(world: World, crm) -> None:
    """Resolved (the customer answered): a new committed time would SMS 'time changed' about finished work."""
    pk = create(crm, world).json()["id"]
    s.do_answer_customer(acting_user=world.users["agent"], ticket=pk, answer="已解决", resolution="已解决")
    when = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    assert_error(patch(crm, pk, {"expectedResolutionDate": when.isoformat(), "statusChangeReason": "客户同意"}),
                 400, "expectedResolutionDate")
    assert Ticket.objects.get(pk=pk).committed_at != when


def test_attributes_of_the_resource_that_cannot_be_sent_say_why(world: World, crm) -> None:
    """relatedParty and relatedEntity are TroubleTicket_Update attributes, characteristic is ours: not "unknown"."""
    created = create(crm, world).json()
    pk = created["id"]
    with translation.override("en"):
        fixed = str(_("This attribute is fixed when the trouble ticket is registered."))
        server_set = str(_("This attribute is set by LoopDesk and cannot be sent."))
    for name in ("relatedParty", "relatedEntity"):
        body = assert_error(patch(crm, pk, {name: created[name]}, HTTP_ACCEPT_LANGUAGE="en"), 400, name)
        assert body["errors"][name] == [fixed]
    body = assert_error(patch(crm, pk, {"characteristic": []}, HTTP_ACCEPT_LANGUAGE="en"), 400, "characteristic")
    assert body["errors"]["characteristic"] == [server_set]
    response = crm.post(f"{BASE}/troubleTicket", ticket_body(world, characteristic=[]), format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert assert_error(response, 400, "characteristic")["errors"]["characteristic"] == [server_set]
    assert Ticket.objects.count() == 1


def test_patch_accepts_merge_patch_content_type(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    response = crm.patch(f"{BASE}/troubleTicket/{pk}", data='{"note": [{"text": "merge"}]}',
                         content_type="application/merge-patch+json")
    assert response.status_code == 200, response.content


def test_patch_unknown_id_is_404(world: World, crm) -> None:
    assert_error(patch(crm, 424242, {"note": [{"text": "x"}]}), 404)


def test_relationship_is_child_sets_the_parent(world: World, crm) -> None:
    parent = create(crm, world).json()["id"]
    child = create(crm, world, troubleTicketRelationship=[{"id": parent, "relationshipType": "isChild"}]).json()
    assert Ticket.objects.get(pk=child["id"]).parent_id == int(parent)
    assert {"id": parent, "relationshipType": "isChild"} in [
        {"id": r["id"], "relationshipType": r["relationshipType"]} for r in child["troubleTicketRelationship"]]


# --- DELETE -----------------------------------------------------------------------------------------


def test_delete_withdraws_and_never_destroys(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    assert crm.delete(f"{BASE}/troubleTicket/{pk}").status_code == 204
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.status == Status.WITHDRAWN and ticket.events.filter(kind="withdraw").exists()
    assert crm.get(f"{BASE}/troubleTicket/{pk}").json()["status"] == "cancelled"
    assert crm.delete(f"{BASE}/troubleTicket/{pk}").status_code == 204  # idempotent
    assert ticket.events.filter(kind="withdraw").count() == 1


def test_texts_written_for_the_caller_are_in_the_deployment_language_whatever_the_request_language(
        world: World, crm) -> None:
    """The timeline is read by staff and (the committed time) the customer in the deployment's language: a request in
    English leaves no English note there."""
    with translation.override("zh-hans"):
        changed = str(_("Changed through the TMF621 API."))
        withdrawn = str(_("Withdrawn through the TMF621 API by %(system)s.") % {"system": "CRM"})
    assert "TMF621" in changed and "Changed" not in changed and "Withdrawn" not in withdrawn
    pk = create(crm, world).json()["id"]
    when = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    assert patch(crm, pk, {"expectedResolutionDate": when.isoformat()}, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert crm.delete(f"{BASE}/troubleTicket/{pk}", HTTP_ACCEPT_LANGUAGE="en").status_code == 204
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.events.get(kind="commit_time").note == changed
    assert ticket.events.get(kind="withdraw").note == withdrawn


def test_delete_of_a_closed_ticket_is_409(world: World, crm) -> None:
    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    t = s.do_answer_customer(acting_user=agent, ticket=t, answer="已解决", resolution="重启")
    s.do_close_ticket(acting_user=agent, ticket=t)
    assert_error(crm.delete(f"{BASE}/troubleTicket/{t.pk}"), 409)
    assert Ticket.objects.get(pk=t.pk).status == Status.CLOSED


def test_delete_unknown_is_404_and_read_only_token_is_403(world: World, crm) -> None:
    assert_error(crm.delete(f"{BASE}/troubleTicket/777777"), 404)
    pk = create(crm, world).json()["id"]
    reader = client_for(issue_token(world.users["agent"], write=False))
    assert_error(reader.delete(f"{BASE}/troubleTicket/{pk}"), 403)


def test_method_not_allowed_is_405_in_the_error_shape(world: World, crm) -> None:
    assert_error(crm.put(f"{BASE}/troubleTicket", {}, format="json"), 405)


# --- rate limiting ----------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(world: World) -> None:
    client = client_for(issue_token(world.users["agent"], rate=3))
    statuses = [client.get(f"{BASE}/troubleTicket").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(f"{BASE}/troubleTicket")
    assert_error(response, 429)
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.parametrize("url", [f"{BASE}/troubleTicket", "/api/tickets/"])
def test_requests_without_a_valid_token_are_limited_per_address_too(world: World, settings, url: str) -> None:
    """The rate was checked after authentication: a caller trying tokens (or sending none) got 401s without end."""
    settings.LOOPDESK_API_RATE = "3/min"
    guesser = client_for("ld_deadbeef_not-a-token")
    assert [guesser.get(url).status_code for _ in range(3)] == [401, 401, 401]
    refused = guesser.get(url)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert APIClient().get(url).status_code == 429  # the same address, no token at all
    # A valid token is counted on its own.
    assert client_for(issue_token(world.users["agent"])).get(url).status_code == 200


def test_a_forged_x_forwarded_for_does_not_escape_the_rate_per_address(world: World, settings) -> None:
    """DRF's address was the whole X-Forwarded-For as sent: a new value on every request was a new counter."""
    settings.LOOPDESK_API_RATE = "2/min"
    client = APIClient()
    statuses = [client.get(f"{BASE}/troubleTicket", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
                for n in range(3)]
    assert statuses == [401, 401, 429]


def test_our_own_messages_are_translated_too(world: World, crm) -> None:
    zh = crm.get(f"{BASE}/troubleTicket", {"colour": "red"}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    en = crm.get(f"{BASE}/troubleTicket", {"colour": "red"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert en["errors"]["colour"] == ["Unknown filter attribute “colour”."]
    assert "colour" in zh["errors"]["colour"][0] and re.search(r"[\u4e00-\u9fff]", zh["errors"]["colour"][0])


def test_issue_api_token_command_prints_a_working_token(world: World) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("issue_api_token", name="HQ", system="HQ", user="supervisor", stdout=out)
    client = client_for(out.getvalue().strip())
    assert client.get(f"{BASE}/troubleTicket").status_code == 200
    assert_error(create(client, world), 403)  # read-only unless --write


@pytest.mark.parametrize(("options", "field"), [({"rate": -1}, "--rate"), ({"rate": 0}, "--rate"),
                                                ({"name": "x" * 300}, "--name")])
def test_issue_api_token_command_refuses_bad_options_without_a_traceback(world: World, options: dict,
                                                                         field: str) -> None:
    from django.core.management import CommandError, call_command

    from loopdesk.tmf.models import ApiToken

    values = {"name": "CRM", "system": "CRM", "user": "supervisor", **options}
    with pytest.raises(CommandError, match=field):
        call_command("issue_api_token", **values)
    assert not ApiToken.objects.filter(system="CRM").exists()


def test_a_token_rate_of_0_is_refused_in_the_admin_not_read_as_the_default(world: World) -> None:
    """0 requests per minute was saved and then read as "no rate of its own": the deployment's 600/min."""
    from django.test import Client

    from loopdesk.org.models import User
    from loopdesk.tmf.models import ApiToken

    root = User.objects.create_superuser("root", "root@example.com", "x-long-pass-2026")
    client = Client()
    client.force_login(root)
    data = {"name": "CRM", "system": "CRM", "user": world.users["agent"].pk, "rate_per_minute": "0",
            "is_active": "on"}
    response = client.post("/admin/tmf/apitoken/add/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and not ApiToken.objects.exists()
    assert "At least 1 request per minute" in response.content.decode()
    assert client.post("/admin/tmf/apitoken/add/", {**data, "rate_per_minute": "1"}).status_code == 302
    assert ApiToken.objects.get().rate_per_minute == 1


# --- relationships stay inside the token's scope --------------------------------------------------------


def _zhuhai_ticket(world: World) -> Ticket:
    zh_customer = world.customer(region="ZH")
    return s.do_create_ticket(acting_user=world.user("zh_agent"), **world.ticket_kwargs(customer=zh_customer))


@pytest.mark.parametrize(("method", "relationship"), [
    ("patch", "relatedTo"), ("patch", "isParent"), ("patch", "isChild"), ("post", "isChild"), ("post", "relatedTo"),
    ("reject", "isDuplicateOf"),
])
def test_a_unit_limited_token_cannot_link_a_ticket_outside_its_units(world: World, method, relationship) -> None:
    """The administrator sees every region; a token limited to Jiangmen units must not reach a Zhuhai ticket."""
    outside = _zhuhai_ticket(world)
    limited = client_for(issue_token(world.users["admin"], units=[world.units["jm"]]))
    assert_error(limited.get(f"{BASE}/troubleTicket/{outside.pk}"), 404)
    relation = [{"id": str(outside.pk), "relationshipType": relationship}]
    if method == "post":
        response = create(limited, world, troubleTicketRelationship=relation)
        assert_error(response, 400, "troubleTicketRelationship")
        assert list(Ticket.objects.values_list("pk", flat=True)) == [outside.pk]
    else:
        pk = create(limited, world).json()["id"]
        body = {"troubleTicketRelationship": relation}
        if method == "reject":
            body.update(status="rejected", statusChangeReason="重复投诉")
        assert_error(patch(limited, pk, body), 400, "troubleTicketRelationship")
        ticket = Ticket.objects.get(pk=pk)
        assert ticket.status == Status.NEW and ticket.duplicate_of_id is None and ticket.parent_id is None
        assert not ticket.links_out.exists() and not ticket.links_in.exists()
    outside.refresh_from_db()
    assert outside.parent_id is None and not outside.links_in.exists() and not outside.links_out.exists()
    # The same link inside the token's units works.
    inside = create(limited, world).json()["id"]
    pk = create(limited, world).json()["id"]
    assert patch(limited, pk, {"troubleTicketRelationship": [
        {"id": inside, "relationshipType": "relatedTo"}]}).status_code == 200


# --- PATCH: bad input is a 400 naming the attribute, and nothing of the request is kept -------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"status": 5}, "status"),
    ({"status": "sleeping"}, "status"),
    ({"note": "x"}, "note"),
    ({"note": [{"text": 5}]}, "note[0].text"),
    ({"note": [{"txt": "x"}]}, "note[0].txt"),
    ({"statusChangeReason": ["x"]}, "statusChangeReason"),
    ({"expectedResolutionDate": "tomorrow"}, "expectedResolutionDate"),
    ({"expectedResolutionDate": "9999-12-31T23:59:00+08:00"}, "expectedResolutionDate"),  # beyond a year ahead
    ({"troubleTicketRelationship": {"id": "1"}}, "troubleTicketRelationship"),
    ({"colour": "red"}, "colour"),
    ({"lastUpdate": "2026-01-01T00:00:00Z"}, "lastUpdate"),
])
def test_patch_with_a_wrong_type_or_unknown_attribute_is_400_naming_it(world: World, crm, body, field) -> None:
    pk = create(crm, world).json()["id"]
    assert_error(patch(crm, pk, body), 400, field)
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.version == 1 and ticket.events.count() == 1


def test_patch_is_all_or_nothing(world: World, crm) -> None:
    """A valid status change with a forbidden externalId change: 400, and the withdrawal is rolled back."""
    pk = create(crm, world, externalId="CRM-1").json()["id"]
    audits = AuditLog.objects.count()
    response = patch(crm, pk, {"status": "cancelled", "statusChangeReason": "客户撤销", "externalId": "CRM-2",
                               "note": [{"text": "随请求的备注"}]})
    assert_error(response, 400, "externalId")
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.status == Status.NEW and ticket.version == 1
    assert list(ticket.events.values_list("kind", flat=True)) == ["create"]
    assert AuditLog.objects.count() == audits
    assert list(ticket.external_refs.values_list("external_id", flat=True)) == ["CRM-1"]
    # A fixed attribute changed alongside a status: also nothing.
    assert_error(patch(crm, pk, {"status": "cancelled", "statusChangeReason": "客户撤销", "severity": "Minor"}),
                 400, "severity")
    assert Ticket.objects.get(pk=pk).status == Status.NEW
    # The same request without the bad part goes through.
    assert patch(crm, pk, {"status": "cancelled", "statusChangeReason": "客户撤销",
                           "externalId": "CRM-1"}).json()["status"] == "cancelled"


# --- note and attachment ids: an echoed item must be one the ticket has -----------------------------------


def _note_and_attachment(world: World, crm) -> tuple[str, dict]:
    content = base64.b64encode(b"%PDF-1.4 bill").decode()
    body = create(crm, world, note=[{"text": "第一条"}],
                  attachment=[{"name": "bill.pdf", "mimeType": "application/pdf", "content": content}]).json()
    return body["id"], body


@pytest.mark.parametrize(("item", "field"), [
    ({"note": [{"id": "999", "text": "不存在的备注"}]}, "note[0].id"),
    ({"note": [{"id": 2, "text": "x"}]}, "note[0].id"),
    ({"attachment": [{"id": "999999", "name": "x.pdf"}]}, "attachment[0].id"),
    ({"attachment": [{"id": 5}]}, "attachment[0].id"),
])
def test_patch_with_an_unknown_note_or_attachment_id_is_400_naming_it(world: World, crm, item, field) -> None:
    pk, _body = _note_and_attachment(world, crm)
    version, events = Ticket.objects.get(pk=pk).version, TicketEvent.objects.filter(ticket_id=pk).count()
    body = {**item}
    body.setdefault("note", []).append({"text": "随请求的新备注"})
    assert_error(patch(crm, pk, body), 400, field)
    assert TicketEvent.objects.filter(ticket_id=pk).count() == events
    assert Ticket.objects.get(pk=pk).version == version


def test_patch_may_echo_the_notes_and_attachments_it_received(world: World, crm) -> None:
    pk, body = _note_and_attachment(world, crm)
    response = patch(crm, pk, {"note": [*body["note"], {"text": "新的"}], "attachment": body["attachment"]})
    assert response.status_code == 200, response.content
    assert [n["text"] for n in response.json()["note"]] == ["第一条", "新的"]
    assert [a["name"] for a in response.json()["attachment"]] == ["bill.pdf"]


def test_patch_cannot_rewrite_an_existing_note(world: World, crm) -> None:
    pk, body = _note_and_attachment(world, crm)
    note = {**body["note"][0], "text": "改写"}
    assert_error(patch(crm, pk, {"note": [note]}), 400, "note[0].text")
    zh = assert_error(patch(crm, pk, {"note": [note]}, HTTP_ACCEPT_LANGUAGE="zh-hans"), 400, "note[0].text")
    assert re.search(r"[\u4e00-\u9fff]", zh["errors"]["note[0].text"][0])
    assert [n["text"] for n in crm.get(f"{BASE}/troubleTicket/{pk}").json()["note"]] == ["第一条"]


@pytest.mark.parametrize(("item", "field"), [
    ({"note": [{"id": "1", "text": "x"}]}, "note[0].id"),
    ({"attachment": [{"id": "1", "name": "bill.pdf", "mimeType": "application/pdf",
                      "content": base64.b64encode(b"%PDF-1.4 bill").decode()}]}, "attachment[0].id"),
])
def test_create_with_a_note_or_attachment_id_is_400(world: World, crm, item, field) -> None:
    assert_error(create(crm, world, **item), 400, field)
    assert Ticket.objects.count() == 0


# --- If-Match covers the whole request -------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"note": [{"text": "基于旧版本的备注"}]},
    {"attachment": [{"name": "a.pdf", "mimeType": "application/pdf",
                     "content": base64.b64encode(b"%PDF-1.4 x").decode()}]},
    {"status": "cancelled", "statusChangeReason": "客户撤销"},
    {"expectedResolutionDate": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0).isoformat(),
     "statusChangeReason": "改期"},
])
def test_a_stale_if_match_is_412_for_every_part_of_a_patch(world: World, crm, body) -> None:
    pk = create(crm, world).json()["id"]
    current = patch(crm, pk, {"status": "inProgress"})["ETag"]
    events = TicketEvent.objects.filter(ticket_id=pk).count()
    response = patch(crm, pk, body, HTTP_IF_MATCH='"1"')
    assert assert_error(response, 412)["code"] == "precondition_failed"
    ticket = Ticket.objects.get(pk=pk)
    assert TicketEvent.objects.filter(ticket_id=pk).count() == events and ticket.status == Status.DISPATCHED
    assert not ticket.attachments.exists()
    assert patch(crm, pk, body, HTTP_IF_MATCH=current).status_code == 200


def test_if_match_takes_a_list_of_etags_and_star(world: World, crm) -> None:
    """RFC 9110 §13.1.1: If-Match is `*` or a list of ETags; the request is made when any of them is current."""
    pk = create(crm, world).json()["id"]
    current = crm.get(f"{BASE}/troubleTicket/{pk}")["ETag"]
    stale = f'"{int(current.strip(chr(34))) - 1}"'
    moved = patch(crm, pk, {"status": "inProgress"}, HTTP_IF_MATCH=f"{stale}, {current}")
    assert moved.status_code == 200, moved.content
    assert moved["ETag"] != current and Ticket.objects.get(pk=pk).status == Status.DISPATCHED
    assert assert_error(patch(crm, pk, {"note": [{"text": "乙"}]}, HTTP_IF_MATCH=f'{stale}, {current}, "99"'),
                        412)["code"] == "precondition_failed"  # the ticket moved on: none of them is current
    assert patch(crm, pk, {"note": [{"text": "丙"}]}, HTTP_IF_MATCH="*").status_code == 200
    assert_error(patch(crm, pk, {"note": [{"text": "丁"}]}, HTTP_IF_MATCH=f'{moved["ETag"]}, "x"'), 400, "If-Match")
    latest = crm.get(f"{BASE}/troubleTicket/{pk}")["ETag"]
    assert crm.delete(f"{BASE}/troubleTicket/{pk}", HTTP_IF_MATCH=f'"1", {latest}').status_code == 204
    assert Ticket.objects.get(pk=pk).status == Status.WITHDRAWN


def test_a_stale_if_match_is_412_even_with_a_body_that_is_not_valid(world: World, crm) -> None:
    """The precondition comes before the body (RFC 9110 §13.2.2): the client learns first that its copy is stale."""
    pk = create(crm, world).json()["id"]
    stale = crm.get(f"{BASE}/troubleTicket/{pk}")["ETag"]
    patch(crm, pk, {"status": "inProgress"})
    response = patch(crm, pk, {"severity": 5, "colour": "red"}, HTTP_IF_MATCH=stale)
    assert assert_error(response, 412)["code"] == "precondition_failed"
    fresh = crm.get(f"{BASE}/troubleTicket/{pk}")["ETag"]
    assert_error(patch(crm, pk, {"severity": 5}, HTTP_IF_MATCH=fresh), 400, "severity")  # current: the body's error
    assert_error(patch(crm, 999999, {"severity": 5}, HTTP_IF_MATCH=stale), 404)  # no such ticket: no precondition


def test_a_stale_if_match_on_delete_is_412(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    patch(crm, pk, {"note": [{"text": "x"}]})
    current = crm.get(f"{BASE}/troubleTicket/{pk}")["ETag"]
    patch(crm, pk, {"status": "inProgress"})
    assert_error(crm.delete(f"{BASE}/troubleTicket/{pk}", HTTP_IF_MATCH=current), 412)
    assert Ticket.objects.get(pk=pk).status == Status.DISPATCHED
    fresh = crm.get(f"{BASE}/troubleTicket/{pk}")["ETag"]
    assert crm.delete(f"{BASE}/troubleTicket/{pk}", HTTP_IF_MATCH=fresh).status_code == 204


# --- lastUpdate moves with every change made through the API ----------------------------------------------


@pytest.mark.parametrize("kind", ["note", "attachment", "relationship"])
def test_a_note_attachment_or_link_moves_last_update(world: World, crm, kind) -> None:
    other = create(crm, world, ticketType="consultation").json()["id"]  # not a repeat: no link yet
    pk = create(crm, world).json()["id"]
    long_ago = timezone.now() - dt.timedelta(days=2)
    Ticket.objects.filter(pk=pk).update(updated_at=long_ago)
    body = {
        "note": {"note": [{"text": "跟进"}]},
        "attachment": {"attachment": [{"name": "a.pdf", "mimeType": "application/pdf",
                                       "content": base64.b64encode(b"%PDF-1.4 x").decode()}]},
        "relationship": {"troubleTicketRelationship": [{"id": other, "relationshipType": "relatedTo"}]},
    }[kind]
    response = patch(crm, pk, body)
    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=pk).updated_at > long_ago + dt.timedelta(days=1)
    assert dt.datetime.fromisoformat(response.json()["lastUpdate"]) > long_ago + dt.timedelta(days=1)
    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    assert pk in [t["id"] for t in crm.get(f"{BASE}/troubleTicket", {"lastUpdate.gt": since}).json()]


def test_a_new_relationship_type_to_an_already_linked_ticket_is_not_skipped(world: World, crm) -> None:
    """The second complaint of a customer isRepeatOf the first; marking it isDuplicateOf that one is a new link,
    not an echo of the repeat link (was: 200 and nothing linked)."""
    first = create(crm, world).json()["id"]
    second = create(crm, world).json()
    assert [(r["id"], r["relationshipType"]) for r in second["troubleTicketRelationship"]] == [(first, "isRepeatOf")]
    response = patch(crm, second["id"], {"troubleTicketRelationship": [
        *second["troubleTicketRelationship"], {"id": first, "relationshipType": "isDuplicateOf"}]})
    assert response.status_code == 200, response.content
    assert {(r["id"], r["relationshipType"]) for r in response.json()["troubleTicketRelationship"]} == {
        (first, "isRepeatOf"), (first, "isDuplicateOf")}
    # Sent back again: nothing new.
    again = patch(crm, second["id"], {"troubleTicketRelationship": response.json()["troubleTicketRelationship"]})
    assert again.status_code == 200 and len(again.json()["troubleTicketRelationship"]) == 2


# --- statusChangeReason is used or refused, never dropped ---------------------------------------------------


def test_create_in_progress_with_a_reason_makes_it_the_dispatch_note(world: World, crm) -> None:
    response = create(crm, world, status="inProgress", statusChangeReason="请网维尽快上站")
    assert response.status_code == 201, response.content
    dispatch = TicketEvent.objects.get(ticket_id=response.json()["id"], kind="dispatch")
    assert dispatch.note == "请网维尽快上站"
    assert response.json()["statusChangeReason"] == "请网维尽快上站"
    assert response.json()["statusChange"][-1]["changeReason"] == "请网维尽快上站"


@pytest.mark.parametrize("overrides", [{}, {"status": "acknowledged"}])
def test_create_with_a_reason_but_no_status_change_is_400(world: World, crm, overrides) -> None:
    assert_error(create(crm, world, statusChangeReason="没有状态变化的理由", **overrides), 400, "statusChangeReason")
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("extra", [
    {},
    {"status": "acknowledged"},  # the status it has: no change to carry the reason
    {"note": [{"text": "备注"}]},
    "same committed time",
])
def test_patch_with_a_reason_nothing_uses_is_400_and_changes_nothing(world: World, crm, extra) -> None:
    created = create(crm, world).json()
    pk = created["id"]
    if extra == "same committed time":
        extra = {"expectedResolutionDate": created["expectedResolutionDate"]}
    response = patch(crm, pk, {"statusChangeReason": "会被丢掉的理由", **extra})
    assert_error(response, 400, "statusChangeReason")
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.version == 1 and list(ticket.events.values_list("kind", flat=True)) == ["create"]


def test_patch_reason_with_a_status_change_or_a_new_committed_time_is_kept(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    when = (timezone.now() + dt.timedelta(days=5)).replace(microsecond=0)
    assert patch(crm, pk, {"expectedResolutionDate": when.isoformat(), "statusChangeReason": "客户同意延期"}
                 ).status_code == 200
    assert TicketEvent.objects.get(ticket_id=pk, kind="commit_time").note == "客户同意延期"
    body = patch(crm, pk, {"status": "inProgress", "statusChangeReason": "请处理"}).json()
    assert body["statusChangeReason"] == "请处理"


# --- attributes that LoopDesk cannot honour are refused, not dropped ----------------------------------------


@pytest.mark.parametrize(("overrides", "field"), [
    ({"relatedParty": [{"id": "13912345678", "role": "customer"}, {"id": "zhangsan", "role": "handler"}]},
     "relatedParty[1].role"),
    ({"note": [{"text": "x", "author": "张三"}]}, "note[0].author"),
    ({"note": [{"text": "x", "date": "2026-01-01T00:00:00+08:00"}]}, "note[0].date"),
])
def test_create_with_an_attribute_that_would_be_ignored_is_400(world: World, crm, overrides, field) -> None:
    assert_error(create(crm, world, **overrides), 400, field)
    assert Ticket.objects.count() == 0


def test_patch_with_a_new_note_author_or_date_is_400(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    assert_error(patch(crm, pk, {"note": [{"text": "x", "author": "张三"}]}), 400, "note[0].author")
    assert TicketEvent.objects.filter(ticket_id=pk).count() == 1


def test_a_relationship_to_the_ticket_itself_is_400_naming_the_tmf_attribute(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    body = assert_error(patch(crm, pk, {"troubleTicketRelationship": [{"id": pk, "relationshipType": "relatedTo"}]}),
                        400, "troubleTicketRelationship")
    assert "other" not in body["errors"]


def test_a_ticket_has_one_parent_and_no_parent_cycle(world: World, crm) -> None:
    first = create(crm, world, ticketType="fault").json()["id"]
    second = create(crm, world, ticketType="suggestion").json()["id"]
    child = create(crm, world, troubleTicketRelationship=[{"id": first, "relationshipType": "isChild"}]).json()["id"]
    # A second parent: was 200, the parent replaced and both shown as isChild.
    assert_error(patch(crm, child, {"troubleTicketRelationship": [{"id": second, "relationshipType": "isChild"}]}),
                 400, "troubleTicketRelationship")
    assert_error(patch(crm, second, {"troubleTicketRelationship": [{"id": child, "relationshipType": "isParent"}]}),
                 400, "troubleTicketRelationship")
    assert Ticket.objects.get(pk=child).parent_id == int(first)
    # The parent made a child of its own child: was 200, a cycle.
    assert_error(patch(crm, first, {"troubleTicketRelationship": [{"id": child, "relationshipType": "isChild"}]}),
                 400, "troubleTicketRelationship")
    assert Ticket.objects.get(pk=first).parent_id is None
    rels = crm.get(f"{BASE}/troubleTicket/{child}").json()["troubleTicketRelationship"]
    assert [r["id"] for r in rels if r["relationshipType"] == "isChild"] == [first]


@pytest.mark.parametrize("api", ["tmf", "own"])
def test_a_token_limited_to_units_outside_its_users_unit_cannot_register(world: World, api) -> None:
    """The agent works in Jiangmen; a token limited to Zhuhai would register tickets outside its own scope (the
    /api/ create answered 500 reading it back; TMF621 answered 201 and then 404 for it)."""
    client = client_for(issue_token(world.users["agent"], units=[world.units["zh"]]))
    if api == "tmf":
        response = create(client, world)
    else:
        response = client.post("/api/tickets/", {
            "msisdn": "139 1234 5678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
            "channel": "hotline", "description": "室内无信号"}, format="json")
    assert response.status_code == 403, response.content
    assert Ticket.objects.count() == 0
    inside = client_for(issue_token(world.users["agent"], units=[world.units["jm"]]))
    assert create(inside, world).status_code == 201


def test_a_unit_limited_token_keeps_seeing_a_ticket_its_units_handled(world: World, crm) -> None:
    """OSS limited to the network department replies: the ticket goes back to the front line, and the reply's
    own 200 (was 404 after the change was made) and later reads still show it, as they do for the user."""
    pk = create(crm, world, status="inProgress").json()["id"]
    oss = client_for(issue_token(world.users["specialist"], system="OSS", units=[world.units["netmaint"]]))
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=int(pk))
    response = patch(oss, pk, {"status": "resolved", "statusChangeReason": "已调整天线"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    assert oss.get(f"{BASE}/troubleTicket/{pk}").status_code == 200
    assert [t["id"] for t in oss.get(f"{BASE}/troubleTicket").json()] == [pk]
    # A unit that never had it still does not see it.
    other = client_for(issue_token(world.users["admin"], units=[world.units["zh"]]))
    assert_error(other.get(f"{BASE}/troubleTicket/{pk}"), 404)


def test_fields_naming_nothing_is_400(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    assert_error(crm.get(f"{BASE}/troubleTicket/{pk}", {"fields": ","}), 400, "fields")
    assert_error(crm.get(f"{BASE}/troubleTicket", {"fields": " , "}), 400, "fields")


def test_the_external_id_a_system_without_its_own_received_may_be_echoed(world: World, crm) -> None:
    """OSS reads a CRM ticket (externalId shows CRM's id: OSS has none) and sends the attribute back unchanged
    with its note (merge patch): was a 400 "only when registered"."""
    pk = create(crm, world, externalId="CRM-1").json()["id"]
    oss = client_for(issue_token(world.users["agent"], system="OSS"))
    shown = oss.get(f"{BASE}/troubleTicket/{pk}").json()["externalId"]
    assert shown == "CRM-1"
    response = patch(oss, pk, {"externalId": shown, "note": [{"text": "网管已收到"}]})
    assert response.status_code == 200, response.content
    assert list(Ticket.objects.get(pk=pk).external_refs.values_list("system", "external_id")) == [("CRM", "CRM-1")]
    # Another id is still refused.
    assert_error(patch(oss, pk, {"externalId": "OSS-5"}), 400, "externalId")


def test_the_resource_get_returned_may_be_sent_back_whole_externalid_null_and_all(world: World, crm) -> None:
    """A client sends back what GET gave it, minus the server-set attributes (merge patch): a ticket without an
    external id shows externalId null, which was a 400 "may not be null"."""
    pk = create(crm, world, note=[{"text": "客户很着急"}]).json()["id"]
    body = crm.get(f"{BASE}/troubleTicket/{pk}").json()
    assert body["externalId"] is None
    for name in ("id", "href", "creationDate", "lastUpdate", "statusChange", "statusChangeDate", "resolutionDate",
                 "characteristic", "relatedParty", "relatedEntity", "@type"):
        del body[name]
    response = patch(crm, pk, body)
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.version == 1 and not ticket.external_refs.exists()
    assert TicketEvent.objects.filter(ticket_id=pk, kind="note").count() == 1
    # null asks to remove an id the ticket has: refused, not silently kept.
    other = create(crm, world, externalId="CRM-9").json()["id"]
    assert_error(patch(crm, other, {"externalId": None}), 400, "externalId")
    assert list(Ticket.objects.get(pk=other).external_refs.values_list("external_id", flat=True)) == ["CRM-9"]


def test_an_echoed_note_cannot_change_who_may_see_it(world: World, crm) -> None:
    """An internal note sent back as CustomerNote would have been skipped as an echo: the customer would not see
    what the integrator thinks it showed."""
    pk, body = _note_and_attachment(world, crm)
    assert body["note"][0]["@type"] == "InternalNote"
    assert_error(patch(crm, pk, {"note": [{**body["note"][0], "@type": "CustomerNote"}]}), 400, "note[0].@type")
    assert patch(crm, pk, {"note": body["note"]}).status_code == 200


@pytest.mark.parametrize("note_type", ["customerNote", "PublicNote", ""])
def test_a_new_note_of_an_unknown_type_is_400_not_made_internal(world: World, crm, note_type) -> None:
    assert_error(create(crm, world, note=[{"text": "请告知客户", "@type": note_type}]), 400, "note[0].@type")
    assert Ticket.objects.count() == 0
    pk = create(crm, world).json()["id"]
    assert_error(patch(crm, pk, {"note": [{"text": "请告知客户", "@type": note_type}]}), 400, "note[0].@type")
    for ok in ("Note", "InternalNote", "CustomerNote"):
        assert patch(crm, pk, {"note": [{"text": ok, "@type": ok}]}).status_code == 200


def test_a_long_status_change_reason_comes_back_whole(world: World, crm) -> None:
    """A reason may be up to 4,000 characters; GET cut it to 500 without saying so."""
    reason = "客户所在小区基站已扩容，" * 80  # 960 characters
    pk = create(crm, world).json()["id"]
    body = patch(crm, pk, {"status": "cancelled", "statusChangeReason": reason}).json()
    assert body["statusChangeReason"] == reason
    assert body["statusChange"][-1]["changeReason"] == reason


def test_the_reason_get_shows_may_be_echoed_with_the_status_it_has(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    shown = patch(crm, pk, {"status": "inProgress", "statusChangeReason": "请网维处理"}).json()
    echo = {"status": shown["status"], "statusChangeReason": shown["statusChangeReason"], "note": [{"text": "补充"}]}
    response = patch(crm, pk, echo)
    assert response.status_code == 200, response.content
    assert [n["text"] for n in response.json()["note"]] == ["补充"]
    assert_error(patch(crm, pk, {**echo, "statusChangeReason": "另一个理由"}), 400, "statusChangeReason")


def test_the_resource_echoed_with_a_note_does_not_answer_the_customer(world: World, crm, oss) -> None:
    """Replied shows resolved with the handler's reply as the reason; the front line sending the resource back with
    a new note answered the customer with the reply's text (the replied → resolved row ran on the echo)."""
    pk = create(crm, world, status="inProgress").json()["id"]
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=Ticket.objects.get(pk=pk))
    assert patch(oss, pk, {"status": "resolved", "statusChangeReason": "已调整天线"}).status_code == 200
    body = crm.get(f"{BASE}/troubleTicket/{pk}").json()
    assert (body["status"], body["statusChangeReason"]) == ("resolved", "已调整天线")
    for name in ("id", "href", "creationDate", "lastUpdate", "statusChange", "statusChangeDate", "resolutionDate",
                 "characteristic", "relatedParty", "relatedEntity", "@type"):
        del body[name]
    body["note"] = [*body["note"], {"text": "客户来电询问进度"}]
    response = patch(crm, pk, body)
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.status == Status.REPLIED and not ticket.answer
    assert [n["text"] for n in response.json()["note"]] == ["客户来电询问进度"]
    # A new reason with the status is the answer, as before.
    assert patch(crm, pk, {"status": "resolved", "statusChangeReason": "已告知客户"}).status_code == 200
    assert Ticket.objects.get(pk=pk).status == Status.ANSWERED


def test_the_external_id_filter_matches_what_get_shows_that_system(world: World, crm) -> None:
    """A ticket with CRM id A and OSS id 1001 shows CRM externalId A: CRM filtering on 1001 must not find it
    (was: any system's id matched)."""
    from loopdesk.tickets.models import ExternalRef

    oss = client_for(issue_token(world.users["agent"], system="OSS"))
    hq = client_for(issue_token(world.users["agent"], system="HQ"))
    both = create(crm, world, externalId="A").json()["id"]
    ExternalRef.objects.create(ticket_id=both, system="OSS", external_id="1001")
    mine = create(crm, world, externalId="1001", ticketType="fault").json()["id"]
    assert [t["id"] for t in crm.get(f"{BASE}/troubleTicket", {"externalId": "1001"}).json()] == [mine]
    # OSS has an id only on the first; the second shows it CRM's 1001 (no OSS id of its own there): both.
    assert [t["id"] for t in oss.get(f"{BASE}/troubleTicket", {"externalId": "1001", "sort": "id"}).json()] == [
        both, mine]
    assert [t["id"] for t in crm.get(f"{BASE}/troubleTicket", {"externalId": "A"}).json()] == [both]
    # Whatever each system filters on is what its GET shows.
    for client in (crm, oss, hq):
        for value in ("1001", "A"):
            for t in client.get(f"{BASE}/troubleTicket", {"externalId": value}).json():
                assert t["externalId"] == value


@pytest.mark.parametrize("params", [{"field": "status"}, {"fields": "status", "colour": "red"}])
def test_an_unknown_query_parameter_on_retrieve_is_400_as_on_list(world: World, crm, params) -> None:
    """`field=status` (a typo of fields) returned the whole ticket as if nothing had been asked."""
    pk = create(crm, world).json()["id"]
    name = next(k for k in params if k != "fields")
    assert_error(crm.get(f"{BASE}/troubleTicket/{pk}", params), 400, name)
    assert_error(crm.get(f"{BASE}/troubleTicket", params), 400, name)


def test_related_party_role_tells_a_handler_unit_from_the_customer(world: World, crm) -> None:
    dispatched = create(crm, world, status="inProgress").json()
    waiting = create(crm, world, relatedParty=[{"id": "13800000001", "role": "customer"}]).json()
    unit = next(p for p in dispatched["relatedParty"] if p["role"] == "handler")
    assert unit["@referredType"] == "Organization" and unit["id"] == str(world.units["netmaint"].pk)

    def ids(**params):
        response = crm.get(f"{BASE}/troubleTicket", {**params, "sort": "id"})
        assert response.status_code == 200, response.content
        return [t["id"] for t in response.json()]

    netmaint = str(world.units["netmaint"].pk)
    assert ids(**{"relatedParty.id": netmaint, "relatedParty.role": "handler"}) == [dispatched["id"]]
    assert ids(**{"relatedParty.id": netmaint, "relatedParty.role": "Handler",
                  "relatedParty.@referredType": "Organization"}) == [dispatched["id"]]
    assert ids(**{"relatedParty.id": netmaint, "relatedParty.role": "handler",
                  "relatedParty.@referredType": "Individual"}) == []
    agent = str(world.users["agent"].pk)
    assert ids(**{"relatedParty.id": agent, "relatedParty.role": "firstResponder"}) == [dispatched["id"],
                                                                                        waiting["id"]]
    customer = next(p["id"] for p in waiting["relatedParty"] if p["role"] == "customer")
    assert ids(**{"relatedParty.id": customer, "relatedParty.role": "customer"}) == [waiting["id"]]
    assert ids(**{"relatedParty.id": "13800000001", "relatedParty.role": "customer"}) == [waiting["id"]]
    # Not the customer with the unit's id (ids of customers, staff and units are counted apart).
    assert ids(**{"relatedParty.id": customer, "relatedParty.role": "handler"}) == (
        [dispatched["id"]] if customer == netmaint else [])
    assert_error(crm.get(f"{BASE}/troubleTicket", {"relatedParty.id": netmaint, "relatedParty.role": "boss"}), 400,
                 "relatedParty.role")
    assert_error(crm.get(f"{BASE}/troubleTicket", {"relatedParty.role": "handler"}), 400, "relatedParty.role")
    assert_error(crm.get(f"{BASE}/troubleTicket", {"relatedParty.id": "x", "relatedParty.role": "handler"}), 400,
                 "relatedParty.id")


def test_a_category_code_no_category_has_is_a_400_not_an_empty_list(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    code = world.categories["indoor"].code
    assert [t["id"] for t in crm.get(f"{BASE}/troubleTicket", {"relatedEntity.id": code}).json()] == [pk]
    body = assert_error(crm.get(f"{BASE}/troubleTicket", {"relatedEntity.id": f"{code},NO-SUCH-CODE"}), 400,
                        "relatedEntity.id")
    assert "NO-SUCH-CODE" in body["message"] and code not in body["message"].replace("relatedEntity.id", "")


def test_the_related_party_id_get_shows_can_be_filtered_on(world: World, crm) -> None:
    """GET shows the customer as relatedParty id = customer id (the number is masked); filtering on that id was a
    400 "enter a valid mobile number". The number works as before."""
    first = create(crm, world).json()
    create(crm, world, relatedParty=[{"id": "13800000001", "role": "customer"}])
    customer_id = next(p["id"] for p in first["relatedParty"] if p["role"] == "customer")
    for value in (customer_id, "13912345678"):
        assert [t["id"] for t in crm.get(f"{BASE}/troubleTicket", {"relatedParty.id": value}).json()] == [first["id"]]
    assert_error(crm.get(f"{BASE}/troubleTicket", {"relatedParty.id": "abc"}), 400, "relatedParty.id")


@pytest.mark.parametrize(("path", "params"), [
    ("troubleTicket", {"limit": "²"}), ("troubleTicket", {"offset": "١٢"}), ("troubleTicket", {"id": "²"}),
    ("troubleTicket", {"relatedParty.id": "²"}), ("troubleTicket/²", {}), ("troubleTicket/١", {}),
])
def test_digits_that_are_not_ascii_are_no_server_error(world: World, crm, path, params) -> None:
    """str.isdigit() is true for "²" and "١", which int() refuses or reads as another number: a 500 before."""
    create(crm, world)
    response = crm.get(f"{BASE}/{path}", params)
    assert response.status_code in (200, 400, 404), response.content
    if response.status_code == 200 and isinstance(response.json(), list):
        assert response.json() == [] or "id" not in params
    assert response.status_code != 200 or path == "troubleTicket"  # "١" is not ticket 1


def test_if_match_is_lenient_about_weak_and_unquoted_etags_but_not_half_quoted(world: World, crm) -> None:
    """Documented in docs/tmf621.md: a proxy that compresses the response weakens the ETag (`W/"2"`) and a client
    sends back what it received, so a weak or a bare version matches as the quoted one; a half-quoted one is bad."""
    pk = create(crm, world).json()["id"]
    version = int(crm.get(f"{BASE}/troubleTicket/{pk}")["ETag"].strip('"'))
    assert patch(crm, pk, {"note": [{"text": "甲"}]}, HTTP_IF_MATCH=f'W/"{version}"').status_code == 200
    assert patch(crm, pk, {"note": [{"text": "乙"}]}, HTTP_IF_MATCH=str(version)).status_code == 200
    assert_error(patch(crm, pk, {"note": [{"text": "丙"}]}, HTTP_IF_MATCH=f'W/"{version + 1}"'), 412)
    for broken in (f'"{version}', f'{version}"', f'w/"{version}"', f'W/{version}', 'W/""', '""', f'W/"", "{version}'):
        assert_error(patch(crm, pk, {"note": [{"text": "丁"}]}, HTTP_IF_MATCH=broken), 400, "If-Match")
    assert TicketEvent.objects.filter(ticket_id=pk, kind="note").count() == 2


def test_non_ascii_digits_in_if_match_and_our_api_ids_are_no_server_error(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    assert_error(patch(crm, pk, {"note": [{"text": "x"}]}, HTTP_IF_MATCH='"²"'), 400, "If-Match")
    for path in ("/api/tickets/²/", "/api/customers/²/", "/api/tickets/１/"):
        assert crm.get(path).status_code == 404


def test_names_of_the_category_and_handling_unit_follow_the_request_language(world: World, crm) -> None:
    """As the channel's name and our own API do: English names with Accept-Language: en, Chinese without."""
    pk = create(crm, world, status="inProgress", statusChangeReason="请处理").json()["id"]
    ticket = Ticket.objects.select_related("category", "handler_unit").get(pk=pk)
    en = crm.get(f"{BASE}/troubleTicket/{pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    zh = crm.get(f"{BASE}/troubleTicket/{pk}", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert en["relatedEntity"][0]["name"] == ticket.category.name_en != zh["relatedEntity"][0]["name"]
    assert zh["relatedEntity"][0]["name"] == ticket.category.name
    handler_en = next(p for p in en["relatedParty"] if p["@referredType"] == "Organization")
    handler_zh = next(p for p in zh["relatedParty"] if p["@referredType"] == "Organization")
    assert handler_en["name"] == ticket.handler_unit.name_en != handler_zh["name"] == ticket.handler_unit.name
    listed = crm.get(f"{BASE}/troubleTicket", {"fields": "relatedEntity"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert listed[0]["relatedEntity"][0]["name"] == ticket.category.name_en


def test_a_lowered_rate_still_answers_429_with_retry_after(world: World) -> None:
    """An administrator lowers a busy token's rate: the requests counted under the old rate exceed the new one, and
    the 429 must still say when to come back (DRF's estimate gave none, so no Retry-After)."""
    from loopdesk.tmf.models import ApiToken

    client = client_for(issue_token(world.users["agent"], rate=5))
    assert [client.get(f"{BASE}/troubleTicket").status_code for _ in range(5)] == [200] * 5
    ApiToken.objects.update(rate_per_minute=2)
    response = client.get(f"{BASE}/troubleTicket")
    assert_error(response, 429)
    assert 0 < int(response["Retry-After"]) <= 60


def test_a_read_only_admin_user_may_neither_reissue_tokens_nor_retry_dead_messages(world: World) -> None:
    """An auditor (every view_ permission, read-only) could run the admin actions: reissuing a token showed them a
    working token of the integration (and cut the integration off); retrying dead messages re-sent SMS and events."""
    from django.contrib.auth.models import Permission
    from django.test import Client
    from django.utils import timezone

    from loopdesk.org.models import User
    from loopdesk.outbox.models import OutboxMessage, OutboxStatus
    from loopdesk.tmf.models import ApiToken

    raw = issue_token(world.users["agent"])
    token = ApiToken.objects.get()
    dead = OutboxMessage.objects.create(channel="sms", topic="ack", dedupe_key="k1", status=OutboxStatus.DEAD,
                                        attempts=8, not_before=timezone.now(), created_at=timezone.now())
    auditor = User.objects.create_user("auditor-staff", password="x-long-pass-2026", is_staff=True)
    auditor.user_permissions.set(Permission.objects.filter(
        content_type__app_label__in=["tmf", "outbox"], codename__startswith="view_"))
    client = Client()
    client.force_login(auditor)
    assert client.get("/admin/tmf/apitoken/").status_code == 200  # may look
    response = client.post("/admin/tmf/apitoken/", {"action": "regenerate", "_selected_action": [token.pk]},
                           follow=True, HTTP_ACCEPT_LANGUAGE="en")
    token.refresh_from_db()
    assert token.matches(raw) and "shown only this once" not in response.content.decode()
    client.post("/admin/outbox/outboxmessage/", {"action": "retry", "_selected_action": [dead.pk]})
    dead.refresh_from_db()
    assert dead.status == OutboxStatus.DEAD
    # An administrator (change permission) still may.
    auditor.user_permissions.add(*Permission.objects.filter(codename__in=["change_apitoken", "change_outboxmessage"]))
    client.post("/admin/tmf/apitoken/", {"action": "regenerate", "_selected_action": [token.pk]})
    client.post("/admin/outbox/outboxmessage/", {"action": "retry", "_selected_action": [dead.pk]})
    token.refresh_from_db()
    dead.refresh_from_db()
    assert not token.matches(raw) and dead.status == OutboxStatus.PENDING


def test_a_read_only_admin_user_does_not_see_a_subscriptions_signing_secret(world: World) -> None:
    """With the secret, an auditor (view permissions only) could sign forged events that the receiver accepts."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    from loopdesk.org.models import User
    from loopdesk.tmf.models import EventSubscription

    sub = EventSubscription.objects.create(name="HQ", callback="https://hq.example.com/events",
                                           secret="s3cret-signing-key-of-hq")
    staff = User.objects.create_user("auditor-staff", password="x-long-pass-2026", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_eventsubscription"))
    client = Client()
    client.force_login(staff)
    page = client.get(f"/admin/tmf/eventsubscription/{sub.pk}/change/")
    assert page.status_code == 200 and "hq.example.com" in page.content.decode()
    assert "s3cret-signing-key-of-hq" not in page.content.decode()
    staff.user_permissions.add(Permission.objects.get(codename="change_eventsubscription"))
    client.force_login(User.objects.get(pk=staff.pk))
    assert "s3cret-signing-key-of-hq" in client.get(f"/admin/tmf/eventsubscription/{sub.pk}/change/").content.decode()


def test_issue_api_token_command_sets_an_expiry_and_refuses_a_bad_one(world: World) -> None:
    """Tokens expire (the admin sets it); the command could only issue tokens that never do."""
    import datetime as dt
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django.utils import timezone

    from loopdesk.tmf.models import ApiToken

    for bad in ("next week", "2026-02-30", "2001-01-01"):
        with pytest.raises(CommandError, match="--expires"):
            call_command("issue_api_token", name="HQ", system="HQ", user="supervisor", expires=bad)
    assert not ApiToken.objects.exists()
    out = StringIO()
    call_command("issue_api_token", name="HQ", system="HQ", user="supervisor", expires="2099-06-30", stdout=out)
    token = ApiToken.objects.get()
    assert timezone.localtime(token.expires_at).replace(tzinfo=None) == dt.datetime(2099, 6, 30)
    assert client_for(out.getvalue().strip()).get(f"{BASE}/troubleTicket").status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_error(client_for(out.getvalue().strip()).get(f"{BASE}/troubleTicket"), 401)


def test_resolution_and_status_change_dates_filter_with_gt_and_lt(world: World, crm) -> None:
    """Every date attribute of the resource filters (TMF REST guidelines): resolutionDate and statusChangeDate were
    400 'unknown filter', so 'resolved since yesterday' could not be asked; X-Total-Count counts what matched."""
    resolved = create(crm, world).json()
    other = create(crm, world).json()
    now = timezone.now()
    Ticket.objects.filter(pk=resolved["id"]).update(answered_at=now - dt.timedelta(hours=2),
                                                    replied_at=now - dt.timedelta(hours=3))
    TicketEvent.objects.filter(ticket_id=other["id"]).exclude(to_status="").update(
        created_at=now - dt.timedelta(days=3))
    shown = {x["id"]: x for x in crm.get(f"{BASE}/troubleTicket", {"fields": "resolutionDate,statusChangeDate"}).json()}
    hours_ago = (now - dt.timedelta(hours=2, minutes=30)).isoformat()
    response = crm.get(f"{BASE}/troubleTicket", {"resolutionDate.lt": hours_ago, "fields": "resolutionDate"})
    assert response.status_code == 200, response.content
    assert [x["id"] for x in response.json()] == [resolved["id"]]  # the earlier of replied and answered
    assert response["X-Total-Count"] == "1"
    assert crm.get(f"{BASE}/troubleTicket", {"resolutionDate.gt": hours_ago}).json() == []
    assert [x["id"] for x in crm.get(f"{BASE}/troubleTicket", {"resolutionDate.gte": shown[resolved["id"]][
        "resolutionDate"]}).json()] == [resolved["id"]]
    day_ago = (now - dt.timedelta(days=1)).isoformat()
    assert [x["id"] for x in crm.get(f"{BASE}/troubleTicket", {"statusChangeDate.lt": day_ago}).json()] == [other["id"]]
    assert [x["id"] for x in crm.get(f"{BASE}/troubleTicket", {"statusChangeDate.gt": day_ago}).json()] == [
        resolved["id"]]
    assert_error(crm.get(f"{BASE}/troubleTicket", {"resolutionDate.gt": "yesterday"}), 400, "resolutionDate.gt")

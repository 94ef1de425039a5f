"""Our own REST API: scoped lists and filters, keyset and offset pages, create and act through services with
optimistic locking, masked customers and the audited reveal, categories, units, routing preview, errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from django.core.cache import caches
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework.test import APIClient

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import World
from loopdesk.customers.models import Customer
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Category, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    caches["default"].clear()


def as_user(world: World, key: str) -> APIClient:
    client = APIClient()
    client.force_login(world.users[key])
    return client


def make(world: World, n: int = 1, **kwargs: Any) -> list[Ticket]:
    agent = world.user("agent")
    return [s.do_create_ticket(acting_user=agent, **world.ticket_kwargs(**kwargs)) for _ in range(n)]


def test_anonymous_is_refused(world: World) -> None:
    assert APIClient().get("/api/tickets/").status_code == 401


def test_list_is_scoped_by_policy(world: World) -> None:
    mine = make(world, 2)
    zh = s.do_create_ticket(acting_user=world.user("zh_agent"), **world.ticket_kwargs(customer=world.customer(
        region="ZH")))
    ids = {t["id"] for t in as_user(world, "agent").get("/api/tickets/").json()["results"]}
    assert ids == {t.pk for t in mine}
    assert {t["id"] for t in as_user(world, "zh_agent").get("/api/tickets/").json()["results"]} == {zh.pk}
    assert as_user(world, "specialist").get("/api/tickets/").json()["results"] == []
    assert as_user(world, "agent").get(f"/api/tickets/{zh.pk}/").status_code == 404


def test_keyset_pages_walk_everything_once_and_offset_pages_count(world: World) -> None:
    tickets = make(world, 5)
    client = as_user(world, "agent")
    seen: list[int] = []
    url = "/api/tickets/?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [t["id"] for t in page["results"]]
        url = page["next"]
    assert seen == sorted((t.pk for t in tickets), reverse=True)
    page = client.get("/api/tickets/", {"offset": 2, "limit": 2}).json()
    assert page["count"] == 5 and [t["id"] for t in page["results"]] == seen[2:4]


@pytest.mark.parametrize(("url", "params", "field"), [
    ("/api/tickets/", {"offset": "-1"}, "offset"), ("/api/tickets/", {"offset": "abc"}, "offset"),
    ("/api/tickets/", {"offset": "0", "limit": "0"}, "limit"),
    ("/api/tickets/", {"offset": "0", "limit": "²"}, "limit"),
    ("/api/tickets/", {"page_size": "ten"}, "page_size"), ("/api/customers/", {"page_size": "-5"}, "page_size"),
])
def test_bad_paging_parameters_are_a_400_naming_them(world: World, url: str, params: dict, field: str) -> None:
    make(world, 3)
    response = as_user(world, "supervisor").get(url, params)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


def test_a_page_size_above_the_maximum_gives_the_maximum(world: World) -> None:
    make(world, 3)
    client = as_user(world, "supervisor")
    assert len(client.get("/api/tickets/", {"page_size": "100000"}).json()["results"]) == 3
    assert client.get("/api/tickets/", {"offset": "0", "limit": "100000"}).json()["count"] == 3


def test_filters(world: World) -> None:
    fault = make(world, contact_type="fault")[0]
    billing = make(world, category=world.categories["dispute"])[0]
    client = as_user(world, "agent")
    ids = lambda params: [t["id"] for t in client.get("/api/tickets/", params).json()["results"]]  # noqa: E731
    assert ids({"contact_type": "fault"}) == [fault.pk]
    assert ids({"category": world.categories["billing"].pk}) == [billing.pk]
    assert ids({"category": world.categories["basic"].pk}) == [fault.pk]
    assert client.get("/api/tickets/", {"status": "sleeping"}).status_code == 400


def test_detail_masks_the_customer_and_lists_allowed_actions(world: World) -> None:
    t = make(world)[0]
    body = as_user(world, "agent").get(f"/api/tickets/{t.pk}/").json()
    assert body["customer"]["msisdn"] == t.customer.masked_msisdn != t.customer.msisdn
    assert t.customer.msisdn not in str(body)
    assert "dispatch" in body["allowed_actions"] and body["timeline"][0]["kind"] == "create"


def test_create_through_the_service(world: World) -> None:
    client = as_user(world, "agent")
    response = client.post("/api/tickets/", {
        "msisdn": "139 1234 5678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
        "channel": "hotline", "description": "室内无信号", "dispatch": True}, format="json")
    assert response.status_code == 201, response.content
    t = Ticket.objects.get(pk=response.json()["id"])
    assert t.status == Status.DISPATCHED and t.customer.msisdn == "13912345678"
    assert t.first_responder == world.users["agent"]


@pytest.mark.parametrize(("body", "field"), [
    ({"msisdn": "12345"}, "msisdn"),
    ({"category": 999999}, "category"),
    ({"channel": "pigeon"}, "channel"),
    ({"description": ""}, "description"),
    ({"colour": "red"}, "colour"),
    ({"description": "无" * 4001}, "description"),  # MAX_DESCRIPTION is 4,000 characters
    ({"description": "无" * 3999 + "\U0001F4F6\U0001F4F6"}, "description"),  # 4,001 code points, two of them emoji
    ({"requested_resolution_at": "2020-01-01T09:00:00+08:00"}, "requested_resolution_at"),  # already past
    ({"committed_at": "9999-12-31T23:59:00+08:00"}, "committed_at"),  # years ahead: a mistyped year, not a promise
])
def test_bad_create_is_400_naming_the_field_and_stores_nothing(world: World, body, field) -> None:
    payload = {"msisdn": "13912345678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
               "channel": "hotline", "description": "室内无信号", **body}
    response = as_user(world, "agent").post("/api/tickets/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Ticket.objects.exists() and not Customer.objects.filter(msisdn="13912345678").exists()
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"description": 42}, "description"),
    ({"msisdn": 13912345678}, "msisdn"),
    ({"title": True}, "title"),
    ({"external_refs": {"CRM": 1001}}, "external_refs"),
])
def test_a_number_or_boolean_for_a_text_is_400_not_stored_as_text(world: World, body, field) -> None:
    payload = {"msisdn": "13912345678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
               "channel": "hotline", "description": "室内无信号", **body}
    response = as_user(world, "agent").post("/api/tickets/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][field] == ["Not a valid string."]
    assert not Ticket.objects.exists()
    t = make(world)[0]
    refused = as_user(world, "agent").post(f"/api/tickets/{t.pk}/actions/withdraw/", {"version": 1, "reason": 5},
                                           format="json")
    assert refused.status_code == 400 and "reason" in refused.json()["errors"]
    assert Ticket.objects.get(pk=t.pk).status == Status.NEW


def test_a_description_of_exactly_the_limit_is_stored_whole(world: World) -> None:
    text = "信" * 3999 + "\U0001F4F6"
    response = as_user(world, "agent").post("/api/tickets/", {
        "msisdn": "13912345678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
        "channel": "hotline", "description": text}, format="json")
    assert response.status_code == 201, response.content
    assert Ticket.objects.get(pk=response.json()["id"]).description == text


def test_field_errors_come_in_the_requests_language(world: World) -> None:
    client = as_user(world, "agent")
    en = client.post("/api/tickets/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    zh = client.post("/api/tickets/", {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    with translation.override("zh-hans"):
        required_zh = str(_("This field is required."))
    assert en["errors"]["description"] == ["This field is required."] != [required_zh]
    assert zh["errors"]["description"] == [required_zh]


def test_action_with_version_and_409_on_a_stale_version(world: World) -> None:
    t = make(world)[0]
    client = as_user(world, "agent")
    url = f"/api/tickets/{t.pk}/actions/dispatch/"
    ok = client.post(url, {"version": t.version, "to_unit": world.units["netmaint"].pk}, format="json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "dispatched" and ok.json()["version"] == t.version + 1
    stale = client.post(f"/api/tickets/{t.pk}/actions/withdraw/", {"version": t.version, "reason": "撤销"},
                        format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    assert Ticket.objects.get(pk=t.pk).status == Status.DISPATCHED


def test_action_errors(world: World) -> None:
    t = make(world)[0]
    client = as_user(world, "agent")
    assert client.post(f"/api/tickets/{t.pk}/actions/explode/", {"version": 1}, format="json").status_code == 404
    assert "version" in client.post(f"/api/tickets/{t.pk}/actions/accept/", {}, format="json").json()["errors"]
    wrong_state = client.post(f"/api/tickets/{t.pk}/actions/close/", {"version": 1}, format="json")
    assert wrong_state.status_code == 409 and wrong_state.json()["code"] == "invalid_transition"
    missing = client.post(f"/api/tickets/{t.pk}/actions/withdraw/", {"version": 1}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["errors"]
    unused = client.post(f"/api/tickets/{t.pk}/actions/accept/", {"version": 1, "verdict": "satisfied"},
                         format="json")
    assert unused.status_code == 400 and "verdict" in unused.json()["errors"]
    denied = as_user(world, "auditor").post(f"/api/tickets/{t.pk}/actions/withdraw/", {"version": 1,
                                                                                      "reason": "x"}, format="json")
    assert denied.status_code == 403
    assert Ticket.objects.get(pk=t.pk).status == Status.NEW


def test_customers_masked_and_reveal_is_audited(world: World) -> None:
    t = make(world)[0]
    client = as_user(world, "agent")
    listed = client.get("/api/customers/").json()["results"]
    assert [c["msisdn"] for c in listed] == [t.customer.masked_msisdn]
    looked_up = client.get("/api/customers/", {"msisdn": t.customer.msisdn}).json()["results"]
    assert [c["id"] for c in looked_up] == [t.customer.pk]
    revealed = client.post(f"/api/customers/{t.customer.pk}/reveal/", {"reason": "回访客户"}, format="json")
    assert revealed.json()["msisdn"] == t.customer.msisdn
    assert AuditLog.objects.filter(action="customer.reveal", object_id=str(t.customer.pk)).count() == 1
    assert client.post(f"/api/customers/{t.customer.pk}/reveal/", {}, format="json").status_code == 400
    assert [x["id"] for x in client.get(f"/api/customers/{t.customer.pk}/tickets/").json()] == [t.pk]


def test_a_customer_outside_the_scope_is_not_reached_by_id_alone(world: World) -> None:
    """A front-line user reached (and revealed) any customer of the province by id: only customers with a work order
    in scope, or the caller whose number they have (as the lookup and the desk's screen-pop)."""
    other = s.do_create_ticket(acting_user=world.user("zh_agent"), **world.ticket_kwargs(customer=world.customer(
        region="ZH")))
    stranger = other.customer
    client = as_user(world, "agent")
    assert client.get(f"/api/customers/{stranger.pk}/").status_code == 404
    assert client.get(f"/api/customers/{stranger.pk}/tickets/").status_code == 404
    assert client.post(f"/api/customers/{stranger.pk}/reveal/", {"reason": "好奇"}, format="json").status_code == 404
    assert not AuditLog.objects.filter(action="customer.reveal").exists()
    # With the number on the line: found, and revealed (audited), but not their tickets elsewhere.
    found = client.get(f"/api/customers/{stranger.pk}/", {"msisdn": stranger.msisdn})
    assert found.status_code == 200 and found.json()["msisdn"] == stranger.masked_msisdn
    revealed = client.post(f"/api/customers/{stranger.pk}/reveal/", {"reason": "来电", "msisdn": stranger.msisdn},
                           format="json")
    assert revealed.status_code == 200 and revealed.json()["msisdn"] == stranger.msisdn
    assert client.get(f"/api/customers/{stranger.pk}/tickets/", {"msisdn": stranger.msisdn}).json() == []
    # Another number does not open this customer.
    assert client.post(f"/api/customers/{stranger.pk}/reveal/", {"reason": "x", "msisdn": "13800000001"},
                       format="json").status_code == 404
    # A token limited to units sees the customers of its scope only, whatever its user's role.
    from loopdesk.tmf.tests.conftest import client_for, issue_token

    mine = make(world)[0]
    limited = client_for(issue_token(world.users["agent"], units=[world.user("agent").unit]))
    assert limited.get(f"/api/customers/{mine.customer_id}/").status_code == 200
    assert limited.get(f"/api/customers/{stranger.pk}/").status_code == 404


def test_reveal_refused_to_a_role_without_the_permission(world: World) -> None:
    t = make(world)[0]
    s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["netmaint"])
    response = as_user(world, "specialist").post(f"/api/customers/{t.customer.pk}/reveal/", {"reason": "x"},
                                                 format="json")
    assert response.status_code == 403
    assert not AuditLog.objects.filter(action="customer.reveal").exists()


def test_a_read_only_token_reveals_if_its_user_may(world: World) -> None:
    """A reveal is an audited read: a read-only token got 403 though its user may reveal; the reveal permission
    of the token's user still decides."""
    from loopdesk.tmf.tests.conftest import client_for, issue_token

    t = make(world)[0]
    url = f"/api/customers/{t.customer.pk}/reveal/"
    revealed = client_for(issue_token(world.users["agent"], write=False)).post(url, {"reason": "回访"}, format="json")
    assert revealed.status_code == 200 and revealed.json()["msisdn"] == t.customer.msisdn
    assert AuditLog.objects.filter(action="customer.reveal", object_id=str(t.customer.pk)).count() == 1
    s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["netmaint"])
    specialist = client_for(issue_token(world.users["specialist"], write=False))
    assert specialist.post(url, {"reason": "x"}, format="json").status_code == 403
    assert AuditLog.objects.filter(action="customer.reveal").count() == 1


def test_categories_units_and_routing_preview(world: World) -> None:
    client = as_user(world, "agent")
    codes = [c["code"] for c in client.get("/api/categories/").json()]
    assert codes[:3] == ["BASIC", "COVERAGE", "INDOOR"]
    names = client.get("/api/categories/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert names[0]["name"] == "basic"
    assert "CALL" in [u["code"] for u in client.get("/api/units/", {"page_size": 100}).json()["results"]]
    route = client.get("/api/routing/preview/", {"category": world.categories["indoor"].pk,
                                                  "contact_type": "fault", "channel": "hotline"}).json()
    assert route["unit_id"] == world.units["netopt"].pk
    assert route["unit"] == "网络优化中心"
    assert client.get("/api/routing/preview/", {"category": 0}).status_code == 400


def test_routing_preview_names_the_unit_in_the_requests_language(world: World) -> None:
    route = as_user(world, "agent").get("/api/routing/preview/", {
        "category": world.categories["indoor"].pk, "contact_type": "fault", "channel": "hotline"},
        HTTP_ACCEPT_LANGUAGE="en").json()
    assert route["unit"] == "netopt" and route["reason"].startswith("Matched routing rule"), route


def test_schema_and_docs_are_served(world: World) -> None:
    client = as_user(world, "agent")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/tickets/{id}/actions/{action_name}/" in paths
    assert "/tmf-api/troubleTicket/v4/troubleTicket/{id}" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


@pytest.mark.parametrize("category", [999999, "abc", "inactive"])
def test_an_unknown_category_is_a_clear_field_error(world: World, category: Any) -> None:
    if category == "inactive":
        retired = Category.objects.create(code="OLD", name="旧类目", is_active=False)
        category = retired.pk
    payload = {"msisdn": "13912345678", "contact_type": "complaint", "category": category,
               "channel": "hotline", "description": "室内无信号"}
    client = as_user(world, "agent")
    en = client.post("/api/tickets/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    message = en["errors"]["category"][0]
    assert "pk" not in message and "/api/categories/" in message, message
    zh = client.post("/api/tickets/", payload, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert "类目" in zh["errors"]["category"][0] and "/api/categories/" in zh["errors"]["category"][0]
    assert not Ticket.objects.exists()


def test_a_read_only_auditor_gets_403_for_any_action_even_with_a_stale_version(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(), dispatch=True)
    client = as_user(world, "auditor")
    for version in (t.version, t.version - 1, t.version + 5):
        response = client.post(f"/api/tickets/{t.pk}/actions/accept/", {"version": version}, format="json")
        assert response.status_code == 403, (version, response.content)
    t.refresh_from_db()
    assert t.status == Status.DISPATCHED and t.handler_user_id is None


def test_an_unknown_unit_in_an_action_or_preview_is_a_clear_field_error(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    client = as_user(world, "agent")
    for to_unit in (999999, "abc"):
        body = client.post(f"/api/tickets/{t.pk}/actions/dispatch/", {"version": t.version, "to_unit": to_unit},
                           format="json", HTTP_ACCEPT_LANGUAGE="en").json()
        assert "/api/units/" in body["errors"]["to_unit"][0]
    preview = client.get("/api/routing/preview/", {"category": world.categories["indoor"].pk,
                                                   "contact_type": "complaint", "channel": "hotline",
                                                   "branch": 999999}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert "/api/units/" in preview["errors"]["branch"][0]
    assert Ticket.objects.get(pk=t.pk).status == Status.NEW


@pytest.mark.parametrize("language, unknown, not_a_number", [
    ("en", "No active staff member has the id 999999.", "Give the staff member's numeric id."),
    ("zh-hans", "没有 ID 为 999999 的在职员工。", "请填写员工的数字 ID。")])
def test_an_unknown_user_in_an_action_is_a_clear_field_error(world: World, language: str, unknown: str,
                                                            not_a_number: str) -> None:
    """DRF's generic 'Invalid pk "999999" - object does not exist.', as units and categories had before."""
    t = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    client = as_user(world, "agent")
    for to_user, message in ((999999, unknown), ("abc", not_a_number)):
        response = client.post(f"/api/tickets/{t.pk}/actions/dispatch/", {"version": t.version, "to_user": to_user},
                               format="json", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400 and response.json()["errors"] == {"to_user": [message]}
    assert Ticket.objects.get(pk=t.pk).status == Status.NEW


def test_every_refusal_has_the_documented_code_and_message(world: World) -> None:
    """Not only the services' errors: the framework's 401, 403, 404, 405 and 429 too (were {"detail": ...} only)."""
    from loopdesk.tmf.tests.conftest import client_for, issue_token

    t = make(world)[0]
    client = as_user(world, "agent")
    read_only = client_for(issue_token(world.users["agent"], write=False))
    cases = [
        (APIClient().get("/api/tickets/"), 401, "not_authenticated"),
        (client_for("ld_nope_nope").get("/api/tickets/"), 401, "authentication_failed"),
        (read_only.post(f"/api/tickets/{t.pk}/actions/dispatch/", {"version": 1}, format="json"), 403,
         "permission_denied"),
        (client.get("/api/tickets/999999/"), 404, "not_found"),
        (client.get("/api/customers/999999/"), 404, "not_found"),
        (client.post(f"/api/tickets/{t.pk}/actions/explode/", {"version": 1}, format="json"), 404, "not_found"),
        (client.delete(f"/api/tickets/{t.pk}/"), 405, "method_not_allowed"),
    ]
    slow = client_for(issue_token(world.users["agent"], rate=1, system="SLOW"))
    slow.get("/api/categories/")
    cases.append((slow.get("/api/categories/", HTTP_ACCEPT_LANGUAGE="en"), 429, "throttled"))
    for response, status, code in cases:
        assert response.status_code == status, response.content
        body = response.json()
        assert body["code"] == code and body["message"], body
    assert cases[-1][0]["Retry-After"] and "throttled" in cases[-1][0].json()["message"]
    assert cases[0][0]["WWW-Authenticate"].startswith("Bearer")


def test_a_system_code_with_a_nul_character_is_a_400(world: World) -> None:
    """The system codes of external_refs (keys) were not checked: a server error on PostgreSQL."""
    payload = {"msisdn": "13912345678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
               "channel": "hotline", "description": "无信号", "external_refs": {"CRM\x00": "A-1"}}
    response = as_user(world, "agent").post("/api/tickets/", payload, format="json")
    assert response.status_code == 400, response.content
    assert "external_refs" in response.json()["errors"] and not Ticket.objects.exists()


def test_boolean_filters_read_1_and_0_and_refuse_anything_else(world: World) -> None:
    """is_open=0 (or =yes) was silently no filter: every work order."""
    open_one, closed_one = make(world, 2)
    s.do_withdraw_ticket(acting_user=world.user("agent"), ticket=closed_one, reason="客户撤诉")
    client = as_user(world, "agent")

    def ids(params: dict[str, str]) -> set[int]:
        response = client.get("/api/tickets/", params)
        assert response.status_code == 200, response.content
        return {t["id"] for t in response.json()["results"]}

    assert ids({"is_open": "true"}) == ids({"is_open": "1"}) == ids({"is_open": "True"}) == {open_one.pk}
    assert ids({"is_open": "false"}) == ids({"is_open": "0"}) == {closed_one.pk}
    assert ids({"is_open": ""}) == {open_one.pk, closed_one.pk}
    for bad in ("yes", "2", "maybe"):
        response = client.get("/api/tickets/", {"is_open": bad}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400 and "is_open" in response.json()["errors"], response.content
    assert client.get("/api/categories/", {"is_active": "yes"}).status_code == 400
    assert client.get("/api/units/", {"is_active": "nope"}).status_code == 400
    retired = Category.objects.create(code="OLD", name="旧类目", is_active=False)
    assert retired.pk in [c["id"] for c in client.get("/api/categories/", {"is_active": "0"}).json()]
    assert retired.pk not in [c["id"] for c in client.get("/api/categories/", {"is_active": "1"}).json()]


def test_an_unknown_query_parameter_is_a_400_naming_it(world: World) -> None:
    """?state=new (for status) silently listed every work order."""
    make(world)
    client = as_user(world, "agent")
    for url, params in (("/api/tickets/", {"state": "new"}), ("/api/categories/", {"active": "true"}),
                        ("/api/units/", {"code": "CALL"}), ("/api/customers/", {"phone": "13912345678"}),
                        (f"/api/tickets/{Ticket.objects.get().pk}/", {"fields": "id"})):
        response = client.get(url, params)
        assert response.status_code == 400, (url, response.content)
        assert list(response.json()["errors"]) == list(params)
    # What each endpoint reads is still accepted.
    for url, params in (("/api/tickets/", {"status": "new", "page_size": "5", "format": "json"}),
                        ("/api/tickets/", {"offset": "0", "limit": "5", "is_open": "1",
                                           "category": str(world.categories["indoor"].pk)}),
                        ("/api/customers/", {"msisdn": "13912345678"}), ("/api/units/", {"region": "JM"})):
        assert client.get(url, params).status_code == 200, (url, params)


def test_a_unit_to_dispatch_to_without_dispatch_is_a_400_not_dropped(world: World) -> None:
    payload = {"msisdn": "13912345678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
               "channel": "hotline", "description": "无信号", "dispatch_to": world.units["netmaint"].pk}
    client = as_user(world, "agent")
    response = client.post("/api/tickets/", payload, format="json")
    assert response.status_code == 400 and "dispatch_to" in response.json()["errors"], response.content
    assert not Ticket.objects.exists()
    response = client.post("/api/tickets/", {**payload, "dispatch": True}, format="json")
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().handler_unit == world.units["netmaint"]


def test_created_after_typed_with_a_plain_plus_reads_the_offset(world: World) -> None:
    """"+" in a query string is a space unless written %2B: "…T09:00:00+08:00" typed as it is was a 400."""
    import datetime as dt

    ticket = make(world)[0]
    local = ticket.created_at.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0, tzinfo=None)
    client = as_user(world, "agent")
    before = (local - dt.timedelta(minutes=1)).isoformat()
    after = (local + dt.timedelta(minutes=1)).isoformat()
    response = client.get(f"/api/tickets/?created_after={before}+08:00&created_before={after}+08:00")
    assert response.status_code == 200, response.content
    assert [t["id"] for t in response.json()["results"]] == [ticket.pk]
    assert client.get(f"/api/tickets/?created_after={after}+08:00").json()["results"] == []
    assert client.get(f"/api/tickets/?created_after={before}+08:00+1").status_code == 400


def test_routing_preview_reads_the_region_as_a_code_and_refuses_an_unknown_one(world: World) -> None:
    client = as_user(world, "agent")
    query = {"category": world.categories["indoor"].pk, "contact_type": "fault", "channel": "hotline"}
    lower = client.get("/api/routing/preview/", {**query, "region": " jm "}).json()
    assert lower["unit_id"] == world.units["netopt"].pk, lower
    unknown = client.get("/api/routing/preview/", {**query, "region": "QQ"}, HTTP_ACCEPT_LANGUAGE="en")
    assert unknown.status_code == 400 and "QQ" in unknown.json()["errors"]["region"][0], unknown.json()


def test_routing_preview_of_another_citys_branch_routes_in_that_city(world: World) -> None:
    """A Zhuhai customer's ticket is not sent to a Jiangmen room because a Jiangmen agent asks."""
    route = as_user(world, "agent").get("/api/routing/preview/", {
        "category": world.categories["indoor"].pk, "contact_type": "fault", "channel": "hotline",
        "branch": world.units["zh_call"].pk}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert route["unit_id"] != world.units["netopt"].pk, route
    # Zhuhai has no second-line room here: the preview says so instead of promising second-line support.
    assert route["unit_id"] is None and "ZH has no second-line" in route["reason"], route


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_body_that_is_not_json_or_too_large_is_a_field_error_on_body(world: World, settings: Any,
                                                                      language: str) -> None:
    """Malformed JSON was {"code": "parse_error"} with DRF's English text and no field; a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE an HTML "Bad Request (400)" page: now both the documented validation_error on
    `body`, in the request's language, and nothing stored."""
    t = make(world)[0]
    client = as_user(world, "agent")
    with translation.override(language):
        not_json = str(_("The request body is not valid JSON (line %(line)d, column %(column)d).")
                       % {"line": 1, "column": 2})
        too_large = str(_("The request body is too large."))
    broken = client.post("/api/tickets/", data="{bad", content_type="application/json",
                         HTTP_ACCEPT_LANGUAGE=language)
    assert broken.status_code == 400
    assert broken.json() == {"code": "validation_error", "message": not_json, "field": "body",
                             "errors": {"body": [not_json]}}
    action = client.post(f"/api/tickets/{t.pk}/actions/withdraw/", data='{"version": 1, "reason": "x",}',
                         content_type="application/json", HTTP_ACCEPT_LANGUAGE=language)
    assert action.status_code == 400 and action.json()["field"] == "body"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    big = client.post(f"/api/tickets/{t.pk}/actions/withdraw/", data={"version": t.version, "reason": "x" * 200},
                      format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert big.status_code == 400 and big["Content-Type"] == "application/json"
    assert big.json()["errors"] == {"body": [too_large]}
    assert Ticket.objects.get(pk=t.pk).status == Status.NEW


@pytest.mark.parametrize("url", ["/api/tickets/", "/api/units/", "/api/customers/"])
def test_a_broken_cursor_is_a_400_naming_it_not_a_404(world: World, url: str) -> None:
    """A cursor cut short or edited by hand answered 404 "Invalid cursor", as if the list did not exist; it is bad
    input: a 400 naming `cursor`, in the request's language."""
    make(world, 3)
    client = as_user(world, "supervisor")
    following = client.get(url, {"page_size": 1}).json()["next"]
    assert following and "cursor=" in following
    cursor = unquote(following.split("cursor=", 1)[1].split("&", 1)[0]).rstrip("=")
    # Cut short to one character past a multiple of four: never base64, whatever the cursor was (cutting one
    # character of "...Nw%3D%3D" could still decode to another valid position).
    broken = cursor[: len(cursor) - (len(cursor) - 1) % 4]
    assert len(broken) % 4 == 1
    for language in ("en", "zh-hans"):
        response = client.get(url, {"cursor": broken}, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] == "validation_error" and body["field"] == "cursor"
        with translation.override(language):
            from rest_framework.pagination import CursorPagination
            assert body["errors"]["cursor"] == [str(CursorPagination.invalid_cursor_message)]
    assert client.get(following).status_code == 200


@pytest.mark.parametrize("language, message", [("en", "Give either offset or cursor, not both."),
                                               ("zh-hans", "offset 与 cursor 只能二选一，不能同时给出。")])
def test_offset_with_a_cursor_is_a_400_naming_both(world: World, language: str, message: str) -> None:
    """The offset page was answered and the cursor silently ignored."""
    make(world, 3)
    client = as_user(world, "supervisor")
    following = client.get("/api/tickets/", {"page_size": 1}).json()["next"]
    cursor = following.split("cursor=", 1)[1].split("&", 1)[0]
    response = client.get("/api/tickets/", {"cursor": cursor, "offset": "0"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error" and body["errors"] == {"offset": [message], "cursor": [message]}


@pytest.mark.parametrize("language, message", [("en", "Give this parameter only once."),
                                               ("zh-hans", "此参数只能给出一次。")])
def test_a_single_valued_parameter_given_twice_is_a_400_naming_it(world: World, language: str, message: str) -> None:
    """?is_open=true&is_open=false silently used the last value; a filter taking several values still may."""
    make(world, 2)
    client = as_user(world, "supervisor")
    for query in ("is_open=true&is_open=false", "page_size=1&page_size=5", "number=a&number=b"):
        response = client.get(f"/api/tickets/?{query}", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400, (query, response.content)
        name = query.split("=", 1)[0]
        assert response.json()["errors"] == {name: [message]} and response.json()["field"] == name
    both = client.get("/api/tickets/?status=new&status=dispatched")
    assert both.status_code == 200 and len(both.json()["results"]) == 2


def test_an_unknown_unit_or_category_is_a_404_with_code_and_message(world: World) -> None:
    """/api/units/{id}/ and /api/categories/{id}/ answered {"detail": ...} only (Django's Http404 of get_object
    was not given the documented code and message)."""
    client = as_user(world, "agent")
    for url in ("/api/units/999999/", "/api/categories/999999/", "/api/units/abc/"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found" and response.json()["message"], response.content


def test_units_are_listed_in_tree_order_across_pages(world: World) -> None:
    """Documented 'in tree order' (each unit right after its parent, a subtree together), the units came by id: the
    city of Zhuhai between Jiangmen and Jiangmen's own centres, a room added later at the very end."""
    from loopdesk.org.models import OrgUnit

    OrgUnit.objects.create(code="CALL2", name="话务二室", parent=world.units["csc"], level="room",
                           function="front_line", province="GD", region="JM")
    client = as_user(world, "agent")
    listed: list[str] = []
    url = "/api/units/?page_size=4"
    while url:
        page = client.get(url).json()
        listed += [u["code"] for u in page["results"]]
        url = page["next"]
    expected = list(OrgUnit.objects.order_by("path").values_list("code", flat=True))
    assert listed == expected
    assert listed.index("CALL2") < listed.index("BRANCH_XH") < listed.index("ZH")
    offset = client.get("/api/units/", {"offset": 4, "limit": 4}).json()
    assert [u["code"] for u in offset["results"]] == expected[4:8]


def test_a_work_order_number_and_a_region_code_are_found_in_any_case(world: World) -> None:
    """?number=jm-20261105-000001 and /api/units/?region=jm listed nothing (a 200 with an empty list: 'no such work
    order'), as report filters did before they read codes in any case."""
    t = make(world)[0]
    client = as_user(world, "agent")
    for typed in (t.number, t.number.lower(), f" {t.number.lower()} "):
        assert [r["id"] for r in client.get("/api/tickets/", {"number": typed}).json()["results"]] == [t.pk], typed
    codes = lambda params: {u["code"] for u in client.get("/api/units/", params).json()["results"]}  # noqa: E731
    assert codes({"region": "jm", "page_size": 100}) == codes({"region": "JM", "page_size": 100})
    assert "ZH_CALL" not in codes({"region": "jm", "page_size": 100}) and "NETMAINT" in codes({"region": "jm",
                                                                                                "page_size": 100})


def test_a_path_under_api_that_names_nothing_is_a_json_404(world: World) -> None:
    """/api/categories/1.9/, /api/nothing/ or an action name in capitals answered Django's HTML 'not found' page
    (a JSON client could not read it); now the documented 404 not_found with its message, as on /tmf-api/. A path
    without its trailing slash is still redirected to it, and the schema and docs are still served."""
    t = make(world)[0]
    client = as_user(world, "agent")
    for method, url in (("get", "/api/categories/1.9/"), ("get", "/api/nothing/"), ("get", "/api/"),
                        ("post", f"/api/tickets/{t.pk}/actions/Withdraw/"), ("delete", "/api/units/x/y/"),
                        ("get", "/api/tickets/1/timeline/")):
        response = getattr(client, method)(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404, (url, response.status_code)
        assert response["Content-Type"] == "application/json", (url, response.content[:80])
        assert response.json()["code"] == "not_found" and response.json()["message"]
    assert APIClient().get("/api/nothing/").status_code == 404
    redirected = client.get("/api/tickets")
    assert redirected.status_code == 301 and redirected["Location"] == "/api/tickets/"
    assert client.get("/api/schema/").status_code == 200 and client.get("/api/docs/").status_code == 200


def test_an_impossible_action_lists_the_actions_the_caller_may_take_now(world: World) -> None:
    """409 invalid_transition listed as `allowed_actions` every action of the status, also those the caller's role
    may not take (the first responder was offered accept, return, transfer of a dispatched work order: each a 403),
    while the detail's `allowed_actions` (same name) are the caller's own."""
    t = make(world)[0]
    t = s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=t, to_unit=world.units["netmaint"])
    # Each an action of theirs, not possible now (one they could never take is a 403).
    for key, action, extra in (("agent", "close", {}), ("specialist", "reply", {"resolution": "x"})):
        client = as_user(world, key)
        refused = client.post(f"/api/tickets/{t.pk}/actions/{action}/", {"version": t.version, **extra},
                              format="json")
        assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
        detail = client.get(f"/api/tickets/{t.pk}/").json()
        assert refused.json()["allowed_actions"] == detail["allowed_actions"], key
        assert refused.json()["status"] == "dispatched"
    agent = as_user(world, "agent").post(f"/api/tickets/{t.pk}/actions/close/", {"version": t.version},
                                         format="json").json()
    assert "accept" not in agent["allowed_actions"]


@pytest.mark.parametrize("url", ["/api/tickets/", "/api/units/", "/api/customers/"])
@pytest.mark.parametrize("position", ["garbage", "o=1&r=1&p=2026-13-45", "p=\x00"])
def test_a_cursor_whose_position_is_not_a_value_of_the_order_is_a_400_not_a_server_error(
        world: World, url: str, position: str) -> None:
    """A cursor is base64 of o=, r=, p= (the position: a creation time, an id, a tree path). One that decodes but
    whose position is not such a value (garbage, an impossible date, a NUL) went into the query: a server error
    (tickets: an invalid date, customers: not a number; PostgreSQL: NUL in a text)."""
    import base64

    make(world, 2)
    raw = position if "=" in position else f"p={position}"
    cursor = base64.b64encode(raw.encode()).decode()
    response = as_user(world, "supervisor").get(url, {"cursor": cursor})
    assert response.status_code == 400, response.content[:200]
    assert response.json()["field"] == "cursor"


def test_an_action_the_caller_may_not_take_is_403_before_any_version_check(world: World) -> None:
    """A user who may not take the action got 409 "changed meanwhile" (with the current version) when also sending
    a stale version: the permission check comes first, and tells nothing about versions."""
    t = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(), dispatch=True)
    agent = as_user(world, "agent")  # the first responder: sees it, may not accept it
    for version in (t.version, t.version - 1, t.version + 5):
        response = agent.post(f"/api/tickets/{t.pk}/actions/accept/", {"version": version}, format="json")
        assert response.status_code == 403, (version, response.content)
        assert response.json()["code"] == "permission_denied" and "current_version" not in response.json()
    # One who may: a stale version is still a conflict.
    stale = as_user(world, "specialist").post(f"/api/tickets/{t.pk}/actions/accept/", {"version": t.version - 1},
                                              format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    t.refresh_from_db()
    assert t.status == Status.DISPATCHED and t.handler_user_id is None


def test_the_detail_says_why_a_work_order_was_rejected(world: World) -> None:
    """The reject action requires the reason (invalid / duplicate); the detail gave `duplicate_of` but not the reason,
    so an integrator could not tell a work order rejected as invalid from one withdrawn or closed unsolved."""
    from loopdesk.tickets.choices import RejectReason

    original, duplicate, invalid = make(world, 3)
    s.do_reject_ticket(acting_user=world.user("agent"), ticket=duplicate, reason=RejectReason.DUPLICATE,
                       duplicate_of=original)
    s.do_reject_ticket(acting_user=world.user("agent"), ticket=invalid, reason=RejectReason.INVALID)
    client = as_user(world, "agent")
    assert client.get(f"/api/tickets/{invalid.pk}/").json()["reject_reason"] == "invalid"
    body = client.get(f"/api/tickets/{duplicate.pk}/").json()
    assert (body["reject_reason"], body["duplicate_of"]) == ("duplicate", original.pk)
    assert client.get(f"/api/tickets/{original.pk}/").json()["reject_reason"] == ""


@pytest.mark.parametrize(("body", "field"), [
    ({"version": "1"}, "version"),
    ({"version": True}, "version"),
    ({"version": 1.0}, "version"),
    ({"version": 1, "reason": "invalid", "duplicate_of": "7"}, "duplicate_of"),
])
def test_a_text_boolean_or_decimal_for_an_integer_is_400_naming_it_in_the_users_language(world: World, body,
                                                                                         field) -> None:
    """As a number for a text (e47308d): "version": "1" was taken as 1, true as 1 (JSON has integers)."""
    t = make(world)[0]
    action = "reject" if "duplicate_of" in body else "withdraw"
    for language, message in (("en", "A valid integer is required."), ("zh-hans", None)):
        response = as_user(world, "agent").post(f"/api/tickets/{t.pk}/actions/{action}/", body, format="json",
                                                HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400, response.content
        errors = response.json()["errors"]
        assert list(errors) == [field]
        if message:
            assert errors[field] == [message]
        else:
            assert errors[field][0] != "A valid integer is required." and "整数" in errors[field][0]
    assert Ticket.objects.get(pk=t.pk).status == Status.NEW and Ticket.objects.get(pk=t.pk).version == t.version


def test_a_form_posts_the_version_as_text_and_is_read(world: World) -> None:
    """A form (the browsable API) has only text: its "1" is the version, as before."""
    t = make(world)[0]
    response = as_user(world, "agent").post(f"/api/tickets/{t.pk}/actions/withdraw/",
                                            {"version": str(t.version), "reason": "客户撤诉"})
    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=t.pk).status == Status.WITHDRAWN


def test_an_id_as_text_is_400_naming_it_and_nothing_is_stored(world: World) -> None:
    """"category": "5" was read as the category 5 (DRF reads text as an id); the schema says integer."""
    category = world.categories["indoor"]
    payload = {"msisdn": "13912345678", "contact_type": "complaint", "category": str(category.pk),
               "channel": "hotline", "description": "室内无信号"}
    response = as_user(world, "agent").post("/api/tickets/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"category": ["Give the category's numeric id (listed at /api/categories/)."]}
    assert not Ticket.objects.exists()
    assert as_user(world, "agent").post("/api/tickets/", {**payload, "category": category.pk},
                                        format="json").status_code == 201


@pytest.mark.parametrize("dispatch", ["yes", 1, "0"])
def test_a_text_or_number_for_dispatch_is_400_naming_it_and_nothing_is_stored(world: World, dispatch) -> None:
    payload = {"msisdn": "13912345678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
               "channel": "hotline", "description": "室内无信号", "dispatch": dispatch}
    response = as_user(world, "agent").post("/api/tickets/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"dispatch": ["Must be a valid boolean."]}
    assert not Ticket.objects.exists()


def test_a_repeatable_filter_takes_comma_separated_values_as_well(world: World) -> None:
    """?status=new,dispatched (the TMF621 API's way, and a common client's) was one unknown value: a 400."""
    new, dispatched = make(world, 2)
    s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=dispatched, expected_version=dispatched.version)
    client = as_user(world, "supervisor")
    both = client.get("/api/tickets/?status=new,dispatched&contact_type=complaint,fault")
    assert both.status_code == 200, both.content
    assert {t["id"] for t in both.json()["results"]} == {new.pk, dispatched.pk}
    assert [t["id"] for t in client.get("/api/tickets/?status=new,closed").json()["results"]] == [new.pk]
    bad = client.get("/api/tickets/?status=new,sleeping", HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400 and "sleeping" in bad.json()["errors"]["status"][0]


def test_a_registration_repeated_with_its_external_id_is_a_409_naming_the_work_order(world: World) -> None:
    """A retry after a lost answer got a 400 "already on another work order" that did not say which one (and the
    list cannot look an external id up): the client could not find the work order it had registered."""
    body = {"msisdn": "13912345678", "contact_type": "complaint", "category": world.categories["indoor"].pk,
            "channel": "hotline", "description": "室内无信号", "external_refs": {"CRM": "CRM-42"}}
    client = as_user(world, "agent")
    first = client.post("/api/tickets/", body, format="json")
    assert first.status_code == 201, first.content
    again = client.post("/api/tickets/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 409, again.content
    assert again.json()["existing_id"] == first.json()["id"]
    assert again.json()["existing_href"] == f"/api/tickets/{first.json()['id']}/"
    assert Ticket.objects.count() == 1
    # Someone who may not see that work order learns nothing of it: the 400 on external_refs, as before.
    other = as_user(world, "zh_agent").post("/api/tickets/", body, format="json")
    assert other.status_code == 400 and list(other.json()["errors"]) == ["external_refs"]
    assert "existing_id" not in other.json() and Ticket.objects.count() == 1

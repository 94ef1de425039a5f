"""The OpenAPI schema (/api/schema/) describes what the endpoints really return: real responses of /api/ and
/tmf-api/ are validated against the response schema of their operation and status."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from loopdesk.conftest import World
from loopdesk.tickets import services as s

pytestmark = pytest.mark.django_db

TMF = "/tmf-api/troubleTicket/v4"


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    caches["default"].clear()


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema (a null allowed beside the type or the reference)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            inner = {key: node.pop(key) for key in ("allOf", "oneOf", "anyOf", "$ref") if key in node}
            node["anyOf"] = [inner, {"type": "null"}]
    return node


class Conformance:
    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.schema = _json_schema(client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json())

    def check(self, method: str, path: str, template: str, **kwargs: Any) -> Any:
        response = getattr(self.client, method)(path, **kwargs)
        operation = self.schema["paths"][template][method]
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, (path, response.status_code, response.content[:300])
        content = documented.get("content")
        if not content:
            return None
        body = response.json()
        validator = jsonschema.Draft202012Validator({"components": self.schema["components"],
                                                     **next(iter(content.values()))["schema"]})
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(body)]
        assert errors == [], (method, path)
        return body


def test_responses_of_our_api_match_the_schema(world: World) -> None:
    agent = world.user("agent")
    new = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    dispatched = s.do_create_ticket(acting_user=agent, dispatch=True, **world.ticket_kwargs())  # no handler user yet
    client = APIClient()
    client.force_login(agent)
    check = Conformance(client).check
    listed = check("get", "/api/tickets/", "/api/tickets/")
    assert any(t["handler_user"] is None for t in listed["results"])
    check("get", "/api/tickets/?offset=0", "/api/tickets/")
    check("get", f"/api/tickets/{new.pk}/", "/api/tickets/{id}/")
    assert check("get", f"/api/tickets/{dispatched.pk}/", "/api/tickets/{id}/")["handler_user"] is None
    customer_tickets = check("get", f"/api/customers/{new.customer_id}/tickets/", "/api/customers/{id}/tickets/")
    assert new.pk in [t["id"] for t in customer_tickets]
    check("get", f"/api/customers/{new.customer_id}/", "/api/customers/{id}/")
    check("get", "/api/customers/", "/api/customers/")
    check("get", "/api/units/", "/api/units/")
    check("get", "/api/categories/", "/api/categories/")
    check("get", f"{TMF}/troubleTicket", f"{TMF}/troubleTicket")
    check("get", f"{TMF}/troubleTicket/{new.pk}", f"{TMF}/troubleTicket/{{id}}")
    check("get", f"{TMF}/troubleTicket?status=sleeping", f"{TMF}/troubleTicket")


def test_the_schema_generates_without_warnings_and_names_its_enumerations() -> None:
    """Clients generate code from the enumerations' names: stable names, no generator warning (they were
    Status171Enum / StatusEc5Enum, and the generator warned about three collisions)."""
    import io

    import yaml
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--fail-on-warn", stdout=out, stderr=err)
    schemas = yaml.safe_load(out.getvalue())["components"]["schemas"]
    assert {"TicketStatusEnum", "TroubleTicketStatusEnum", "CallbackVerdictEnum"} <= set(schemas)
    assert schemas["TroubleTicketStatusEnum"]["enum"][:2] == ["acknowledged", "rejected"]
    assert "closed" in schemas["TicketStatusEnum"]["enum"] and "called_back" in schemas["TicketStatusEnum"]["enum"]
    assert not [name for name in schemas if name.startswith("Status") and name.endswith("Enum")]


def test_the_refusals_of_our_api_are_in_the_schema_with_their_shape(world: World) -> None:
    """Our own API's operations described at most 400/403/404 with no content (most only their 200): a client
    generated from the schema knew neither the 401, 404, 409, 429 it gets nor the error body's shape."""
    from loopdesk.tmf.tests.conftest import client_for, issue_token

    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    client = APIClient()
    client.force_login(agent)
    conformance = Conformance(client)
    check = conformance.check
    act = "/api/tickets/{id}/actions/{action_name}/"
    bodies = [
        check("get", "/api/tickets/?state=new", "/api/tickets/"),
        check("get", "/api/tickets/999999/", "/api/tickets/{id}/"),
        check("get", f"/api/tickets/{t.pk}/?expand=all", "/api/tickets/{id}/"),
        check("post", "/api/tickets/", "/api/tickets/", data={}, format="json"),
        check("post", f"/api/tickets/{t.pk}/actions/close/", act, data={"version": t.version}, format="json"),
        check("post", f"/api/tickets/{t.pk}/actions/accept/", act, data={"version": t.version + 5}, format="json"),
        check("get", "/api/customers/?msisdn=123", "/api/customers/"),
        check("get", "/api/customers/999999/", "/api/customers/{id}/"),
        check("get", "/api/customers/999999/tickets/", "/api/customers/{id}/tickets/"),
        check("post", f"/api/customers/{t.customer_id}/reveal/", "/api/customers/{id}/reveal/", data={},
              format="json"),
        check("get", "/api/units/999999/", "/api/units/{id}/"),
        check("get", "/api/categories/?parent=abc", "/api/categories/"),
        check("get", "/api/routing/preview/", "/api/routing/preview/"),
    ]
    auditor = APIClient()
    auditor.force_login(world.user("auditor"))
    bodies.append(Conformance(auditor).check("post", f"/api/customers/{t.customer_id}/reveal/",
                                             "/api/customers/{id}/reveal/", data={"reason": "x"}, format="json"))
    anonymous = Conformance(APIClient())
    for template in ("/api/tickets/", "/api/customers/", "/api/units/", "/api/categories/"):
        bodies.append(anonymous.check("get", template, template))
    slow = Conformance(client_for(issue_token(agent, rate=1, system="SLOW")))
    slow.client.get("/api/units/")
    bodies.append(slow.check("get", "/api/units/", "/api/units/"))
    assert all(body and body["code"] and body["message"] for body in bodies), bodies


def test_the_schema_lists_the_msisdn_lookup_of_a_customers_work_orders(world: World) -> None:
    """GET /api/customers/{id}/tickets/ reads ?msisdn= (a front-line role reaches the caller on the line by number,
    as on /api/customers/{id}/), but the schema did not list it: a generated client could not send it."""
    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    other = APIClient()
    other.force_login(world.user("agent2"))
    schema = Conformance(other).schema
    for template in ("/api/customers/{id}/", "/api/customers/{id}/tickets/"):
        names = [p["name"] for p in schema["paths"][template]["get"].get("parameters", [])]
        assert "msisdn" in names, (template, names)
    listed = other.get(f"/api/customers/{t.customer_id}/tickets/", {"msisdn": t.customer.msisdn}).json()
    assert [row["id"] for row in listed] == [t.pk]


def test_the_schema_describes_the_timeline_and_allowed_actions_of_a_work_order(world: World) -> None:
    """`timeline` was 'an array of any objects' and `allowed_actions` 'strings': a generated client had no model of
    a timeline entry (seq, kind, actor, from/to status, to_unit, note, visibility) nor the action names."""
    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, dispatch=True, dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs())
    client = APIClient()
    client.force_login(agent)
    conformance = Conformance(client)
    detail = conformance.schema["components"]["schemas"]["TicketDetail"]["properties"]
    assert detail["timeline"]["items"] == {"$ref": "#/components/schemas/TimelineEvent"}
    entry = conformance.schema["components"]["schemas"]["TimelineEvent"]
    assert {"seq", "kind", "actor", "to_status", "to_unit", "note", "visibility"} <= set(entry["properties"])
    assert detail["allowed_actions"]["items"] == {"$ref": "#/components/schemas/TicketActionEnum"}
    assert {"dispatch", "withdraw", "callback"} <= set(conformance.schema["components"]["schemas"]["TicketActionEnum"][
        "enum"])
    body = conformance.check("get", f"/api/tickets/{t.pk}/", "/api/tickets/{id}/")
    assert [e["kind"] for e in body["timeline"]] == ["create", "dispatch"]
    assert body["timeline"][1]["to_unit"]["code"] == "NETMAINT"


def test_a_tmf_field_selection_answers_as_the_schema_says(world: World) -> None:
    """With fields= a trouble ticket has id, href and the attributes asked for; the schema required every attribute
    (the v4 specification's TroubleTicket requires only description, severity and ticketType, and fields= may
    leave those out too), so a client generated from it refused every selected answer."""
    from loopdesk.tmf.tests.conftest import client_for, issue_token

    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, **world.ticket_kwargs())
    check = Conformance(client_for(issue_token(agent))).check
    listed = check("get", f"{TMF}/troubleTicket?fields=status", f"{TMF}/troubleTicket")
    assert listed == [{"id": str(t.pk), "href": f"{TMF}/troubleTicket/{t.pk}", "status": "acknowledged"}]
    one = check("get", f"{TMF}/troubleTicket/{t.pk}?fields=severity,statusChange", f"{TMF}/troubleTicket/{{id}}")
    assert set(one) == {"id", "href", "severity", "statusChange"}
    dotted = check("get", f"{TMF}/troubleTicket/{t.pk}?fields=relatedParty.name,channel.name,statusChange.status",
                   f"{TMF}/troubleTicket/{{id}}")
    assert all(set(party) == {"name"} for party in dotted["relatedParty"]) and set(dotted["channel"]) == {"name"}
    whole = Conformance(client_for(issue_token(agent, system="OSS"))).schema["components"]["schemas"]["TroubleTicket"]
    assert sorted(whole["required"]) == ["href", "id"]

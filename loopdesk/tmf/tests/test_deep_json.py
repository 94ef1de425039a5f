"""A JSON body nested deeper than the decoder follows (a few thousand brackets fit easily in the size limit) was a
RecursionError: a 500 with an HTML page. Now a 400 on `body` in each API's error shape and the caller's language,
and nothing is stored."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from loopdesk.conftest import World
from loopdesk.tickets.models import Ticket
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token

pytestmark = pytest.mark.django_db

DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"description":' * 100_000 + '"x"' + "}" * 100_000


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT])
@pytest.mark.parametrize("path", [f"{BASE}/troubleTicket", f"{BASE}/hub"])
def test_tmf_deeply_nested_body_is_a_400_on_body(world: World, path: str, body: str) -> None:
    crm = client_for(issue_token(world.users["agent"]))
    crm.raise_request_exception = False
    response = crm.generic("POST", path, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content[:200]
    error = response.json()
    assert error["@type"] == "Error" and error["status"] == "400"
    assert error["errors"]["body"] == ["The request body is nested too deeply to be read."]
    zh = crm.generic("POST", path, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert "嵌套" in zh["errors"]["body"][0]
    assert Ticket.objects.count() == 0


def test_our_api_deeply_nested_body_is_a_400_on_body(world: World) -> None:
    client = APIClient()
    client.force_login(world.users["agent"])
    client.raise_request_exception = False
    response = client.generic("POST", "/api/tickets/", DEEP_ARRAY, content_type="application/json",
                              HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["errors"] == {"body": ["The request body is nested too deeply to be read."]}
    assert Ticket.objects.count() == 0

"""Fixtures for the integration API: tokens for staff of the shared `world`, clients that use them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from loopdesk.conftest import World
from loopdesk.tmf.models import ApiToken

BASE = "/tmf-api/troubleTicket/v4"


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    caches["default"].clear()


def issue_token(user: Any, *, write: bool = True, system: str = "CRM", units: list[Any] | None = None,
                rate: int | None = None) -> str:
    token = ApiToken(name=f"{system} integration", system=system, user=user, can_write=write, rate_per_minute=rate)
    raw = token.set_new_key()
    token.save()
    if units:
        token.units.set(units)
    return raw


def client_for(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def crm(world: World) -> APIClient:
    """A front-line integration (CRM) acting as the hotline agent."""
    return client_for(issue_token(world.users["agent"]))


@pytest.fixture
def oss(world: World) -> APIClient:
    """The network management system acting as a network-maintenance specialist."""
    return client_for(issue_token(world.users["specialist"], system="OSS"))


def ticket_body(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "description": "客户反映家中室内无信号，已持续三天。",
        "severity": "Major",
        "ticketType": "complaint",
        "name": "室内无信号",
        "channel": {"id": "hotline"},
        "relatedParty": [{"id": "13912345678", "role": "customer", "@referredType": "Customer"}],
        "relatedEntity": [{"id": world.categories["indoor"].code, "role": "category", "@referredType": "Category"}],
    }
    body.update(overrides)
    return body


@dataclass
class Receiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    answer: int = 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 recording every POST (headers and raw body)."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append({"headers": self.headers, "body": body})  # case-insensitive
            self.send_response(state.answer)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Silent: the tests read what the listener received, not its access log on stderr."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/listener"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()

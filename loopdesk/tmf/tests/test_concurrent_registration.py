"""Registrations at the same moment over real concurrent connections (PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection

from loopdesk.conftest import World
from loopdesk.tickets.models import Ticket
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token, ticket_body
from loopdesk.tmf.v4 import operations

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _side_by_side(monkeypatch: Any, name: str, calls: list[Any]) -> list[Any]:
    """Run `calls` in threads of their own, all past the first call of `operations.<name>` before any goes on."""
    barrier = threading.Barrier(len(calls), timeout=10)
    original = getattr(operations, name)
    waited: set[int] = set()

    def wait_then(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(operations, name, wait_then)
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_posts_with_one_external_id_at_once_register_one_and_answer_the_other_409(
        world: World, monkeypatch) -> None:
    assert connection.vendor == "postgresql"
    raw = issue_token(world.users["agent"])
    body = ticket_body(world, externalId="CRM-RACE-1")

    def post() -> Any:
        return client_for(raw).post(f"{BASE}/troubleTicket", body, format="json")

    # Both have passed the check for an already registered id before either writes it.
    responses = _side_by_side(monkeypatch, "get_or_create_customer", [post, post])
    assert sorted(r.status_code for r in responses) == [201, 409], [r.content for r in responses]
    created = next(r for r in responses if r.status_code == 201).json()
    conflict = next(r for r in responses if r.status_code == 409).json()
    assert conflict["existingId"] == created["id"] and conflict["existingHref"] == created["href"]
    assert Ticket.objects.filter(external_refs__external_id="CRM-RACE-1").count() == 1


def test_one_listener_registered_twice_at_once_is_one_listener_and_a_409(
        world: World, monkeypatch, allow_loopback_callbacks) -> None:
    """The check for the same listener is slow here (as under load): both requests are in it at the same time."""
    import time

    from loopdesk.tmf.models import EventSubscription
    from loopdesk.tmf.v4 import views

    raw = issue_token(world.users["agent"])
    body = {"callback": "http://127.0.0.1:9/listener", "query": "eventType=TroubleTicketStatusChangeEvent"}
    check = views._check_not_listening_already

    def slow_check(*args: Any, **kwargs: Any) -> None:
        check(*args, **kwargs)
        time.sleep(0.5)

    monkeypatch.setattr(views, "_check_not_listening_already", slow_check)
    barrier = threading.Barrier(2, timeout=10)
    responses: list[Any] = []

    def post() -> None:
        try:
            barrier.wait()
            responses.append(client_for(raw).post(f"{BASE}/hub", body, format="json"))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in responses) == [201, 409], [r.content for r in responses]
    assert EventSubscription.objects.filter(callback=body["callback"], is_active=True).count() == 1
    created = next(r for r in responses if r.status_code == 201).json()
    assert next(r for r in responses if r.status_code == 409).json()["existingId"] == created["id"]

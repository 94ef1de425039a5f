"""Two requests at once at the rate limit: only one may pass (DRF read the history, decided, then wrote it back, so
both read the same history and both passed, and one of them was never counted)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command
from django.db import close_old_connections, connection

from loopdesk.tmf.auth import ApiRateThrottle


def _side_by_side(monkeypatch: Any, backend: type, n: int = 2) -> list[bool]:
    """`n` requests of one client, each reading its history slowly (so that they overlap), rate 1/min."""
    slow_get = backend.get

    def get(self: Any, *args: Any, **kwargs: Any) -> Any:
        value = slow_get(self, *args, **kwargs)
        time.sleep(0.3)
        return value

    monkeypatch.setattr(backend, "get", get)
    results: list[bool] = []
    request = SimpleNamespace(auth=None, user=SimpleNamespace(is_authenticated=True, pk=424242), META={})

    def run() -> None:
        try:
            throttle = ApiRateThrottle()
            throttle.get_rate = lambda: "1/min"  # type: ignore[method-assign]
            results.append(throttle.allow_request(request, None))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_at_the_limit_only_one_of_two_simultaneous_requests_passes_local_memory(monkeypatch, settings) -> None:
    settings.LOOPDESK_THROTTLE_CACHE = "default"
    caches["default"].clear()
    assert sorted(_side_by_side(monkeypatch, LocMemCache)) == [False, True]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_at_the_limit_only_one_of_two_simultaneous_requests_passes_database_cache(monkeypatch, settings) -> None:
    """The database cache is shared by every gunicorn worker and machine: the count must hold across them."""
    assert connection.vendor == "postgresql"
    call_command("createcachetable", "loopdesk_cache")
    settings.LOOPDESK_THROTTLE_CACHE = "db"
    caches["db"].clear()
    assert sorted(_side_by_side(monkeypatch, DatabaseCache, n=3)) == [False, False, True]
    assert len(caches["db"].get("throttle:api:u:424242")) == 1


@pytest.mark.django_db
def test_the_database_cache_counts_and_answers_429_on_either_database(world, settings) -> None:
    from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token

    call_command("createcachetable", "loopdesk_cache")
    settings.LOOPDESK_THROTTLE_CACHE = "db"
    caches["db"].clear()
    client = client_for(issue_token(world.users["agent"], rate=2))
    assert [client.get(f"{BASE}/troubleTicket").status_code for _ in range(3)] == [200, 200, 429]

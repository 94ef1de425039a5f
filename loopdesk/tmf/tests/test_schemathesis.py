"""schemathesis against our own OpenAPI schema (/api/ and /tmf-api/): generated valid and invalid requests to
every operation, through the real WSGI application and database; no request may cause a server error.

Bounded (a few examples per operation, derandomised) so it stays a fast, repeatable part of the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from loopdesk.conftest import World
from loopdesk.tickets import services as s
from loopdesk.tmf.tests.conftest import issue_token
from loopdesk.wsgi import application

EXAMPLES_PER_OPERATION = 10


# Served by the application itself (no database needed to describe the API). The schema endpoint is left out:
# it only describes the others, and generating it per example would dominate the run time.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).exclude(path="/api/schema/")
# Explicit examples and fuzzing (valid and invalid data) only: the exhaustive "coverage" phase makes hundreds
# of cases per operation regardless of max_examples and would take minutes.
schema.config.phases.coverage.enabled = False


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """What Django's test client does: requests must not close the test's connection (its transaction) when
    they end — on PostgreSQL `close_old_connections` would, since the test runs inside a transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(world: World, keep_test_connection: None) -> str:
    agent = world.user("agent")
    for _ in range(2):  # something to find, act on and filter
        s.do_create_ticket(acting_user=agent, dispatch=True, **world.ticket_kwargs())
    caches["default"].clear()
    return issue_token(world.users["admin"], rate=10**8)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_with_a_server_error(case: Any, admin_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=[not_a_server_error])

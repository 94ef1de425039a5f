"""PATCH status: every row of mapping.STATUS_REQUESTS (the table in docs/tmf621.md) runs its service.

Rows whose TMF status is the one the ticket already shows (returned → inProgress, hold_requested →
inProgress, replied → resolved) are actions too, not no-ops.
"""

from __future__ import annotations

from typing import Any

import pytest

from loopdesk.conftest import World
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Action, Status
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.workflow import TRANSITIONS
from loopdesk.tmf import mapping
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token

pytestmark = pytest.mark.django_db

# How to bring a new ticket to each workflow status, as (action, kwargs) steps taken by the administrator.
_ACCEPTED = [(Action.DISPATCH, {}), (Action.ACCEPT, {})]
PATHS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    Status.NEW: [],
    Status.DISPATCHED: [(Action.DISPATCH, {})],
    Status.IN_PROGRESS: _ACCEPTED,
    Status.RETURNED: [(Action.DISPATCH, {}), (Action.RETURN, {"reason": "不归我部门"})],
    Status.PENDING_INFO: [*_ACCEPTED, (Action.REQUEST_INFO, {"question": "具体地址？"})],
    Status.HOLD_REQUESTED: [*_ACCEPTED, (Action.REQUEST_HOLD, {"reason": "等待基站建设"})],
    Status.ON_HOLD: [*_ACCEPTED, (Action.REQUEST_HOLD, {"reason": "等待基站建设"}), (Action.APPROVE_HOLD, {})],
    Status.REPLIED: [*_ACCEPTED, (Action.REPLY, {"resolution": "已调整天线"})],
    Status.ANSWERED: [(Action.ANSWER, {"answer": "已答复", "resolution": "重启终端"})],
    Status.CALLED_BACK: [(Action.ANSWER, {"answer": "已答复", "resolution": "重启终端"}),
                         (Action.CALLBACK, {"verdict": "satisfied"})],
    Status.CLOSED: [(Action.ANSWER, {"answer": "已答复", "resolution": "重启终端"}), (Action.CLOSE, {})],
}

ROWS = sorted((requested, current, action) for requested, by_status in mapping.STATUS_REQUESTS.items()
              for current, action in by_status.items())


def test_every_workflow_status_can_be_reached_for_the_table() -> None:
    assert {current for _requested, current, _action in ROWS} <= set(PATHS)


@pytest.mark.parametrize(("requested", "current", "action"), ROWS, ids=[f"{c}->{r}" for r, c, _a in ROWS])
def test_each_status_request_runs_its_service(world: World, requested: str, current: str, action: str) -> None:
    admin = world.user("admin")
    ticket = s.do_create_ticket(acting_user=admin, **world.ticket_kwargs())
    for step, kwargs in PATHS[current]:
        ticket = s.ACTION_SERVICES[step](acting_user=admin, ticket=ticket, **kwargs)
    assert ticket.status == current
    assert requested in mapping.reachable_statuses(current)
    before = ticket.events.count()

    client = client_for(issue_token(world.users["admin"]))
    response = client.patch(f"{BASE}/troubleTicket/{ticket.pk}",
                            {"status": requested, "statusChangeReason": "通过接口办理"}, format="json")

    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == TRANSITIONS[action].target
    # A request to suspend (in_progress → held) waits for approval: it still shows as inProgress.
    assert response.json()["status"] == mapping.tmf_status(ticket.status)
    new_events = list(TicketEvent.objects.filter(ticket=ticket).order_by("seq")[before:])
    assert [(e.kind, e.from_status, e.to_status) for e in new_events] == [
        (action, current, TRANSITIONS[action].target)]


@pytest.mark.parametrize("current", [Status.DISPATCHED, Status.IN_PROGRESS])
def test_same_tmf_status_without_a_row_changes_nothing(world: World, current: str) -> None:
    """dispatched and in_progress are inProgress with no action to reach inProgress: 200, no new entry."""
    admin = world.user("admin")
    ticket = s.do_create_ticket(acting_user=admin, **world.ticket_kwargs())
    for step, kwargs in PATHS[current]:
        ticket = s.ACTION_SERVICES[step](acting_user=admin, ticket=ticket, **kwargs)
    before = ticket.events.count()
    client = client_for(issue_token(world.users["admin"]))
    response = client.patch(f"{BASE}/troubleTicket/{ticket.pk}", {"status": "inProgress"}, format="json")
    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=ticket.pk).status == current and ticket.events.count() == before

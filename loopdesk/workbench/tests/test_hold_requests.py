"""Suspension requests (挂起) reach whoever may decide them: the department head over the unit and the service
supervisors, who approve when the head asked for the hold themselves (nobody approves their own). The supervisor's
home page listed none, and no queue showed them, so such a request waited unseen."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.tickets.choices import Action, Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.policy import allowed_actions
from loopdesk.tickets.services import do_accept_ticket, do_create_ticket, do_request_hold


def _held_by(world: World, requester: str) -> Ticket:
    t = do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["netmaint"],
                         **world.ticket_kwargs())
    t = do_accept_ticket(acting_user=world.user("specialist"), ticket=t, expected_version=t.version)
    return do_request_hold(acting_user=world.user(requester), ticket=t, reason="需新建基站", expected_version=t.version)


def test_a_hold_the_head_asked_for_reaches_the_supervisor_who_may_approve_it(world: World, client_for: Any) -> None:
    held = _held_by(world, "head")
    assert held.status == Status.HOLD_REQUESTED
    assert Action.APPROVE_HOLD in allowed_actions(world.user("supervisor"), held)
    client = client_for("supervisor")
    sections = {str(s.title): s for s in client.get("/").context["sections"]}
    block = sections["Suspension requests to decide"]
    assert [t.number for t in block.rows] == [held.number]
    response = client.get(block.link)
    assert response.status_code == 200 and [t.number for t in response.context["rows"]] == [held.number]
    assert "holds" in [q.key for q, _n in response.context["queues"]]


def test_the_head_sees_the_units_requests_and_others_get_no_such_tab(world: World, client_for: Any) -> None:
    held = _held_by(world, "specialist")
    _held_by(world, "specialist")  # a second request of the same unit
    client = client_for("head")
    sections = {str(s.title): s for s in client.get("/").context["sections"]}
    rows = client.get(sections["Suspension requests to decide"].link).context["rows"]
    assert held.number in [t.number for t in rows] and len(rows) == 2
    for role in ("specialist", "agent", "dispatcher", "auditor"):
        response = client_for(role).get("/queues/unit/")
        assert "holds" not in [q.key for q, _n in response.context["queues"]], role
        assert not client_for(role).get("/queues/holds/").context["rows"], role


def test_the_suspension_queue_is_translated(world: World, client_for: Any) -> None:
    _held_by(world, "specialist")
    page = client_for("supervisor", "zh-hans").get("/queues/holds/").content.decode()
    assert "挂起申请" in page and "Suspension requests" not in page


def test_a_head_is_not_asked_to_decide_a_hold_they_asked_for(world: World, client_for: Any) -> None:
    """Nobody approves their own request: the head's own request is the supervisor's to decide, not in the head's
    "to decide" list (or its count), where only "deny" would have worked."""
    own = _held_by(world, "head")
    other = _held_by(world, "specialist")
    client = client_for("head")
    sections = {str(s.title): s for s in client.get("/").context["sections"]}
    block = sections["Suspension requests to decide"]
    assert [t.number for t in block.rows] == [other.number]
    assert [t.number for t in client.get(block.link).context["rows"]] == [other.number]
    rows = client_for("supervisor").get("/queues/holds/").context["rows"]
    assert {t.number for t in rows} == {own.number, other.number}

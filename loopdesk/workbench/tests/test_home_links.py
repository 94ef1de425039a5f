"""A home block's "See all" shows the work orders the block counts: the supervisor's problem and overtime blocks
and their queue agree (a problem ticket whose current clock is not yet due was counted but not listed; 12 against
9 in the demo), and the
queue's "Overtime" filter means what the badge, the board and the home block mean: over 48 h, not yet a problem."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from loopdesk.conftest import World
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_create_ticket


def _ticket(world: World, **flags: Any) -> Ticket:
    t = do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["netmaint"],
                         **world.ticket_kwargs())
    Ticket.objects.filter(pk=t.pk).update(**flags)
    return t


def test_each_supervisor_block_lists_in_see_all_what_it_counts(world: World, client_for: Any) -> None:
    later = timezone.now() + dt.timedelta(days=2)  # e.g. replied: the answer is due later, the hop was late
    problem_due_later = _ticket(world, is_overtime=True, is_problem=True, due_at=later)
    problem_overdue = _ticket(world, is_overtime=True, is_problem=True, due_at=timezone.now() - dt.timedelta(hours=1))
    _ticket(world, is_overtime=True, due_at=later)
    overtime_overdue = _ticket(world, is_overtime=True, due_at=timezone.now() - dt.timedelta(hours=1))
    client = client_for("supervisor")
    sections = {str(s.title): s for s in client.get("/").context["sections"]}
    for title in ("Problem tickets (past their problem limit)", "Overtime tickets (past their reply limit)"):
        section = sections[title]
        listed = {t.number for t in client.get(section.link).context["rows"]}
        assert {t.number for t in section.rows} == listed, title
    # What the block shows is the list's: the late ones whose running clock is due now or soon (the board lists
    # every late open ticket, whatever its clock).
    assert {t.number for t in sections["Problem tickets (past their problem limit)"].rows} == {problem_overdue.number}
    assert {t.number for t in sections["Overtime tickets (past their reply limit)"].rows} == {overtime_overdue.number}
    assert problem_due_later.number not in {t.number for t in client.get("/queues/risk/").context["rows"]}


def test_the_overtime_filter_leaves_problem_tickets_to_the_problem_filter(world: World, client_for: Any) -> None:
    overtime = _ticket(world, is_overtime=True)
    problem = _ticket(world, is_overtime=True, is_problem=True)
    _ticket(world)
    client = client_for("agent")
    assert [t.number for t in client.get("/queues/mine/", {"flag": "overtime"}).context["rows"]] == [overtime.number]
    assert [t.number for t in client.get("/queues/mine/", {"flag": "problem"}).context["rows"]] == [problem.number]


def test_the_agents_blocks_list_in_see_all_every_status_they_count(world: World, client_for: Any) -> None:
    """A work order returned as misrouted (退单) waits with the front line like a new one; an answered one that was
    called back waits for closing like an answered one: "See all" listed only the first status of each block."""
    returned = _ticket(world, status="returned")
    new = _ticket(world, status="new")
    answered = _ticket(world, status="answered")
    called_back = _ticket(world, status="called_back")
    _ticket(world)  # dispatched: in neither block
    client = client_for("agent")
    sections = {str(s.title): s for s in client.get("/").context["sections"]}
    expected = {"Registered or returned, not yet dispatched": {returned.number, new.number},
                "Answered: call back and close": {answered.number, called_back.number}}
    for title, numbers in expected.items():
        section = sections[title]
        assert {t.number for t in section.rows} == numbers, title
        response = client.get(section.link)
        assert response.status_code == 200 and not response.context["form"].errors
        assert {t.number for t in response.context["rows"]} == numbers, title
        assert '<select id="id_status" name="status" multiple>' in response.content.decode()


def test_a_status_chosen_in_the_filter_form_still_narrows_to_one(world: World, client_for: Any) -> None:
    returned = _ticket(world, status="returned")
    _ticket(world, status="new")
    response = client_for("agent").get("/queues/mine/", {"status": "returned", "channel": ""})
    assert [t.number for t in response.context["rows"]] == [returned.number]
    assert 'value="returned" selected' in response.content.decode()
    bad = client_for("agent").get("/queues/mine/", {"status": ["returned", "nonsense"]})
    assert bad.context["form"].errors["status"]

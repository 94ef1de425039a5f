"""The REST API's callback action has the outcome of the workbench's: a dissatisfied customer reopens the work order
or escalates it to the supervisors, as the follow-up policy says (it was only recorded: the work order then sat
"called back" with Close refused, neither reopened nor escalated)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from loopdesk.conftest import World
from loopdesk.followup.models import CallbackTask, Escalation, FollowupPolicy
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    caches["default"].clear()


def _answered_after_reply(world: World) -> Ticket:
    t = s.do_create_ticket(acting_user=world.user("agent"), dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, expected_version=t.version)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已优化",
                          expected_version=t.version)
    return s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已处理", expected_version=t.version)


def _callback(world: World, t: Ticket, verdict: str) -> Any:
    client = APIClient()
    client.force_login(world.users["agent"])
    return client.post(f"/api/tickets/{t.pk}/actions/callback/",
                       {"version": t.version, "verdict": verdict, "note": "问题依旧"}, format="json")


def test_a_dissatisfied_customer_reopens_the_work_order(world: World) -> None:
    t = _answered_after_reply(world)
    assert CallbackTask.objects.filter(ticket=t, status="open").exists()
    response = _callback(world, t, "dissatisfied")
    assert response.status_code == 200, response.content
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.status == Status.NEW and stored.reopen_count == 1
    assert response.json()["status"] == Status.NEW
    assert not CallbackTask.objects.filter(ticket=t, status="open").exists()


def test_a_dissatisfied_customer_is_escalated_when_the_policy_says_so(world: World) -> None:
    FollowupPolicy.objects.create(dissatisfied_action="escalate")
    t = _answered_after_reply(world)
    assert _callback(world, t, "dissatisfied").status_code == 200
    assert Ticket.objects.get(pk=t.pk).status == Status.CALLED_BACK
    assert Escalation.objects.get(ticket=t).reason == "dissatisfied"


def test_a_satisfied_customer_and_a_stale_version(world: World) -> None:
    t = _answered_after_reply(world)
    stale = Ticket(pk=t.pk, version=t.version - 1)
    assert _callback(world, stale, "satisfied").status_code == 409
    assert _callback(world, t, "satisfied").status_code == 200
    assert Ticket.objects.get(pk=t.pk).status == Status.CALLED_BACK

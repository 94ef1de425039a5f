"""A work order solved at first contact (answered without a department's reply) has no callback task; its
"Callback (回访)" button opened the bare action form: a dissatisfied verdict needed no reason and the follow-up
policy (reopen, or escalate to the supervisors) was not applied, unlike the callback dialog of every other work
order (docs/followup-ui.md)."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.followup.models import CallbackTask, Escalation, FollowupPolicy
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_answer_customer, do_create_ticket


def _solved_at_first_contact(world: World) -> Ticket:
    t = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    t = do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已指导重启手机",
                           resolution="终端设置问题", expected_version=t.version)
    assert t.status == Status.ANSWERED and not CallbackTask.objects.filter(ticket=t).exists()
    return t


def test_a_dissatisfied_customer_needs_a_reason_and_nothing_is_stored_without(world: World, client_for: Any) -> None:
    t = _solved_at_first_contact(world)
    response = client_for("agent").post(f"/tickets/{t.pk}/act/callback/",
                                        {"version": t.version, "verdict": "dissatisfied", "note": " "})
    assert response.status_code == 422 and response.context["form"].errors["note"]
    assert Ticket.objects.get(pk=t.pk).version == t.version


def test_a_dissatisfied_customer_reopens_the_work_order_by_default(world: World, client_for: Any) -> None:
    t = _solved_at_first_contact(world)
    response = client_for("agent").post(f"/tickets/{t.pk}/act/callback/",
                                        {"version": t.version, "verdict": "dissatisfied", "note": "问题依旧"})
    assert response.status_code == 302
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.status == Status.NEW and stored.reopen_count == 1
    assert stored.handler_user == world.users["agent"]


def test_a_dissatisfied_customer_is_escalated_when_the_policy_says_so(world: World, client_for: Any) -> None:
    FollowupPolicy.objects.create(dissatisfied_action="escalate")
    t = _solved_at_first_contact(world)
    response = client_for("agent").post(f"/tickets/{t.pk}/act/callback/",
                                        {"version": t.version, "verdict": "dissatisfied", "note": "问题依旧"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=t.pk).status == Status.CALLED_BACK
    escalation = Escalation.objects.get(ticket=t)
    assert escalation.reason == "dissatisfied" and "问题依旧" in escalation.note


def test_a_satisfied_customer_is_recorded_as_before(world: World, client_for: Any) -> None:
    t = _solved_at_first_contact(world)
    response = client_for("agent").post(f"/tickets/{t.pk}/act/callback/",
                                        {"version": t.version, "verdict": "satisfied"})
    assert response.status_code == 302
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.status == Status.CALLED_BACK and stored.callback_verdict == "satisfied"
    assert not Escalation.objects.exists()

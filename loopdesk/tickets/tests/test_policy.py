"""Who may see and do what: every role against every action, and the scope of every role."""

from __future__ import annotations

import datetime as dt

import pytest

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World
from loopdesk.core.errors import PermissionDeniedError
from loopdesk.customers.services import do_reveal_customer
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Action, Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.policy import allowed_actions, can_reveal, visible_tickets

H = dt.timedelta(hours=1)

# The state a ticket is brought to before each action is tried, and the one actor expected to be able
# to do it there besides administrators and the region's supervisors (where supervisors may).
ROLE_USERS = ["agent", "agent2", "clerk", "manager", "dispatcher", "specialist", "specialist2", "optimiser",
              "it_specialist", "head", "supervisor", "auditor", "admin", "zh_agent"]

EXPECTED: dict[str, set[str]] = {
    # action: users who may take it on the standard ticket (first responder agent, handled by 网络维护中心)
    Action.DISPATCH: {"agent", "agent2", "dispatcher", "supervisor", "admin"},
    Action.ACCEPT: {"specialist", "specialist2", "head", "admin"},
    Action.TRANSFER: {"specialist", "specialist2", "head", "dispatcher", "supervisor", "admin"},
    Action.RETURN: {"specialist", "specialist2", "head", "admin"},
    Action.REQUEST_INFO: {"specialist", "specialist2", "head", "admin"},
    Action.PROVIDE_INFO: {"agent", "agent2", "specialist", "specialist2", "head", "dispatcher", "admin"},
    Action.REQUEST_HOLD: {"specialist", "specialist2", "head", "admin"},
    Action.APPROVE_HOLD: {"head", "supervisor", "admin"},
    Action.DENY_HOLD: {"head", "supervisor", "admin"},
    Action.RESUME: {"specialist", "specialist2", "head", "supervisor", "admin"},
    Action.REPLY: {"specialist", "specialist2", "head", "admin"},
    Action.ANSWER: {"agent", "agent2", "supervisor", "admin"},
    Action.CALLBACK: {"agent", "agent2", "supervisor", "admin"},
    Action.CLOSE: {"agent", "agent2", "supervisor", "admin"},
    Action.REOPEN: {"agent", "agent2", "supervisor", "admin"},
    Action.WITHDRAW: {"agent", "agent2", "dispatcher", "supervisor", "admin"},
    Action.REJECT: {"agent", "agent2", "dispatcher", "supervisor", "admin"},
}

# How to bring a fresh ticket into a state where each action is possible.
SETUP: dict[str, list[tuple[str, str, dict]]] = {
    "new": [],
    "dispatched": [(Action.DISPATCH, "agent", {"to_unit": "netmaint"})],
    "in_progress": [(Action.DISPATCH, "agent", {"to_unit": "netmaint"}), (Action.ACCEPT, "specialist", {})],
    "pending_info": [(Action.DISPATCH, "agent", {"to_unit": "netmaint"}), (Action.ACCEPT, "specialist", {}),
                     (Action.REQUEST_INFO, "specialist", {"question": "?"})],
    "hold_requested": [(Action.DISPATCH, "agent", {"to_unit": "netmaint"}), (Action.ACCEPT, "specialist", {}),
                       (Action.REQUEST_HOLD, "specialist", {"reason": "基站"})],
    "on_hold": [(Action.DISPATCH, "agent", {"to_unit": "netmaint"}), (Action.ACCEPT, "specialist", {}),
                (Action.REQUEST_HOLD, "specialist", {"reason": "基站"}), (Action.APPROVE_HOLD, "head", {})],
    "answered": [(Action.ANSWER, "agent", {"answer": "已答复", "resolution": "已解决"})],
}
STATE_FOR = {
    Action.DISPATCH: "new", Action.ACCEPT: "dispatched", Action.TRANSFER: "in_progress",
    Action.RETURN: "in_progress", Action.REQUEST_INFO: "in_progress", Action.PROVIDE_INFO: "pending_info",
    Action.REQUEST_HOLD: "in_progress", Action.APPROVE_HOLD: "hold_requested", Action.DENY_HOLD: "hold_requested",
    Action.RESUME: "on_hold", Action.REPLY: "in_progress", Action.ANSWER: "new", Action.CALLBACK: "answered",
    Action.CLOSE: "answered", Action.REOPEN: "answered", Action.WITHDRAW: "new", Action.REJECT: "new",
}


def _prepare(world: World, state: str) -> Ticket:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    for action, actor, kwargs in SETUP[state]:
        values = {k: world.units[v] if k == "to_unit" else v for k, v in kwargs.items()}
        t = s.ACTION_SERVICES[action](acting_user=world.user(actor), ticket=t, now=T0 + H, **values)
    return Ticket.objects.select_related("handler_unit").get(pk=t.pk)


@pytest.mark.parametrize("action", list(EXPECTED))
def test_every_role_against_every_action(world: World, action: str) -> None:
    ticket = _prepare(world, STATE_FOR[action])
    assert ticket.status == STATE_FOR[action]
    allowed = {u for u in ROLE_USERS if action in allowed_actions(world.user(u), ticket)}
    assert allowed == EXPECTED[action]


def test_the_service_refuses_what_the_policy_refuses(world: World) -> None:
    ticket = _prepare(world, "in_progress")
    for user in ("agent", "dispatcher", "auditor", "it_specialist", "zh_agent"):
        with pytest.raises(PermissionDeniedError):
            s.do_reply_ticket(acting_user=world.user(user), ticket=ticket, resolution="x", now=T0 + 2 * H)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.IN_PROGRESS


def test_scope_of_each_role(world: World) -> None:
    call_ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                                     **world.ticket_kwargs())  # → 网络维护中心
    hall_ticket = s.do_create_ticket(acting_user=world.user("clerk"), now=T0, **world.ticket_kwargs())
    zh_ticket = s.do_create_ticket(acting_user=world.user("zh_agent"), now=T0,
                                   **world.ticket_kwargs(customer=world.customer(region="ZH")))

    def sees(user: str) -> set[int]:
        return set(visible_tickets(world.user(user)).values_list("pk", flat=True))

    everything_jm = {call_ticket.pk, hall_ticket.pk}
    assert sees("agent") == {call_ticket.pk}  # own unit's tickets
    assert sees("agent2") == {call_ticket.pk}
    assert sees("clerk") == {hall_ticket.pk}
    assert sees("specialist") == {call_ticket.pk}  # dispatched to their unit
    assert sees("head") == {call_ticket.pk}  # their department's subtree
    assert sees("it_specialist") == set()
    assert sees("optimiser") == set()
    assert sees("dispatcher") == everything_jm  # the whole city
    assert sees("supervisor") == everything_jm
    assert sees("auditor") == everything_jm
    assert sees("zh_agent") == {zh_ticket.pk}
    assert sees("admin") == everything_jm | {zh_ticket.pk}


def test_specialists_keep_seeing_what_they_worked_on_after_transfer(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_transfer_ticket(acting_user=world.user("specialist"), ticket=t, to_unit=world.units["it"],
                             note="计费问题", now=T0 + H)
    assert visible_tickets(world.user("specialist")).filter(pk=t.pk).exists()
    assert visible_tickets(world.user("it_specialist")).filter(pk=t.pk).exists()
    assert "accept" not in allowed_actions(world.user("specialist"), Ticket.objects.get(pk=t.pk))


def test_account_manager_sees_their_customers_tickets(world: World) -> None:
    customer = world.customer(account_manager=world.users["manager"], vip_level="gold")
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs(customer=customer))
    assert visible_tickets(world.user("manager")).filter(pk=t.pk).exists()


def test_reveal_is_allowed_to_some_roles_and_always_audited(world: World) -> None:
    customer = world.customer(msisdn="13912345678", name="李四")
    assert str(customer) == "139****5678"
    assert customer.masked_name == "李*"
    assert not can_reveal(world.user("specialist"))
    with pytest.raises(PermissionDeniedError):
        do_reveal_customer(acting_user=world.user("specialist"), customer=customer)
    shown = do_reveal_customer(acting_user=world.user("agent"), customer=customer, reason="回访")
    assert shown == {"msisdn": "13912345678", "name": "李四"}
    record = AuditLog.objects.get(action="customer.reveal", object_id=str(customer.pk))
    assert record.actor == world.users["agent"] and record.data["reason"] == "回访"


def test_audit_log_is_append_only(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    record = AuditLog.objects.get(action="ticket.create", object_id=str(t.pk))
    record.action = "tampered"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=record.pk).update(action="tampered")
    with pytest.raises(PermissionError):
        AuditLog.objects.all().delete()
    assert AuditLog.objects.get(pk=record.pk).action == "ticket.create"


def test_close_is_not_offered_after_a_dissatisfied_callback(world: World) -> None:
    t = _prepare(world, "answered")
    t = s.do_callback(acting_user=world.user("agent"), ticket=t, verdict="dissatisfied", note="仍无信号",
                      now=T0 + 2 * H)
    t = Ticket.objects.select_related("handler_unit").get(pk=t.pk)
    offered = allowed_actions(world.user("agent"), t)
    assert Action.CLOSE not in offered and Action.REOPEN in offered
    satisfied = s.do_callback(acting_user=world.user("agent"), ticket=_prepare(world, "answered"),
                              verdict="satisfied", now=T0 + 2 * H)
    assert Action.CLOSE in allowed_actions(world.user("agent"), Ticket.objects.get(pk=satisfied.pk))


def test_a_department_head_does_not_approve_their_own_hold_request(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("head"), ticket=t, now=T0 + H)
    t = s.do_request_hold(acting_user=world.user("head"), ticket=t, reason="等待新建基站", now=T0 + 2 * H)
    t = Ticket.objects.select_related("handler_unit").get(pk=t.pk)
    assert Action.APPROVE_HOLD not in allowed_actions(world.user("head"), t)
    with pytest.raises(PermissionDeniedError):
        s.do_approve_hold(acting_user=world.user("head"), ticket=t, now=T0 + 3 * H)
    assert Action.APPROVE_HOLD in allowed_actions(world.user("supervisor"), t)
    t = s.do_approve_hold(acting_user=world.user("supervisor"), ticket=t, now=T0 + 3 * H)
    assert t.status == Status.ON_HOLD

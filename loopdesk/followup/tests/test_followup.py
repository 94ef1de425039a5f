"""SLA sweeps, escalation and callbacks: the loop chases itself."""

from __future__ import annotations

import datetime as dt

import pytest

from loopdesk.conftest import T0, World
from loopdesk.core.errors import InvalidTransition, ValidationFailed
from loopdesk.followup import services as f
from loopdesk.followup.models import (
    CallbackStatus,
    CallbackTask,
    Escalation,
    FollowupPolicy,
    SlaWatch,
    StaffAlert,
)
from loopdesk.followup.tasks import sweep_sla
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def _dispatched(world: World, **kwargs) -> Ticket:
    return s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                              dispatch_to=world.units["netmaint"], **world.ticket_kwargs(**kwargs))


def _alerts(user_key: str, world: World) -> list[str]:
    return list(StaffAlert.objects.filter(user=world.users[user_key]).order_by("id").values_list("kind", flat=True))


def test_handler_and_head_are_warned_before_due(world: World) -> None:
    t = _dispatched(world)
    warn_at = t.due_at - dt.timedelta(minutes=t.sla_policy.warn_before_minutes)
    assert f.sweep_sla(now=warn_at - dt.timedelta(minutes=1)).warned == 0
    assert f.sweep_sla(now=warn_at).warned == 1
    assert _alerts("specialist", world) == ["due_soon"] and _alerts("head", world) == ["due_soon"]
    assert _alerts("optimiser", world) == []  # another room of the department
    assert f.sweep_sla(now=warn_at + H).warned == 0  # idempotent


def test_ticket_is_marked_overtime_then_problem_the_moment_it_crosses(world: World) -> None:
    t = _dispatched(world)
    f.sweep_sla(now=t.overtime_at - dt.timedelta(minutes=1))
    assert not Ticket.objects.get(pk=t.pk).is_overtime
    f.sweep_sla(now=t.overtime_at)
    t.refresh_from_db()
    assert t.is_overtime and not t.is_problem
    assert list(t.events.filter(kind="overtime").values_list("created_at", flat=True)) == [t.overtime_at]
    assert not Escalation.objects.filter(ticket=t).exists()  # a complaint escalates when it becomes a problem
    f.sweep_sla(now=t.problem_at)
    t.refresh_from_db()
    assert t.is_problem and t.events.filter(kind="problem").count() == 1
    assert Escalation.objects.get(ticket=t).reason == "problem"
    assert t.events.filter(kind="note", data__escalation="problem").count() == 1
    assert "escalated" in _alerts("supervisor", world)
    f.sweep_sla(now=t.problem_at + H)
    assert t.events.filter(kind="problem").count() == 1 and Escalation.objects.filter(ticket=t).count() == 1


def test_regulator_appeal_escalates_already_when_overtime(world: World) -> None:
    t = _dispatched(world, contact_type="appeal", channel="regulator")
    f.sweep_sla(now=t.overtime_at)
    assert Escalation.objects.get(ticket=t).reason == "appeal_overtime"


def test_replied_ticket_has_nothing_left_to_sweep(world: World) -> None:
    t = _dispatched(world)
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已处理", now=T0 + 2 * H)
    assert not SlaWatch.objects.filter(ticket=t, kind__in=["overtime", "problem"]).exists()
    f.sweep_sla(now=T0 + 100 * H)
    t.refresh_from_db()
    assert not t.is_overtime and not t.events.filter(kind="overtime").exists()


def test_sweep_reads_only_what_is_due_in_batches(world: World) -> None:
    tickets = [_dispatched(world) for _ in range(3)]
    at = max(t.overtime_at for t in tickets)
    assert SlaWatch.objects.filter(fire_at__lte=at).count() == 6  # a warning and a crossing each
    runs = [f.sweep_sla(now=at, batch=2) for _ in range(3)]
    assert [r.remaining for r in runs] == [True, True, False]
    assert sum(r.marked for r in runs) == 3 and sum(r.warned for r in runs) == 0  # warnings come too late
    assert all(Ticket.objects.get(pk=t.pk).is_overtime for t in tickets)
    # The task (eager in tests) sweeps at the real time: long past 72 h, all three become problem tickets.
    assert sweep_sla.delay().get() == {"warned": 0, "marked": 3, "escalated": 3}


def _replied(world: World) -> Ticket:
    t = _dispatched(world)
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    return s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已处理", now=T0 + 2 * H)


def test_reply_gives_the_first_responder_a_callback_task(world: World) -> None:
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    assert task.assignee_id == world.users["agent"].pk and task.due_at == T0 + 2 * H + 24 * H
    assert "callback_due" in _alerts("agent", world)
    assert f.sweep_callbacks(now=task.due_at - H) == 0
    assert f.sweep_callbacks(now=task.due_at) == 1 and f.sweep_callbacks(now=task.due_at + H) == 0
    assert "callback_overdue" in _alerts("agent", world)


def test_a_reply_noted_twice_still_gives_one_callback_task_and_one_alert(world: World) -> None:
    t = _replied(world)
    reply = t.events.get(kind="reply")
    f.on_ticket_event_callbacks(t, reply)  # the listener again for the same handling cycle: nothing new
    assert CallbackTask.objects.filter(ticket=t).count() == 1
    assert _alerts("agent", world).count("callback_due") == 1


def test_the_whole_loop_takes_no_savepoint(world: World) -> None:
    """The listeners skip their duplicates with ON CONFLICT DO NOTHING, not with a savepoint per row: a savepoint
    is two more round trips (SAVEPOINT, RELEASE) on every SMS, alert and callback task."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _dispatched(world)  # the day's first ticket number creates the day's counter (SQLite) or sequence (PostgreSQL)
    with CaptureQueriesContext(connection) as queries:
        t = _replied(world)
        t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已处理好", now=T0 + 3 * H)
        t = s.do_close_ticket(acting_user=world.user("agent"), ticket=t, now=T0 + 4 * H)
    assert t.status == "closed"
    # Inside the test's transaction each of the five service calls (create-and-dispatch, accept, reply, answer,
    # close) is one savepoint of its own; nothing inside them takes another.
    sql = [q["sql"] for q in queries]
    savepoints = [i for i, text in enumerate(sql) if text.upper().startswith("SAVEPOINT")]
    assert len(savepoints) == 5, [sql[i + 1][:80] for i in savepoints]
    # ... and the rows the savepoints used to guard are all there.
    assert CallbackTask.objects.filter(ticket=t).count() == 1 and "callback_due" in _alerts("agent", world)
    from loopdesk.notify.models import CustomerMessage

    assert sorted(CustomerMessage.objects.filter(ticket_id=t.pk).values_list("kind", flat=True)) == [
        "ack", "resolution", "survey"]


def test_callback_before_answering_the_customer_is_refused_clearly(world: World) -> None:
    task = CallbackTask.objects.get(ticket=_replied(world))
    with pytest.raises(InvalidTransition):
        f.do_record_callback(acting_user=world.user("agent"), task=task, verdict="satisfied", now=T0 + 3 * H)
    task.refresh_from_db()
    assert task.status == CallbackStatus.OPEN


def test_satisfied_callback_completes_the_task(world: World) -> None:
    t = _replied(world)
    s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知", now=T0 + 3 * H)
    task = CallbackTask.objects.get(ticket=t)
    t = f.do_record_callback(acting_user=world.user("agent"), task=task, verdict="satisfied", note="满意",
                             now=T0 + 4 * H)
    task.refresh_from_db()
    assert t.status == "called_back" and task.status == CallbackStatus.DONE and task.verdict == "satisfied"
    with pytest.raises(ValidationFailed):
        f.do_record_callback(acting_user=world.user("agent"), task=task, verdict="satisfied")


def test_dissatisfied_callback_reopens_by_default(world: World) -> None:
    t = _replied(world)
    s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知", now=T0 + 3 * H)
    t = f.do_record_callback(acting_user=world.user("agent"), task=CallbackTask.objects.get(ticket=t),
                             verdict="dissatisfied", note="信号仍然很差", now=T0 + 4 * H)
    assert t.status == "new" and t.reopen_count == 1
    assert list(t.events.order_by("seq").values_list("kind", flat=True))[-2:] == ["callback", "reopen"]


def test_dissatisfied_callback_escalates_when_policy_says_so(world: World) -> None:
    FollowupPolicy.objects.create(dissatisfied_action="escalate")
    t = _replied(world)
    s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知", now=T0 + 3 * H)
    t = f.do_record_callback(acting_user=world.user("agent"), task=CallbackTask.objects.get(ticket=t),
                             verdict="dissatisfied", note="态度不好", now=T0 + 4 * H)
    assert t.status == "called_back" and Escalation.objects.get(ticket=t).reason == "dissatisfied"


def test_unreachable_callback_is_recorded_with_its_note_and_neither_reopens_nor_escalates(world: World) -> None:
    t = _replied(world)
    s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知", now=T0 + 3 * H)
    task = CallbackTask.objects.get(ticket=t)
    t = f.do_record_callback(acting_user=world.user("agent"), task=task, verdict="unreachable",
                             note="三次拨打无人接听", now=T0 + 4 * H)
    task.refresh_from_db()
    assert task.status == CallbackStatus.DONE and task.verdict == "unreachable"
    event = t.events.order_by("seq").last()
    assert event.kind == "callback" and event.note == "三次拨打无人接听" and event.data.get("verdict") == "unreachable"
    assert t.reopen_count == 0 and not Escalation.objects.filter(ticket=t).exists()


def test_sweep_thresholds_come_from_the_tickets_sla_policy(world: World) -> None:
    usual = _dispatched(world)
    usual.sla_policy.__class__.objects.filter(pk=usual.sla_policy_id).update(
        overtime_minutes=6 * 60, problem_minutes=12 * 60, warn_before_minutes=30)
    short = _dispatched(world)
    assert short.sla_policy_id == usual.sla_policy_id and short.overtime_at < usual.overtime_at
    assert short.problem_at < usual.overtime_at
    f.sweep_sla(now=short.problem_at)
    short.refresh_from_db()
    usual.refresh_from_db()
    assert short.is_problem and Escalation.objects.get(ticket=short).reason == "problem"
    assert not usual.is_overtime and not Escalation.objects.filter(ticket=usual).exists()


def test_supervisor_resolves_an_escalation(world: World) -> None:
    t = _dispatched(world)
    f.sweep_sla(now=t.problem_at)
    escalation = Escalation.objects.get(ticket=t)
    with pytest.raises(ValidationFailed):
        f.do_resolve_escalation(acting_user=world.user("supervisor"), escalation=escalation, note=" ")
    done = f.do_resolve_escalation(acting_user=world.user("supervisor"), escalation=escalation, note="已督办")
    assert done.resolved_at is not None and not f.open_escalations().filter(pk=escalation.pk).exists()


def test_policy_refuses_unknown_contact_types() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        FollowupPolicy(progress_contact_types="complaint,rumour").clean()


def test_sync_followup_gives_bulk_loaded_open_tickets_their_watches(world: World) -> None:
    from django.core.management import call_command

    from loopdesk.notify.models import ProgressSchedule

    t = _dispatched(world)
    SlaWatch.objects.all().delete()
    ProgressSchedule.objects.all().delete()  # as if the ticket had been bulk-loaded
    call_command("sync_followup")
    assert set(SlaWatch.objects.filter(ticket=t).values_list("kind", flat=True)) == {"overtime", "problem"}
    assert ProgressSchedule.objects.filter(ticket=t).exists()
    call_command("sync_followup")
    assert SlaWatch.objects.filter(ticket=t).count() == 2


def test_sync_followup_gives_bulk_loaded_replied_tickets_their_callback(world: World) -> None:
    from django.core.management import call_command

    t = _dispatched(world)
    specialist = world.user("specialist")
    t = s.do_accept_ticket(acting_user=specialist, ticket=t, now=T0 + H)
    t = s.do_reply_ticket(acting_user=specialist, ticket=t, resolution="已修复基站。", now=T0 + 2 * H)
    untouched = _dispatched(world)
    CallbackTask.objects.all().delete()  # as if the tickets had been bulk-loaded
    call_command("sync_followup")
    task = CallbackTask.objects.get(ticket=t)
    hours = FollowupPolicy.current().callback_due_hours
    assert (task.assignee_id, task.cycle, task.status) == (world.users["agent"].pk, 0, CallbackStatus.OPEN)
    assert task.due_at == t.replied_at + dt.timedelta(hours=hours)
    assert not CallbackTask.objects.filter(ticket=untouched).exists()
    call_command("sync_followup")
    assert CallbackTask.objects.filter(ticket=t).count() == 1

"""Rollups follow every ticket change, equal a direct recount, and can be rebuilt and checked."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopdesk.conftest import T0, World, build_world
from loopdesk.core.errors import DomainError
from loopdesk.customers.choices import Brand, VipLevel
from loopdesk.reports import rollups
from loopdesk.reports.models import DailyRollup, ReportFact, RollupPending
from loopdesk.reports.monthly import Everyone
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Action, CallbackVerdict, Channel, ContactType, RejectReason
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.policy import allowed_actions

ACTORS = ["agent", "dispatcher", "specialist", "optimiser", "it_specialist", "head", "supervisor"]
UNITS = ["netmaint", "netopt", "it"]


def _act(world: World, action: str, actor: str, ticket: Ticket, unit: str, verdict: str, at: dt.datetime) -> Ticket:
    text = "说明"
    extra: dict = {
        Action.DISPATCH: {"to_unit": world.units[unit]},
        Action.TRANSFER: {"to_unit": world.units[unit], "note": text},
        Action.RETURN: {"reason": text},
        Action.REQUEST_INFO: {"question": text},
        Action.PROVIDE_INFO: {"info": text},
        Action.REQUEST_HOLD: {"reason": text},
        Action.DENY_HOLD: {"reason": text},
        Action.REPLY: {"resolution": text},
        Action.ANSWER: {"answer": text, "resolution": text},
        Action.CALLBACK: {"verdict": verdict},
        Action.REOPEN: {"reason": text},
        Action.WITHDRAW: {"reason": text},
        Action.REJECT: {"reason": RejectReason.INVALID},
    }.get(action, {})
    return s.ACTION_SERVICES[action](acting_user=world.user(actor), ticket=ticket, now=at, **extra)


def _sum(counter: str, **filters: object) -> int:
    rollups.fold_pending()  # as the worker does after each commit
    return sum(DailyRollup.objects.filter(**filters).values_list(counter, flat=True))


def test_a_full_loop_is_counted_on_the_day_of_each_step(world: World) -> None:
    agent, spec = world.user("agent"), world.user("specialist")
    t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    assert _sum("created", day=T0.date()) == 1
    assert _sum("dispatched") == 0
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=T0)
    # The created row moved to the department it was dispatched to.
    assert _sum("created", department_id=world.units["netmaint"].pk) == 1
    assert _sum("created", department_id=0) == 0
    t = s.do_accept_ticket(acting_user=spec, ticket=t, now=T0 + dt.timedelta(hours=1))
    reply_at = T0 + dt.timedelta(days=1, hours=3)
    t = s.do_reply_ticket(acting_user=spec, ticket=t, resolution="已优化", now=reply_at)
    assert _sum("replied", day=reply_at.date()) == 1
    assert _sum("reply_minutes") == 27 * 60
    assert _sum("rh5") == 1  # 27 h falls in [24 h, 36 h)
    t = s.do_answer_customer(acting_user=agent, ticket=t, answer="已处理", now=reply_at + dt.timedelta(hours=1))
    t = s.do_callback(acting_user=agent, ticket=t, verdict=CallbackVerdict.SATISFIED,
                      now=reply_at + dt.timedelta(days=1))
    close_at = reply_at + dt.timedelta(days=2)
    s.do_close_ticket(acting_user=agent, ticket=t, now=close_at)
    assert _sum("cb_satisfied") == 1
    assert _sum("closed", day=close_at.date()) == 1
    assert _sum("fcr") == 0
    assert rollups.stored_rollups() == rollups.recount_from_tickets()
    assert rollups.pending_count() == 0


def test_first_contact_resolution_and_overtime(world: World) -> None:
    agent, spec = world.user("agent"), world.user("specialist")
    t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    t = s.do_answer_customer(acting_user=agent, ticket=t, answer="已解答", resolution="当场解决", now=T0)
    s.do_close_ticket(acting_user=agent, ticket=t, now=T0 + dt.timedelta(minutes=5))
    assert _sum("fcr") == 1
    late = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    late = s.do_dispatch_ticket(acting_user=agent, ticket=late, to_unit=world.units["netmaint"], now=T0)
    late = s.do_accept_ticket(acting_user=spec, ticket=late, now=T0)
    s.do_reply_ticket(acting_user=spec, ticket=late, resolution="处理", now=T0 + dt.timedelta(hours=60))
    assert (_sum("dispatched"), _sum("overtime"), _sum("problem")) == (1, 1, 0)
    assert rollups.stored_rollups() == rollups.recount_from_tickets()


def test_rebuild_and_check_find_and_repair_a_tampered_rollup(world: World) -> None:
    agent = world.user("agent")
    for minutes in range(3):
        t = s.do_create_ticket(acting_user=agent, now=T0 + dt.timedelta(minutes=minutes), **world.ticket_kwargs())
        s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=T0)
    rollups.fold_pending()
    assert rollups.check().ok
    DailyRollup.objects.update(created=99)
    ReportFact.objects.filter(pk=t.pk).update(channel="sms")
    report = rollups.check()
    assert not report.ok
    assert [(d[0], d[1]) for d in report.fact_differences] == [(t.pk, "channel")]
    assert any(name == "created" and stored == 99 for _key, name, stored, _exp in report.rollup_differences)
    call_command("rebuild_rollups", verbosity=0)
    assert rollups.check().ok
    assert rollups.stored_rollups() == rollups.recount_from_tickets()


def test_check_command_exits_non_zero_on_a_difference(world: World) -> None:
    s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    with pytest.raises(SystemExit):  # the change is not folded yet
        call_command("check_rollups", "--no-fold", verbosity=0)
    call_command("check_rollups", verbosity=0)  # folds first, as the worker would
    DailyRollup.objects.update(created=5)
    with pytest.raises(SystemExit):
        call_command("check_rollups", verbosity=0)


def test_bulk_loaded_tickets_join_the_rollups_on_their_next_event(world: World) -> None:
    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=T0)
    ReportFact.objects.all().delete()
    DailyRollup.objects.all().delete()  # as if written by the bulk generator
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0)
    rollups.fold_pending()
    assert ReportFact.objects.get(pk=t.pk).department_id == world.units["netmaint"].pk
    assert rollups.stored_rollups() == rollups.recount_from_tickets()


steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # which ticket (a new one when it does not exist yet)
        st.integers(min_value=0, max_value=60),  # which allowed action
        st.sampled_from(UNITS),
        st.sampled_from(list(CallbackVerdict.values)),
        st.integers(min_value=1, max_value=30 * 60),  # minutes until the next step
        st.sampled_from([Brand.GOTONE, Brand.MZONE, Brand.SHENZHOUXING]),
        st.sampled_from([ContactType.COMPLAINT, ContactType.FAULT, ContactType.APPEAL]),
        st.sampled_from(["indoor", "calls", "dispute", "other"]),
    ),
    min_size=2,
    max_size=25,
)


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_rollups_equal_a_direct_recount_after_random_changes(steps: list) -> None:
    world = _world()
    tickets: list[Ticket] = []
    at = T0
    actors = [world.user(a) for a in ACTORS]
    for which, pick, unit, verdict, minutes, brand, contact_type, category in steps:
        at += dt.timedelta(minutes=minutes)
        if which >= len(tickets):
            customer = world.customer(brand=brand, vip_level=VipLevel.GOLD if pick % 3 == 0 else VipLevel.NONE)
            tickets.append(s.do_create_ticket(
                acting_user=actors[0], now=at,
                **world.ticket_kwargs(customer=customer, contact_type=contact_type,
                                      channel=Channel.HALL if pick % 2 else Channel.HOTLINE,
                                      category=world.categories[category])))
            continue
        ticket = Ticket.objects.select_related("handler_unit").get(pk=tickets[which].pk)
        options = [(a, u) for u in actors for a in allowed_actions(u, ticket)]
        if not options:
            continue
        action, actor = options[pick % len(options)]
        with contextlib.suppress(DomainError):  # a refused action changes nothing
            tickets[which] = _act(world, action, actor.username, ticket, unit, verdict, at)
        if pick % 4 == 0:  # the worker folds at random moments, sometimes several changes at once
            rollups.fold_pending(batch_size=1 + pick % 3)
    rollups.fold_pending()
    incremental = {cube.table: rollups.stored_rollups(cube=cube) for cube in rollups.CUBES}
    for cube in rollups.CUBES:
        assert incremental[cube.table] == rollups.recount_from_tickets(cube), cube.table
    _hops_agree_with_the_timelines(incremental[rollups.DAILY.table])
    _callbacks_agree_with_the_timelines(incremental[rollups.DAILY.table])
    assert rollups.check().ok
    rollups.rebuild()
    assert {cube.table: rollups.stored_rollups(cube=cube) for cube in rollups.CUBES} == incremental


def _hops_agree_with_the_timelines(daily: dict) -> None:
    """The hop counters by department, against the timeline events counted directly (not through the facts):
    a hop received per dispatch / transfer to the unit; returned (transferred on) per return (transfer) by the unit
    that held the ticket (`from_unit`); handled per reply, return or transfer."""
    from django.db.models import Count

    from loopdesk.tickets.choices import EventKind
    from loopdesk.tickets.models import TicketEvent

    def by_unit(column: str, *kinds: str) -> dict[int, int]:
        rows = TicketEvent.objects.filter(kind__in=kinds).values(column).annotate(n=Count("pk")).order_by()
        return {row[column]: row["n"] for row in rows}

    def stored(counter: str) -> dict[int, int]:
        out: dict[int, int] = {}
        for key, amounts in daily.items():
            if amounts.get(counter):
                department = key[rollups.DAILY.columns.index("department_id")]
                out[department] = out.get(department, 0) + amounts[counter]
        return out

    assert stored("hops") == by_unit("to_unit", EventKind.DISPATCH, EventKind.TRANSFER)
    assert stored("hop_returned") == by_unit("from_unit", EventKind.RETURN)
    assert stored("hop_transferred") == by_unit("from_unit", EventKind.TRANSFER)
    assert stored("hop_done") == by_unit("from_unit", EventKind.REPLY, EventKind.RETURN, EventKind.TRANSFER)


def _callbacks_agree_with_the_timelines(daily: dict) -> None:
    """The callback counters by day, against the tickets and their callback events counted directly: a verdict on the
    day of its callback (a reopened work order's dissatisfied one on the day of the last dissatisfied callback, the
    verdict it has now otherwise); owed (answered after a reply) and completed (called back satisfied or not in this
    cycle) on the answer day."""
    from loopdesk.reports.rollups import local_day
    from loopdesk.tickets.choices import EventKind
    from loopdesk.tickets.models import TicketEvent

    counters = ("cb_satisfied", "cb_dissatisfied", "cb_unreachable", "cb_due", "cb_done")
    expected: dict[tuple, int] = {}

    def add(day: dt.date | None, counter: str) -> None:
        if day is not None:
            expected[(day, counter)] = expected.get((day, counter), 0) + 1

    calls: dict[int, list] = {}
    for ticket_id, at, data in TicketEvent.objects.filter(kind=EventKind.CALLBACK).order_by("seq").values_list(
            "ticket_id", "created_at", "data"):
        calls.setdefault(ticket_id, []).append((data["verdict"], local_day(at)))
    for t in Ticket.objects.all():
        unhappy = [day for verdict, day in calls.get(t.pk, []) if verdict == CallbackVerdict.DISSATISFIED]
        if t.reopen_count and unhappy:
            add(unhappy[-1], "cb_dissatisfied")
        elif t.callback_verdict:
            add(calls[t.pk][-1][1], f"cb_{t.callback_verdict}")
        if t.answered_at is not None and t.replied_at is not None:
            add(local_day(t.answered_at), "cb_due")
            if t.callback_verdict in (CallbackVerdict.SATISFIED, CallbackVerdict.DISSATISFIED):
                add(local_day(t.answered_at), "cb_done")
    stored: dict[tuple, int] = {}
    for key, amounts in daily.items():
        for counter in counters:
            if amounts.get(counter):
                stored[(key[0], counter)] = stored.get((key[0], counter), 0) + amounts[counter]
    assert stored == expected


_cached: dict[str, World] = {}


def _world() -> World:
    from loopdesk.org.models import OrgUnit

    world = _cached.get("w")
    if world is None or not OrgUnit.objects.filter(pk=world.units["hq"].pk).exists():
        world = build_world()
        _cached["w"] = world
    return world


def test_a_ticket_returned_twice_counts_once_as_returned(world: World) -> None:
    from loopdesk.reports import measures as m

    agent, it = world.user("agent"), world.user("it_specialist")
    t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    for _ in range(2):
        t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["it"], now=T0)
        t = s.do_return_ticket(acting_user=it, ticket=t, reason="非本部门", now=T0)
    assert _sum("returns") == 1
    period = m.Period.month(2026, 11)
    assert m.drilldown(world.user("supervisor"), "returned", period).count() == 1


def test_the_listener_only_notes_the_ticket_and_the_fold_counts_each_change_once(world: World) -> None:
    agent = world.user("agent")
    t = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    t = s.do_dispatch_ticket(acting_user=agent, ticket=t, to_unit=world.units["netmaint"], now=T0)
    # Inside the request: notes only, no fact, no rollup row.
    assert rollups.pending_count() == 2
    assert not ReportFact.objects.exists()
    assert not DailyRollup.objects.exists()
    assert rollups.fold_pending(batch_size=1) == 2  # two transactions, the second finds nothing to change
    assert rollups.pending_count() == 0
    assert (_sum("created"), _sum("dispatched")) == (1, 1)
    assert rollups.fold_pending() == 0
    # A note left over (e.g. a worker that died after the fold committed elsewhere) changes nothing twice.
    RollupPending.objects.create(ticket_id=t.pk)
    RollupPending.objects.create(ticket_id=t.pk)
    assert rollups.fold_pending() == 2
    assert (_sum("created"), _sum("dispatched")) == (1, 1)
    assert rollups.check().ok


def test_the_fold_runs_after_commit_through_the_task(world: World, django_capture_on_commit_callbacks) -> None:
    rollups._last_kick[0] = -rollups.KICK_INTERVAL  # no kick in the last second of this process
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    assert len(callbacks) == 1  # one kick for the transaction, whatever the number of events
    # The kick sent reports.fold_rollups (run in-process in tests): the ticket is counted, nothing pending.
    assert rollups.pending_count() == 0
    assert sum(DailyRollup.objects.values_list("created", flat=True)) == 1


def test_the_dashboard_calls_the_figures_stale_only_for_tickets_nobody_will_fold(world: World) -> None:
    from loopdesk.reports.views import rollups_stale

    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    assert not rollups_stale()  # noted: the worker folds it within seconds
    rollups.fold_pending()
    assert not rollups_stale()
    ReportFact.objects.filter(pk=t.pk).delete()  # as if loaded in bulk without rebuild_rollups
    assert rollups_stale()


def test_check_reports_a_window_survey_fact_out_of_step(world: World, capsys: pytest.CaptureFixture) -> None:
    from loopdesk.reports.models import SurveyFact
    from loopdesk.surveys import services as surveys

    survey = surveys.do_create_window_survey(acting_user=world.user("agent"), msisdn="13900002222",
                                             channel=Channel.HALL, contact_ref="HALL-9", now=T0)
    rollups.fold_pending()
    assert rollups.check().ok and SurveyFact.objects.get(pk=survey.pk).survey_score is None
    SurveyFact.objects.filter(pk=survey.pk).update(survey_score=5)
    with pytest.raises(SystemExit):
        call_command("check_rollups", verbosity=0)
    assert f"fact of window survey {survey.pk}: survey_score is 5, expected None" in capsys.readouterr().out


def test_a_customers_new_brand_reaches_the_figures_after_an_import_or_an_edit(world: World) -> None:
    """The brand is a dimension of the work orders' facts: a customer import (or an edit in the admin) that changes
    it notes the customer's tickets for the fold, so the brand figures follow and check_rollups finds no
    difference (it reported every such ticket's brand until the ticket's next event)."""
    import io

    from loopdesk.reports import measures as m
    from loopdesk.reports.imports import import_customers

    agent, supervisor = world.user("agent"), world.user("supervisor")
    customer = world.customer()
    tickets = [s.do_create_ticket(acting_user=agent, now=T0 + dt.timedelta(minutes=i),
                                  **world.ticket_kwargs(customer=customer)) for i in range(2)]
    other = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    rollups.fold_pending()
    assert customer.brand == "szx" and other.customer_id != customer.pk
    result = import_customers(acting_user=supervisor, source=io.BytesIO(
        f"手机号码,品牌\n{customer.msisdn},全球通\n{other.customer.msisdn},神州行\n".encode()))
    assert result.updated == 1 and result.applied
    rollups.fold_pending()
    assert rollups.check().ok
    period = m.Period.month(T0.year, T0.month)
    by_brand = {key: t["created"] for key, t in m.totals(supervisor, period, group_by="brand").items()}
    assert by_brand == {"gotone": 2, "szx": 1}
    customer.refresh_from_db()
    customer.brand = "mzone"
    customer.save()  # as the customer admin does
    rollups.fold_pending()
    assert rollups.check().ok
    assert ReportFact.objects.get(pk=tickets[1].pk).brand == "mzone"


def test_a_unit_moved_under_another_centre_takes_its_window_survey_figures_along(world: World) -> None:
    """A window survey counts under the centre above the unit rated: when the unit moves (the hall room to another
    centre, or another city), its surveys' facts are noted for the fold, so the branch figures follow and
    check_rollups finds no difference (it reported every such survey until a rebuild)."""
    from loopdesk.reports import measures as m
    from loopdesk.reports.models import SurveyFact
    from loopdesk.surveys import services as surveys

    hall, centre = world.units["hall_xh"], world.units["csc"]
    made = [surveys.do_create_window_survey(acting_user=world.user("clerk"), msisdn=f"1390000222{i}",
                                            channel=Channel.HALL, contact_ref=f"HALL-{i}", now=T0) for i in range(2)]
    rollups.fold_pending()
    assert rollups.check().ok
    assert set(SurveyFact.objects.values_list("branch_id", flat=True)) == {world.units["branch_xh"].pk}
    hall.refresh_from_db()
    hall.parent = centre
    hall.save()  # as the unit admin does
    rollups.fold_pending()
    assert rollups.check().ok
    assert set(SurveyFact.objects.filter(pk__in=[s_.pk for s_ in made]).values_list("branch_id", flat=True)) == {
        centre.pk}
    period = m.Period.month(T0.year, T0.month)
    by_branch = {k: t["ws_sent"] for k, t in m.totals(Everyone(), period, group_by="branch").items() if t["ws_sent"]}
    assert by_branch == {centre.pk: 2}
    hall.name = "新会渠道室（改名）"
    hall.save()
    assert rollups.pending_count() == 0  # nothing moved: nothing noted
    # A unit with a unit below it: the surveys rated on the lower one move along with it.
    from loopdesk.org.choices import UnitFunction, UnitLevel
    from loopdesk.org.models import OrgUnit

    group = OrgUnit.objects.create(code="XH-G", name="新会营业组", parent=world.units["branch_xh"],
                                   level=UnitLevel.ROOM, function=UnitFunction.FRONT_LINE, province="GD", region="JM")
    counter = OrgUnit.objects.create(code="XH-G1", name="新会一号台", parent=group, level=UnitLevel.ROOM,
                                     function=UnitFunction.FRONT_LINE, province="GD", region="JM")
    clerk = world.user("clerk")
    clerk.unit = counter
    clerk.save()
    low = surveys.do_create_window_survey(acting_user=world.user("clerk"), msisdn="13900002229",
                                          channel=Channel.HALL, contact_ref="HALL-9", now=T0)
    rollups.fold_pending()
    assert SurveyFact.objects.get(pk=low.pk).branch_id == world.units["branch_xh"].pk
    group.parent = centre
    group.save()
    rollups.fold_pending()
    assert rollups.check().ok and SurveyFact.objects.get(pk=low.pk).branch_id == centre.pk

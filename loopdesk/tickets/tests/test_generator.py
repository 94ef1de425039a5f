"""The demo / benchmark data generator: deterministic, realistic mixes, timelines that replay to the ticket."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from loopdesk.core.text import MSISDN_RE
from loopdesk.customers.choices import Brand, VipLevel
from loopdesk.customers.models import Customer
from loopdesk.org.choices import Role
from loopdesk.org.models import User
from loopdesk.sla.calendars import SHANGHAI, working_time_for
from loopdesk.sla.clock import compute_sla
from loopdesk.tickets.choices import TERMINAL_STATUSES, Status
from loopdesk.tickets.generator import DEMO_PASSWORD, Options, generate
from loopdesk.tickets.models import Ticket, TicketEvent, TicketLink, TicketSequence, TicketUnitAccess

END = dt.datetime(2026, 11, 20, 18, 0, tzinfo=SHANGHAI)
BIG_FIVE = {"基础通信", "梦网业务", "通信费用", "市场营销", "业务支撑"}


@pytest.fixture
def reference(db: None) -> None:
    from loopdesk.core.reference import seed_reference

    seed_reference()


@pytest.fixture
def demo(reference: None) -> list[Ticket]:
    generate(Options(tickets=2000, seed=7, customers=500, months=2, end=END))
    return list(Ticket.objects.select_related("sla_policy__calendar", "category_root").order_by("id"))


def _snapshot(tickets: int, seed: int) -> list[tuple[str, str, str]]:
    """Generate inside a savepoint that is rolled back, and return what came out."""
    with transaction.atomic():
        generate(Options(tickets=tickets, seed=seed, customers=200, end=END))
        rows = list(Ticket.objects.order_by("id").values_list("number", "description", "status"))
        transaction.set_rollback(True)
    return rows


@pytest.mark.django_db
def test_same_seed_gives_the_same_numbers_and_descriptions(reference: None) -> None:
    first = _snapshot(300, seed=3)
    again = _snapshot(300, seed=3)
    other = _snapshot(300, seed=4)
    assert len(first) == 300
    assert first == again
    assert first != other


def _everything(tickets: int, seed: int, **options: object) -> dict[str, list[tuple]]:
    """Every row a run writes (tickets, events, unit access, links, surveys, customers), rolled back after."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    from loopdesk.surveys.models import Survey

    models = (Ticket, TicketEvent, TicketUnitAccess, TicketLink, Survey, Customer, TicketSequence)
    with connection.cursor() as cursor:  # PostgreSQL's sequences do not roll back: start each run's ids alike
        for sql in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
            cursor.execute(sql)
    with transaction.atomic():
        generate(Options(tickets=tickets, seed=seed, customers=300, end=END, **options))  # type: ignore[arg-type]
        rows = {
            model.__name__: list(model.objects.order_by("pk").values_list())
            for model in models
        }
        transaction.set_rollback(True)
    return rows


@pytest.mark.django_db
def test_a_forked_builder_writes_exactly_what_the_single_process_writes(reference: None) -> None:
    """The tickets are built in a child process for big runs; with the same seed every row is the same."""
    alone = _everything(1500, seed=11, process=False, batch_size=400)
    forked = _everything(1500, seed=11, process=True, batch_size=400)
    assert len(alone["Ticket"]) == 1500 and len(alone["Survey"]) > 500 and alone["TicketLink"]
    for table, rows in alone.items():
        assert forked[table] == rows, table
    assert _everything(1500, seed=12, process=True, batch_size=400)["TicketEvent"] != alone["TicketEvent"]


@pytest.mark.django_db
def test_customer_brand_and_vip_mix_are_realistic(reference: None) -> None:
    generate(Options(tickets=0, seed=1, customers=4000, end=END))
    customers = list(Customer.objects.values("msisdn", "brand", "vip_level", "home_branch_id", "account_manager_id"))
    assert len(customers) == 4000
    brands = Counter(c["brand"] for c in customers)
    assert brands[Brand.GOTONE] / 4000 == pytest.approx(0.20, abs=0.03)
    assert brands[Brand.MZONE] / 4000 == pytest.approx(0.25, abs=0.03)
    assert brands[Brand.SHENZHOUXING] / 4000 == pytest.approx(0.55, abs=0.03)
    vips = [c for c in customers if c["vip_level"] != VipLevel.NONE]
    assert len(vips) / 4000 == pytest.approx(0.20, abs=0.03)
    assert Counter(c["brand"] for c in vips).most_common(1)[0][0] == Brand.GOTONE
    assert all(MSISDN_RE.match(c["msisdn"]) for c in customers)
    assert len({c["msisdn"] for c in customers}) == 4000
    assert len({c["home_branch_id"] for c in customers}) == 6
    assert sum(1 for c in vips if c["account_manager_id"]) > len(vips) * 0.8


@pytest.mark.django_db
def test_staff_in_every_role_with_the_demo_password(reference: None) -> None:
    generate(Options(tickets=0, seed=1, customers=10, end=END))
    users = list(User.objects.prefetch_related("groups"))
    assert len(users) >= 50
    roles = Counter(g.name for u in users for g in u.groups.all())
    assert set(roles) == {r.value for r in Role}
    agent = User.objects.get(username="agent1")
    assert agent.unit.name == "话务室"
    assert agent.check_password(DEMO_PASSWORD)
    assert User.objects.get(username="dispatcher1").unit.name == "综援室"


@pytest.mark.django_db
def test_five_big_categories_are_over_80_percent(demo: list[Ticket]) -> None:
    roots = Counter(t.category_root.name for t in demo)
    assert sum(roots[name] for name in BIG_FIVE) / len(demo) > 0.80
    assert all(t.category.path.startswith(t.category_root.path) for t in demo)
    contact = Counter(t.contact_type for t in demo)
    assert contact.most_common(1)[0][0] == "complaint"
    assert len({t.description for t in demo}) > 0.9 * len(demo)


@pytest.mark.django_db
def test_every_timeline_replays_to_status_handler_and_sla_columns(demo: list[Ticket]) -> None:
    events: dict[int, list[TicketEvent]] = {}
    for event in TicketEvent.objects.order_by("ticket_id", "seq"):
        events.setdefault(event.ticket_id, []).append(event)
    access: dict[int, set[int]] = {}
    for ticket_id, unit_id in TicketUnitAccess.objects.values_list("ticket_id", "unit_id"):
        access.setdefault(ticket_id, set()).add(unit_id)
    for t in demo:
        timeline = events[t.pk]
        assert [e.seq for e in timeline] == list(range(1, len(timeline) + 1))
        assert t.last_event_seq == len(timeline) and t.version == 1 + len(timeline)
        status = unit = user = None
        dispatched_to = set()
        for e in timeline:
            assert e.created_at >= timeline[0].created_at
            if e.to_status:
                assert not status or e.from_status == status, (t.number, e.seq)
                status = e.to_status
            if e.to_unit_id:
                unit, user = e.to_unit_id, e.to_user_id
            if e.kind in ("dispatch", "transfer"):
                dispatched_to.add(e.to_unit_id)
        assert (status, unit, user) == (t.status, t.handler_unit_id, t.handler_user_id), t.number
        assert t.is_open == (t.status not in TERMINAL_STATUSES)
        assert access.get(t.pk, set()) == dispatched_to
        state = compute_sla(timeline, t.sla_policy, working_time_for(t.sla_policy.calendar), END)
        for name, value in state.as_fields().items():
            assert getattr(t, name) == value, (t.number, name)
        assert (t.replied_at, t.answered_at) == (state.replied_at, state.answered_at)


@pytest.mark.django_db
def test_closed_tickets_have_resolution_and_answer(demo: list[Ticket]) -> None:
    closed = [t for t in demo if t.status == Status.CLOSED]
    assert len(closed) > 0.8 * len(demo)
    assert all(t.resolution and t.answer and t.closed_at for t in closed)
    assert {t.status for t in demo} >= {Status.CLOSED, Status.WITHDRAWN, Status.REJECTED, Status.IN_PROGRESS}


@pytest.mark.django_db
def test_numbers_are_unique_and_continue_the_daily_sequence(demo: list[Ticket]) -> None:
    numbers = [t.number for t in demo]
    assert len(set(numbers)) == len(numbers)
    assert all(n.startswith("JM-") and len(n) == len("JM-20261120-000001") for n in numbers)
    last = max(demo, key=lambda t: t.number)
    day = dt.date(int(last.number[3:7]), int(last.number[7:9]), int(last.number[9:11]))
    assert TicketSequence.objects.get(region="JM", day=day).last_value == int(last.number[-6:])
    assert demo[0].created_at.astimezone(SHANGHAI).strftime("%Y%m%d") == demo[0].number[3:11]


@pytest.mark.django_db
def test_some_tickets_are_overtime_and_some_are_problem_tickets(demo: list[Ticket]) -> None:
    overtime = [t for t in demo if t.is_overtime]
    problem = [t for t in demo if t.is_problem]
    assert 0.03 * len(demo) < len(overtime) < 0.3 * len(demo)
    assert 0 < len(problem) < len(overtime)
    assert any(t.is_open for t in demo)


@pytest.mark.django_db
def test_repeat_complaints_are_flagged_and_linked_to_the_earlier_one(demo: list[Ticket]) -> None:
    by_id = {t.pk: t for t in demo}
    repeats = [t for t in demo if t.is_repeat]
    assert repeats
    links = {link.from_ticket_id: link for link in TicketLink.objects.filter(kind="repeat")}
    assert set(links) == {t.pk for t in repeats}
    for t in repeats:
        earlier = by_id[links[t.pk].to_ticket_id]
        assert (earlier.customer_id, earlier.category_root_id) == (t.customer_id, t.category_root_id)
        assert dt.timedelta(0) <= t.created_at - earlier.created_at <= dt.timedelta(days=30)
        assert earlier.status != Status.REJECTED
        second = TicketEvent.objects.get(ticket=t, seq=2)
        assert second.kind == "repeat" and second.data == {"repeat_of": earlier.number}


@pytest.mark.django_db
def test_every_complaint_is_a_repeat_exactly_when_the_service_would_flag_it(demo: list[Ticket]) -> None:
    """The service's rule (tickets.services._earlier_complaint): the latest complaint or appeal of the customer in
    the same top category within 30 days, not rejected, whatever the customer complained about in between."""
    links = {link.from_ticket_id: link.to_ticket_id for link in TicketLink.objects.filter(kind="repeat")}
    complaints = [t for t in demo if t.contact_type in ("complaint", "appeal")]
    wrong = []
    for t in complaints:
        earlier = [e for e in complaints if e.pk != t.pk and e.status != Status.REJECTED
                   and (e.customer_id, e.category_root_id) == (t.customer_id, t.category_root_id)
                   and dt.timedelta(0) <= t.created_at - e.created_at <= dt.timedelta(days=30)
                   and (e.created_at, e.pk) < (t.created_at, t.pk)]
        expected = max(earlier, key=lambda e: (e.created_at, e.pk)).pk if earlier else None
        if links.get(t.pk) != expected or t.is_repeat != (expected is not None):
            wrong.append((t.number, t.is_repeat, links.get(t.pk), expected))
    assert not wrong, wrong[:5]


@pytest.mark.django_db
def test_load_demo_generates_once_and_prints_the_logins(reference: None, capsys: pytest.CaptureFixture) -> None:
    call_command("load_demo", tickets=200)
    out = capsys.readouterr().out
    assert Ticket.objects.count() == 200
    assert "agent1" in out and "supervisor1" in out and DEMO_PASSWORD in out
    call_command("load_demo", tickets=200)
    assert Ticket.objects.count() == 200


def test_closed_tickets_have_surveys_and_the_rollups_count_them(demo: list[Ticket]) -> None:
    from loopdesk.reports import rollups
    from loopdesk.surveys.models import Survey, SurveyKind, SurveyStatus

    closed = [t for t in demo if t.status == Status.CLOSED]
    ticket_surveys = Survey.objects.filter(kind=SurveyKind.TICKET)
    assert ticket_surveys.count() == len(closed)
    answered = ticket_surveys.filter(status=SurveyStatus.ANSWERED)
    assert 0.3 < answered.count() / len(closed) < 0.6
    assert not answered.filter(score__isnull=True).exists()
    assert all(s.sent_at == s.ticket.closed_at for s in ticket_surveys.select_related("ticket")[:50])
    window = Survey.objects.filter(kind=SurveyKind.WINDOW)
    assert window.exists() and set(window.values_list("channel", flat=True)) <= {"hall", "hotline"}
    rollups.rebuild()
    sums = rollups.stored_rollups()
    assert sum(r.get("sv_sent", 0) for r in sums.values()) == len(closed)
    assert sum(r.get("sv_answered", 0) for r in sums.values()) == answered.count()
    assert sum(r.get("ws_sent", 0) for r in sums.values()) == window.count()
    assert rollups.check().ok


@pytest.mark.django_db
def test_default_spread_is_about_monthly_volume_tickets_a_month(reference: None) -> None:
    """Without `months`, a run covers tickets / MONTHLY_VOLUME months (rounded up, at most 36) back from its end,
    so a month of the data holds about 5,000 tickets (Jiangmen's volume, domain.md)."""
    from loopdesk.tickets.generator import MONTHLY_VOLUME, Generator

    assert MONTHLY_VOLUME == 5000
    for tickets, days in ((5000, 30), (10_000, 61), (60_000, 365), (180_000, 1096)):
        assert Generator(Options(tickets=tickets, end=END)).days == days
        assert 4900 <= tickets / (days / 30.44) <= 5100
    assert Generator(Options(tickets=1_000_000, end=END)).days == 1096  # capped at 3 years (~27,800 a month)
    # A small run, generated: 5,000 tickets fill the month before END, about evenly.
    generate(Options(tickets=MONTHLY_VOLUME, seed=5, customers=1000, end=END, surveys=False))
    created = sorted(Ticket.objects.values_list("created_at", flat=True))
    assert len(created) == MONTHLY_VOLUME and created[-1] <= END
    assert 28.5 <= (created[-1] - created[0]).total_seconds() / 86400 <= 30.5
    halves = Counter(c > END - dt.timedelta(days=15) for c in created)
    assert 0.4 * MONTHLY_VOLUME <= halves[True] <= 0.6 * MONTHLY_VOLUME, halves


@pytest.mark.django_db
def test_about_fifty_staff_in_every_role_share_the_work(reference: None) -> None:
    call_command("generate_data", tickets=600, seed=3, customers=300, months=1, staff_per_role=50,
                 stdout=io.StringIO())
    roles = Counter(g.name for u in User.objects.prefetch_related("groups") for g in u.groups.all())
    assert set(roles) == {r.value for r in Role}
    assert all(50 <= n <= 60 for n in roles.values()), roles  # 50, plus a specialist for a rule's unstaffed unit
    numbers = list(User.objects.exclude(employee_no="").values_list("employee_no", flat=True))
    assert len(numbers) == len(set(numbers))
    # The front line's work is spread over the clerks and agents, not given to the first of each room.
    hall = Ticket.objects.filter(channel="hall").values_list("first_responder", flat=True)
    agents = Ticket.objects.filter(channel="hotline").values_list("first_responder", flat=True)
    assert len(set(hall)) > 12 and len(set(agents)) > 30
    # Running again adds nobody.
    before = User.objects.count()
    call_command("generate_data", tickets=0, seed=3, customers=10, staff_per_role=50, stdout=io.StringIO())
    assert User.objects.count() == before


def test_holds_are_approved_by_the_heads_above_never_by_who_asked(reference: None) -> None:
    from loopdesk.tickets.choices import EventKind

    call_command("generate_data", tickets=4000, seed=5, customers=400, months=1, staff_per_role=12,
                 stdout=io.StringIO())
    approvals = list(TicketEvent.objects.filter(kind=EventKind.APPROVE_HOLD).values_list("ticket_id", "actor_id"))
    asked = dict(TicketEvent.objects.filter(kind=EventKind.REQUEST_HOLD).values_list("ticket_id", "actor_id"))
    heads = set(User.objects.filter(groups__name=Role.DEPARTMENT_HEAD).values_list("pk", flat=True))
    assert len(approvals) >= 5
    assert all(actor in heads and actor != asked[ticket] for ticket, actor in approvals)
    assert len({actor for _t, actor in approvals}) > 1  # spread over the heads, not the last one listed


@pytest.mark.django_db
def test_consultations_and_suggestions_read_as_such(demo: list[Ticket]) -> None:
    complaint_words = ("投诉", "要求退订", "要求核查并退还", "要求处理相关人员", "情绪较激动", "要求尽快处理",
                       "要求兑现承诺", "要求说明原因并赔偿", "问题依旧")
    by_type: dict[str, list[Ticket]] = {}
    for t in demo:
        by_type.setdefault(t.contact_type, []).append(t)
    consultations, suggestions = by_type["consultation"], by_type["suggestion"]
    assert len(consultations) > 50 and len(suggestions) > 10
    for t in consultations:
        assert not any(w in t.description for w in complaint_words), t.description
        assert any(w in t.description for w in ("咨询", "询问", "想了解")), t.description
        assert "解答" in t.resolution or "告知" in t.resolution or "介绍" in t.resolution or not t.resolution, \
            t.resolution
    for t in suggestions:
        assert not any(w in t.description for w in complaint_words), t.description
        assert "建议" in t.description or "希望" in t.description, t.description
    assert len({t.description for t in consultations}) > len(consultations) * 0.8  # varied, not one text


@pytest.mark.postgres
@pytest.mark.django_db
def test_numbers_continue_after_the_days_sequence_on_postgresql(reference: None) -> None:
    """Work orders registered today on PostgreSQL take their numbers from the day's sequence (not the counter
    row): generated ones continue after them, and the next registration continues after the generated ones."""
    from loopdesk.tickets.numbers import next_ticket_number

    day = END.date()
    taken = [next_ticket_number("JM", day), next_ticket_number("JM", day)]
    generate(Options(tickets=300, seed=3, customers=100, end=END))
    prefix = f"JM-{day:%Y%m%d}-"
    generated = sorted(n for n in Ticket.objects.values_list("number", flat=True) if n.startswith(prefix))
    assert generated and not set(generated) & set(taken)
    assert next_ticket_number("JM", day) > generated[-1]


@pytest.mark.django_db
@pytest.mark.parametrize(("option", "value"), [
    ("customers", 0), ("customers", -5), ("months", 0), ("months", -1), ("open_share", 2.0), ("open_share", -0.5),
    ("batch_size", 0),
])
def test_generate_data_refuses_options_out_of_range_naming_them(reference: None, option: str, value: float) -> None:
    """--customers 0 ended in a traceback; --months -1, --open-share 2 or -0.5 were taken and made odd data."""
    flag = "--" + option.replace("_", "-")
    with pytest.raises(CommandError, match=flag):
        call_command("generate_data", tickets=30, seed=3, **{option: value}, stdout=io.StringIO())
    assert not Ticket.objects.exists()

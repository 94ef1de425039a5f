"""KPI rollups: the fact of each work order and the daily sums of those facts, kept in step with the tickets.

One table, `COUNTERS`, says what every rollup column counts: on which day of the fact it is counted, the
condition (as a Python predicate for the incremental path and as a `Q` on `ReportFact` for SQL), and the
value summed (1 for a count). Everything else derives from it:

- the ticket-event listener (`on_ticket_event`) recomputes the ticket's fact, and adds the difference of
  the old and new contributions to the rollup rows with `INSERT ... ON CONFLICT DO UPDATE SET n = n + d`
  (one statement per changed row, keys in sorted order: safe under concurrency on SQLite and PostgreSQL);
- `rebuild()` recomputes every fact from the tickets and their timelines, then every rollup row from the
  facts with one `INSERT ... SELECT ... GROUP BY` per day family (for bulk-loaded data);
- `check()` recomputes both and reports every difference;
- drill-down (`loopdesk.reports.measures.drilldown`) filters tickets by the same `Q`, so a list's count
  equals the number it came from.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from loopdesk.org.choices import UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.reports.models import (
    BUCKET_EDGES_HOURS,
    BUCKETS,
    DIMENSIONS,
    DailyRollup,
    DailyTotal,
    HopFact,
    HopOutcome,
    MonthlyRollup,
    ReportFact,
    RollupPending,
    SurveyFact,
    SurveyPending,
)
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.surveys.models import Survey, SurveyKind
from loopdesk.tickets.choices import CallbackVerdict, ContactType, EventKind, Status
from loopdesk.tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

Fact = dict[str, Any]
Key = tuple[Any, ...]  # a contribution: (day, *DIMENSIONS, category_root_id); a cube row: its key columns
DAY_FIELDS = ("created_day", "dispatched_day", "replied_day", "answered_day", "closed_day", "survey_day",
              "callback_day")
FACT_FIELDS = (
    *DIMENSIONS, "category_root_id", *DAY_FIELDS, "repeat", "returns", "reopened", "overtime", "problem",
    "reply_minutes", "reply_bucket",
    "e2e_minutes", "e2e_bucket", "verdict", "fcr", "survey_score", "called_back",
)
DEPARTMENT_EVENTS = (EventKind.DISPATCH, EventKind.TRANSFER)
# A hop starts with a dispatch or transfer to a department and ends with the next of these (a transfer starts the
# next hop too): the department replied, transferred it on, returned it (退单), or the ticket was withdrawn.
HOP_END_EVENTS = {EventKind.TRANSFER: HopOutcome.TRANSFERRED, EventKind.RETURN: HopOutcome.RETURNED,
                  EventKind.REPLY: HopOutcome.REPLIED, EventKind.WITHDRAW: HopOutcome.WITHDRAWN}
HOP_EVENTS = (EventKind.DISPATCH, *HOP_END_EVENTS)
HOP_DAY_FIELDS = ("hop_day", "hop_end_day")
HOP_FIELDS = (
    "seq", *DIMENSIONS, "category_root_id", "started_at", "ended_at", *HOP_DAY_FIELDS, "outcome", "hop_minutes",
    "hop_bucket",
)
SATISFIED_SCORE = 4  # 5 非常满意 and 4 很满意 count as satisfied


@dataclass(frozen=True)
class Counter:
    """A rollup column: counted on the fact's `day`, when `when(fact)` (SQL: `q`), adding `value` (or 1)."""

    name: str
    day: str
    when: Callable[[Fact], bool]
    q: Q = field(default_factory=Q)
    value: str | None = None


def _bucket_counters(prefix: str, day: str, bucket_field: str) -> list[Counter]:
    return [
        Counter(f"{prefix}{i}", day, lambda f, i=i: f[bucket_field] == i, Q(**{bucket_field: i}))  # type: ignore[misc]
        for i in range(BUCKETS)
    ]


def _always(fact: Fact) -> bool:
    return True


def _answered(fact: Fact) -> bool:
    return fact["survey_score"] is not None


def _survey_counters(prefix: str, day: str) -> list[Counter]:
    """Sent, answered, sum of scores and satisfied (4-5) of a kind of survey, on the day it was sent."""
    answered = Q(survey_score__isnull=False)
    return [
        Counter(f"{prefix}_sent", day, _always),
        Counter(f"{prefix}_answered", day, _answered, answered),
        Counter(f"{prefix}_score", day, _answered, answered, value="survey_score"),
        Counter(f"{prefix}_satisfied", day, lambda f: (f["survey_score"] or 0) >= SATISFIED_SCORE,
                Q(survey_score__gte=SATISFIED_SCORE)),
    ]


COUNTERS: tuple[Counter, ...] = (
    Counter("created", "created_day", _always),
    Counter("complaints", "created_day", lambda f: f["contact_type"] == ContactType.COMPLAINT,
            Q(contact_type=ContactType.COMPLAINT)),
    Counter("appeals", "created_day", lambda f: f["contact_type"] == ContactType.APPEAL,
            Q(contact_type=ContactType.APPEAL)),
    Counter("repeat", "created_day", lambda f: f["repeat"], Q(repeat=True)),
    # Tickets returned at least once (a count, so that the drill-down list has as many rows).
    Counter("returns", "created_day", lambda f: f["returns"] > 0, Q(returns__gt=0)),
    Counter("reopened", "created_day", lambda f: f["reopened"], Q(reopened=True)),
    Counter("dispatched", "dispatched_day", _always),
    Counter("overtime", "dispatched_day", lambda f: f["overtime"], Q(overtime=True)),
    Counter("problem", "dispatched_day", lambda f: f["problem"], Q(problem=True)),
    Counter("replied", "replied_day", _always),
    Counter("reply_minutes", "replied_day", lambda f: f["reply_minutes"] is not None,
            Q(reply_minutes__isnull=False), value="reply_minutes"),
    *_bucket_counters("rh", "replied_day", "reply_bucket"),
    Counter("answered", "answered_day", _always),
    Counter("e2e_minutes", "answered_day", lambda f: f["e2e_minutes"] is not None,
            Q(e2e_minutes__isnull=False), value="e2e_minutes"),
    *_bucket_counters("eh", "answered_day", "e2e_bucket"),
    # Callback completion: the work orders answered after a department's reply (a callback task is then owed: one
    # answered at first contact owes none), and those whose callback in this cycle reached the customer.
    Counter("cb_due", "answered_day", lambda f: f["replied_day"] is not None, Q(replied_day__isnull=False)),
    Counter("cb_done", "answered_day", lambda f: f["replied_day"] is not None and f["called_back"],
            Q(replied_day__isnull=False, called_back=True)),
    # Callback verdicts, on the day of the callback (a reopened work order's dissatisfied one stays counted there).
    Counter("cb_satisfied", "callback_day", lambda f: f["verdict"] == CallbackVerdict.SATISFIED,
            Q(verdict=CallbackVerdict.SATISFIED)),
    Counter("cb_dissatisfied", "callback_day", lambda f: f["verdict"] == CallbackVerdict.DISSATISFIED,
            Q(verdict=CallbackVerdict.DISSATISFIED)),
    Counter("cb_unreachable", "callback_day", lambda f: f["verdict"] == CallbackVerdict.UNREACHABLE,
            Q(verdict=CallbackVerdict.UNREACHABLE)),
    Counter("closed", "closed_day", _always),
    Counter("fcr", "closed_day", lambda f: f["fcr"], Q(fcr=True)),
    # The ticket's latest survey, on the day it was sent (answered later: the fold moves it from unanswered).
    *_survey_counters("sv", "survey_day"),
    # Window-service surveys (facts of their own, `SurveyFact`), on the day they were sent.
    *_survey_counters("ws", "window_day"),
    # Hops (`HopFact`, by the hop's department): received, returned and transferred on, on the day received;
    # handled (replied, transferred or returned: the hops with a handling time), on the day the hop ended.
    Counter("hops", "hop_day", _always),
    Counter("hop_returned", "hop_day", lambda f: f["outcome"] == HopOutcome.RETURNED,
            Q(outcome=HopOutcome.RETURNED)),
    Counter("hop_transferred", "hop_day", lambda f: f["outcome"] == HopOutcome.TRANSFERRED,
            Q(outcome=HopOutcome.TRANSFERRED)),
    Counter("hop_done", "hop_end_day", lambda f: f["hop_minutes"] is not None, Q(hop_minutes__isnull=False)),
    Counter("hop_minutes", "hop_end_day", lambda f: f["hop_minutes"] is not None, Q(hop_minutes__isnull=False),
            value="hop_minutes"),
    *_bucket_counters("hh", "hop_end_day", "hop_bucket"),
)
SURVEY_FACT_FIELDS = ("province", "region", "branch_id", "department_id", "channel", "window_day", "survey_score")
COUNTER_BY_NAME = {c.name: c for c in COUNTERS}
# The counters by their day field, in COUNTERS' order within each (`contributions` skips a day the fact lacks).
_COUNTERS_BY_DAY: tuple[tuple[str, tuple[Counter, ...]], ...] = tuple(
    (day, tuple(c for c in COUNTERS if c.day == day)) for day in dict.fromkeys(c.day for c in COUNTERS))
COUNTER_NAMES = tuple(c.name for c in COUNTERS)


# --- the fact of a ticket ---------------------------------------------------------------------------


def local_day(value: dt.datetime | None) -> dt.date | None:
    return value.astimezone(SHANGHAI).date() if value is not None else None


def bucket_of(minutes: int | None) -> int | None:
    if minutes is None:
        return None
    hours = minutes / 60
    for i, edge in enumerate(BUCKET_EDGES_HOURS):
        if hours < edge:
            return i
    return BUCKETS - 1


def _minutes(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds() // 60))


def fact_from_values(
    *, province: str, region: str, branch_id: int | None, department_id: int | None, category_id: int,
    category_root_id: int, contact_type: str, channel: str, tier: str, brand: str | None, status: str,
    created_at: dt.datetime,
    cycle_started_at: dt.datetime | None, replied_at: dt.datetime | None, answered_at: dt.datetime | None,
    closed_at: dt.datetime | None, is_repeat: bool, return_count: int, reopen_count: int, is_overtime: bool,
    is_problem: bool, callback_verdict: str, dispatch_count: int, survey_sent_at: dt.datetime | None = None,
    survey_score: int | None = None, callback_at: dt.datetime | None = None, called_back: bool = False,
) -> Fact:
    """The KPI fact of a ticket, from its columns (and the department it was last sent to, and the brand); the
    verdict counted (`callback_verdict`) was given at `callback_at`; `called_back`: this cycle's callback reached
    the customer (satisfied or not)."""
    closed = status == Status.CLOSED
    reply_minutes = _minutes(cycle_started_at, replied_at)
    e2e_minutes = _minutes(created_at, answered_at)
    return {
        "province": province,
        "region": region,
        "branch_id": branch_id or 0,
        "department_id": department_id or 0,
        "category_id": category_id,
        "category_root_id": category_root_id,
        "contact_type": contact_type,
        "channel": channel,
        "tier": tier,
        "brand": brand or "",
        "created_day": local_day(created_at),
        "dispatched_day": local_day(cycle_started_at),
        "replied_day": local_day(replied_at) if cycle_started_at is not None else None,
        "answered_day": local_day(answered_at),
        "closed_day": local_day(closed_at) if closed else None,
        "repeat": bool(is_repeat),
        "returns": return_count or 0,
        "reopened": bool(reopen_count),
        "overtime": bool(is_overtime and not is_problem),
        "problem": bool(is_problem),
        "reply_minutes": reply_minutes if cycle_started_at is not None else None,
        "reply_bucket": bucket_of(reply_minutes) if cycle_started_at is not None else None,
        "e2e_minutes": e2e_minutes,
        "e2e_bucket": bucket_of(e2e_minutes),
        "verdict": callback_verdict or "",
        "fcr": bool(closed and not dispatch_count),
        "survey_day": local_day(survey_sent_at),
        "survey_score": survey_score if survey_sent_at is not None else None,
        "callback_day": local_day(callback_at) if callback_verdict else None,
        "called_back": bool(called_back),
    }


def hops_from_events(events: list[tuple[int, str, int | None, dt.datetime]]) -> list[dict[str, Any]]:
    """The hops of a ticket from its timeline events of `HOP_EVENTS` (seq, kind, to unit, time; in seq order):
    each dispatch or transfer opens a hop with the unit it went to, the next transfer, return, reply or withdrawal
    ends it. Handling minutes (elapsed, as dispatch → reply) only for the hops the department ended."""
    hops: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for seq, kind, unit_id, at in events:
        if current is not None and (kind in HOP_END_EVENTS or kind == EventKind.DISPATCH):
            outcome = HOP_END_EVENTS.get(kind, HopOutcome.TRANSFERRED)  # type: ignore[call-overload]
            current.update(ended_at=at, hop_end_day=local_day(at), outcome=outcome)
            if outcome != HopOutcome.WITHDRAWN:
                current["hop_minutes"] = _minutes(current["started_at"], at)
                current["hop_bucket"] = bucket_of(current["hop_minutes"])
            current = None
        if kind in DEPARTMENT_EVENTS:
            current = {"seq": seq, "department_id": unit_id or 0, "started_at": at, "ended_at": None,
                       "hop_day": local_day(at), "hop_end_day": None, "outcome": HopOutcome.OPEN,
                       "hop_minutes": None, "hop_bucket": None}
            hops.append(current)
    return hops


def with_hops(fact: Fact, hops: list[dict[str, Any]]) -> Fact:
    """The fact with its hops (`fact["hops"]`), each carrying the ticket's dimensions and its own department."""
    dims = {name: fact[name] for name in (*DIMENSIONS, "category_root_id") if name != "department_id"}
    fact["hops"] = [{name: {**dims, **hop}[name] for name in HOP_FIELDS} for hop in hops]
    return fact


def contributions(fact: Fact | None) -> dict[Key, dict[str, int]]:
    """What one fact (and its hops, by their departments) adds to the rollup rows: {(day, *dimensions): {counter:
    amount}}. A counter is counted from the facts that have its day field: a hop has none of the ticket's days."""
    out: dict[Key, dict[str, int]] = {}
    if fact is None:
        return out
    for hop in fact.get("hops") or ():
        _accumulate(out, contributions(hop))
    dims = (*(fact[d] for d in DIMENSIONS), fact["category_root_id"])
    for day_field, counters in _COUNTERS_BY_DAY:  # a fact has few of the day fields: skip the others' counters
        day = fact.get(day_field)
        if day is None:
            continue
        row = None
        for counter in counters:
            if not counter.when(fact):
                continue
            amount = fact[counter.value] if counter.value else 1
            if amount:
                if row is None:
                    row = out.setdefault((day, *dims), {})
                row[counter.name] = row.get(counter.name, 0) + amount
    return out


def difference(old: dict[Key, dict[str, int]], new: dict[Key, dict[str, int]]) -> dict[Key, dict[str, int]]:
    delta: dict[Key, dict[str, int]] = {}
    for key in old.keys() | new.keys():
        before, after = old.get(key, {}), new.get(key, {})
        row = {name: after.get(name, 0) - before.get(name, 0) for name in before.keys() | after.keys()}
        row = {name: amount for name, amount in row.items() if amount}
        if row:
            delta[key] = row
    return delta


# --- window-service surveys --------------------------------------------------------------------------

SURVEY_CONSTANTS: dict[str, Any] = {"category_id": 0, "category_root_id": 0, "contact_type": "", "tier": "",
                                    "brand": ""}


def survey_facts(survey_ids: list[int] | None = None, batch_size: int = 5000) -> Iterator[list[tuple[int, Fact]]]:
    """The facts of window-service surveys (all, or these), in batches of (survey id, fact), by id: the channel,
    the unit rated (department) and its branch (the centre-level unit above it), the day sent, the score."""
    qs = Survey.objects.filter(kind=SurveyKind.WINDOW)
    if survey_ids is not None:
        qs = qs.filter(pk__in=survey_ids)
    last_pk = 0
    while True:
        rows = list(qs.filter(pk__gt=last_pk).order_by("pk")
                    .values_list("pk", "region", "unit_id", "channel", "sent_at", "score")[:batch_size])
        if not rows:
            return
        last_pk = rows[-1][0]
        units = OrgUnit.objects.in_bulk({r[2] for r in rows if r[2]})
        above = OrgUnit.objects.in_bulk({i for u in units.values() for i in u.ancestor_ids()})
        batch = []
        for pk, region, unit_id, channel, sent_at, score in rows:
            unit = units.get(unit_id)
            branch = 0
            if unit is not None:
                for ancestor_id in unit.ancestor_ids():
                    if above.get(ancestor_id) is not None and above[ancestor_id].level == UnitLevel.CENTRE:
                        branch = ancestor_id
            batch.append((pk, {
                "province": getattr(unit, "province", "") or "", "region": region or getattr(unit, "region", ""),
                "branch_id": branch, "department_id": unit_id or 0, "channel": channel or "",
                "window_day": local_day(sent_at), "survey_score": score,
            }))
        yield batch


def survey_contributions(fact: Fact | None) -> dict[Key, dict[str, int]]:
    return contributions(None if fact is None else {**SURVEY_CONSTANTS, **fact})


# --- the rollup tables ("cubes") and writing their rows -----------------------------------------------

FULL_KEY = ("day", *DIMENSIONS, "category_root_id")


@dataclass(frozen=True)
class Cube:
    """A rollup table: its time column ("day" or "month") and the dimensions it keeps (a projection of FULL_KEY)."""

    model: Any
    columns: tuple[str, ...]

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)

    def project(self, key: Key) -> Key:
        out = []
        for column in self.columns:
            if column == "month":
                out.append(key[0].replace(day=1))
            else:
                out.append(key[FULL_KEY.index(column)])
        return tuple(out)


DAILY = Cube(DailyRollup, ("day", *DIMENSIONS))
MONTHLY = Cube(MonthlyRollup, ("month", "province", "region", "branch_id", "department_id", "category_root_id",
                               "contact_type", "channel", "tier", "brand"))
TOTALS = Cube(DailyTotal, ("day", "province", "region"))
CUBES = (DAILY, MONTHLY, TOTALS)
_KEY_COLUMNS = DAILY.columns


def _upsert_sql(cube: Cube, rows: int) -> str:
    """INSERT `rows` rows of a cube, adding every counter to the row of the same key when it exists."""
    q = connection.ops.quote_name
    table = q(cube.table)
    columns = [*cube.columns, *COUNTER_NAMES]
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * rows)
    sets = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in COUNTER_NAMES)
    return (f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) VALUES {values} "  # noqa: S608
            f"ON CONFLICT ({', '.join(q(c) for c in cube.columns)}) DO UPDATE SET {sets}")


_SQL_CACHE: dict[tuple[str, str, int], str] = {}


def _sql_for(cube: Cube, rows: int) -> str:
    cache_key = (connection.vendor, cube.table, rows)
    sql = _SQL_CACHE.get(cache_key)
    if sql is None:
        sql = _SQL_CACHE[cache_key] = _upsert_sql(cube, rows)
    return sql


def _row_params(key: Key, amounts: dict[str, int]) -> list[Any]:
    return [key[0].isoformat(), *key[1:], *(amounts.get(name, 0) for name in COUNTER_NAMES)]


def project(cube: Cube, delta: dict[Key, dict[str, int]]) -> dict[Key, dict[str, int]]:
    out: dict[Key, dict[str, int]] = {}
    for key, amounts in delta.items():
        row = out.setdefault(cube.project(key), {})
        for name, amount in amounts.items():
            row[name] = row.get(name, 0) + amount
    return {k: {n: a for n, a in v.items() if a} for k, v in out.items() if any(v.values())}


def apply_delta(delta: dict[Key, dict[str, int]]) -> None:
    """Add `delta` to the rows of every cube, creating missing rows: one statement per cube, rows in key order
    (every transaction locks rows in the same order, so concurrent upkeep cannot deadlock)."""
    if not delta:
        return
    with connection.cursor() as cursor:
        for cube in CUBES:
            rows = project(cube, delta)
            if not rows:
                continue
            params: list[Any] = []
            for key in sorted(rows, key=_sort_key):
                params += _row_params(key, rows[key])
            cursor.execute(_sql_for(cube, len(rows)), params)


def _sort_key(key: Key) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


# --- the listener and the fold ------------------------------------------------------------------------

_PENDING_SQL: dict[str, str] = {}


def on_ticket_event(ticket: Ticket, event: TicketEvent) -> None:
    """Note the ticket as pending for the rollups: one INSERT inside the service's transaction (so the note
    commits or rolls back with the change), and a fold kicked after commit. The fold does the real work."""
    sql = _PENDING_SQL.get(connection.vendor)
    if sql is None:
        sql = _PENDING_SQL[connection.vendor] = (
            f"INSERT INTO {connection.ops.quote_name(RollupPending._meta.db_table)} (ticket_id) VALUES (%s)")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [ticket.pk])
    _kick_after_commit()


# At most one kick per transaction (a service appends several events), and per process not more often than every
# KICK_INTERVAL seconds: the periodic fold (beat, `rollup-fold` in loopdesk/celery.py) catches what a skipped kick left.
KICK_INTERVAL = 1.0
_last_kick = [-KICK_INTERVAL]


def _kick() -> None:
    now = time.monotonic()
    if now - _last_kick[0] < KICK_INTERVAL:
        return
    _last_kick[0] = now
    from loopdesk.reports.tasks import fold_rollups

    try:
        fold_rollups.delay()
    except Exception:  # a broker hiccup must not fail the request: the periodic fold comes soon anyway
        logger.warning("could not kick the rollup fold", exc_info=True)


def _kick_after_commit() -> None:
    if any(entry[1] is _kick for entry in connection.run_on_commit):
        return
    transaction.on_commit(_kick)


def on_survey_saved(sender: Any, instance: Survey, **kwargs: Any) -> None:
    """post_save of a survey (created when a ticket is closed or after a window contact; answered once): note its
    ticket, or the window survey itself, for the fold. Surveys change only through `Model.save` (`do_rate_survey`);
    expiry (a queryset update) changes no figure."""
    if instance.ticket_id:
        _note(RollupPending, "ticket_id", instance.ticket_id)
    elif instance.kind == SurveyKind.WINDOW:
        _note(SurveyPending, "survey_id", instance.pk)


def on_tickets_recategorised(sender: Any, ticket_ids: list[int], **kwargs: Any) -> None:
    """A category moved under another top category and these tickets' top category with it: note them for the
    fold (in the mover's transaction), which moves their figures to the new top category."""
    RollupPending.objects.bulk_create([RollupPending(ticket_id=pk) for pk in ticket_ids], batch_size=2000)
    _kick_after_commit()


def note_brand_changes(customer_ids: list[int], chunk: int = 2000) -> int:
    """Customers whose brand may have changed (an import, an edit in the admin): note for the fold their tickets
    whose fact holds another brand, so the brand figures follow (and `check_rollups` finds no difference). Returns
    how many were noted."""
    noted = 0
    for start in range(0, len(customer_ids), chunk):
        ids = list(ReportFact.objects.filter(ticket__customer_id__in=customer_ids[start:start + chunk])
                   .exclude(brand=F("ticket__customer__brand")).values_list("pk", flat=True))
        RollupPending.objects.bulk_create([RollupPending(ticket_id=pk) for pk in ids], batch_size=chunk)
        noted += len(ids)
    if noted:
        _kick_after_commit()
    return noted


def on_customer_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    """post_save of a customer: an existing customer's brand may have changed (a new one has no tickets yet)."""
    if not created:
        note_brand_changes([instance.pk])


def note_unit_moves(unit: OrgUnit, old_path: str) -> int:
    """A unit moved (under another parent, or to another city): note for the fold the window surveys rated on it
    or below it whose fact names another branch (the lowest centre-level unit above the unit rated) or province,
    so the figures follow the move. Called while the unit has its new path and its subtree still the old one
    (`old_path`); the subtree takes the unit's province. Returns how many were noted."""
    members = [(unit.pk, unit.path)] + [
        (pk, unit.path + path[len(old_path):])
        for pk, path in OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk).values_list("pk", "path")]

    def ancestors(path: str) -> list[int]:
        return [int(part) for part in path.strip("/").split("/") if part]

    centres = set(OrgUnit.objects.filter(pk__in={i for _pk, path in members for i in ancestors(path)},
                                         level=UnitLevel.CENTRE).values_list("pk", flat=True))
    expected: dict[int, list[int]] = defaultdict(list)
    for pk, path in members:  # the branch as `survey_facts` finds it
        branch = 0
        for ancestor_id in ancestors(path):
            if ancestor_id in centres:
                branch = ancestor_id
        expected[branch].append(pk)
    ids: list[int] = []
    for branch, units in expected.items():
        ids += SurveyFact.objects.filter(department_id__in=units).exclude(
            branch_id=branch, province=unit.province).values_list("pk", flat=True)
    SurveyPending.objects.bulk_create([SurveyPending(survey_id=pk) for pk in ids], batch_size=2000)
    if ids:
        _kick_after_commit()
    return len(ids)


def on_unit_saving(sender: Any, instance: OrgUnit, **kwargs: Any) -> None:
    """pre_save of a unit: what it was (parent, path, province), for `on_unit_saved` to tell a move."""
    instance._rollups_before = (  # type: ignore[attr-defined]
        OrgUnit.objects.filter(pk=instance.pk).values_list("parent_id", "path", "province").first()
        if instance.pk is not None else None)


def on_unit_saved(sender: Any, instance: OrgUnit, created: bool = False, **kwargs: Any) -> None:
    """post_save of a unit: a unit moved under another parent or to another province takes its window surveys'
    figures along (a rename, or a new unit, changes none)."""
    before = getattr(instance, "_rollups_before", None)
    if created or before is None or not before[1]:
        return
    parent_id, old_path, province = before
    if parent_id != instance.parent_id or province != instance.province:
        note_unit_moves(instance, old_path)


def _note(model: Any, column: str, value: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({column}) VALUES (%s)",  # noqa: S608
                       [value])
    _kick_after_commit()


def _claim(batch_size: int, model: Any = None, column: str = "ticket_id") -> list[int]:  # the object of each note
    """Take up to `batch_size` pending notes (oldest first), deleting them in the caller's transaction:
    PostgreSQL skips notes another worker has claimed (FOR UPDATE SKIP LOCKED); SQLite has one writer."""
    table = connection.ops.quote_name((model or RollupPending)._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id LIMIT %s{lock}) "  # noqa: S608
            f"RETURNING {column}",
            [batch_size],
        )
        return [row[0] for row in cursor.fetchall()]


ADVISORY_CLASS = 0x4C44  # "LD": the class id of the per-ticket fold locks (pg_advisory_xact_lock(class, id))


def _lock_tickets(ticket_ids: list[int], lock_class: int = ADVISORY_CLASS) -> None:
    """Serialise folds of the same ticket (survey) on several workers (PostgreSQL), in id order (no deadlock). The
    ticket rows themselves are not locked: the services never wait for the fold."""
    if connection.vendor != "postgresql" or not ticket_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(%s, t::int)) FROM unnest(%s::bigint[]) AS t",
                       [lock_class, ticket_ids])


def _accumulate(totals: dict[Key, dict[str, int]], amounts_by_key: dict[Key, dict[str, int]]) -> None:
    """Add `amounts_by_key` into `totals`, key by key and counter by counter."""
    for key, amounts in amounts_by_key.items():
        row = totals.setdefault(key, {})
        for name, amount in amounts.items():
            row[name] = row.get(name, 0) + amount


def _apply_changes(ids: list[int], old: dict[int, Any], new: dict[int, Any],
                   contribute: Callable[[Any], dict[Key, dict[str, int]]]) -> list[int]:
    """Add to every cube the difference of the old and new contributions (`contribute(fact)`) of the facts that
    changed, in one multi-row upsert per cube; returns the ids whose fact changed (the caller rewrites those)."""
    delta: dict[Key, dict[str, int]] = {}
    changed = [pk for pk in ids if old.get(pk) != new.get(pk)]
    for pk in changed:
        _accumulate(delta, difference(contribute(old.get(pk)), contribute(new.get(pk))))
    apply_delta({k: {n: a for n, a in v.items() if a} for k, v in delta.items() if any(v.values())})
    return changed


def fold_tickets(ticket_ids: list[int]) -> int:
    """Recompute the facts of these tickets and add the difference of old and new contributions to every cube:
    one read of the tickets, one of their dispatch events, one of the stored facts, one multi-row upsert per
    cube, one delete and one bulk insert of the changed facts. Call inside a transaction. Returns facts changed."""
    if not ticket_ids:
        return 0
    new = dict(pair for batch in facts_from_tickets(Ticket.objects.filter(pk__in=ticket_ids),
                                                    batch_size=len(ticket_ids) + 1) for pair in batch)
    old = stored_facts(ticket_ids)
    changed = _apply_changes(ticket_ids, old, new, contributions)
    if changed:
        ReportFact.objects.filter(pk__in=[pk for pk in changed if pk in old]).delete()
        # Hops are rewritten only where they changed (most events, e.g. an answer or a close, change none).
        hops_changed = {pk for pk in changed if _hops(old, pk) != _hops(new, pk)}
        # Stored hops to delete: the old ones, and any a ticket without a fact may have left (before inserting).
        stale = [pk for pk in hops_changed if _hops(old, pk) or (pk not in old and _hops(new, pk))]
        if stale:
            HopFact.objects.filter(ticket_id__in=stale).delete()
        _insert_facts([(pk, new[pk]) for pk in changed if pk in new], hops_of=hops_changed)
    return len(changed)


def _hops(facts: dict[int, Fact], pk: int) -> list[dict[str, Any]]:
    fact = facts.get(pk)
    return (fact.get("hops") or []) if fact is not None else []


def stored_facts(ticket_ids: list[int]) -> dict[int, Fact]:
    """The stored facts of these tickets, each with its stored hops (`fact["hops"]`, in seq order)."""
    old = {row.pop("ticket_id"): row for row in ReportFact.objects.filter(pk__in=ticket_ids)
           .values("ticket_id", *FACT_FIELDS)}
    facts = {pk: {name: _normalise(value) for name, value in fact.items()} for pk, fact in old.items()}
    for fact in facts.values():
        fact["hops"] = []
    for row in HopFact.objects.filter(ticket_id__in=ticket_ids).order_by("ticket_id", "seq").values(
            "ticket_id", *HOP_FIELDS):
        owner = facts.get(row.pop("ticket_id"))
        if owner is not None:
            owner["hops"].append({name: _normalise(value) for name, value in row.items()})
    return facts


def fold_surveys(survey_ids: list[int]) -> int:
    """`fold_tickets` for window-service surveys and their `SurveyFact`s."""
    if not survey_ids:
        return 0
    new = dict(pair for batch in survey_facts(survey_ids, batch_size=len(survey_ids) + 1) for pair in batch)
    old = {row.pop("survey_id"): {k: _normalise(v) for k, v in row.items()}
           for row in SurveyFact.objects.filter(pk__in=survey_ids).values("survey_id", *SURVEY_FACT_FIELDS)}
    changed = _apply_changes(survey_ids, old, new, survey_contributions)
    if changed:
        SurveyFact.objects.filter(pk__in=[pk for pk in changed if pk in old]).delete()
        SurveyFact.objects.bulk_create([SurveyFact(survey_id=pk, **new[pk]) for pk in changed if pk in new])
    return len(changed)


def fold_pending(*, batch_size: int = 2000, max_batches: int | None = None) -> int:
    """Fold the pending notes into the facts and rollups, a batch per transaction (claimed notes are deleted in
    the same transaction: a crash leaves them for the next fold, never counted twice). Returns notes folded."""
    folded = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            notes = _claim(batch_size)
            survey_notes = _claim(batch_size, SurveyPending, "survey_id")
            if not notes and not survey_notes:
                break
            ticket_ids = sorted(set(notes))
            _lock_tickets(ticket_ids)
            fold_tickets(ticket_ids)
            survey_ids = sorted(set(survey_notes))
            _lock_tickets(survey_ids, ADVISORY_CLASS + 1)
            fold_surveys(survey_ids)
        folded += len(notes) + len(survey_notes)
        batches += 1
    return folded


def pending_count() -> int:
    return RollupPending.objects.count() + SurveyPending.objects.count()


# --- rebuild and check ------------------------------------------------------------------------------

_TICKET_COLUMNS = (
    "pk", "province", "region", "branch_id", "category_id", "contact_type", "channel", "tier", "customer__brand",
    "status", "created_at", "cycle_started_at", "replied_at", "answered_at", "closed_at", "is_repeat",
    "return_count", "reopen_count", "is_overtime", "is_problem", "callback_verdict", "dispatch_count",
    "category_root_id",
)


def facts_from_tickets(tickets: Any = None, batch_size: int = 5000) -> Iterator[list[tuple[int, Fact]]]:
    """Every ticket's fact recomputed from its columns and timeline, in batches of (ticket id, fact), by id."""
    qs = tickets if tickets is not None else Ticket.objects.all()
    last_pk = 0
    while True:
        rows = list(qs.filter(pk__gt=last_pk).order_by("pk").values_list(*_TICKET_COLUMNS)[:batch_size])
        if not rows:
            return
        last_pk = rows[-1][0]
        dispatched = [r[0] for r in rows if r[21]]
        departments: dict[int, int] = {}
        hop_events: dict[int, list[tuple[int, str, int | None, dt.datetime]]] = defaultdict(list)
        surveys: dict[int, tuple[dt.datetime, int | None]] = {}
        # A ticket's survey is sent when it is closed (again after a reopen): the latest counts.
        for ticket_id, sent_at, score in (
            Survey.objects.filter(ticket_id__in=[r[0] for r in rows], kind=SurveyKind.TICKET)
            .order_by("ticket_id", "sent_at", "id").values_list("ticket_id", "sent_at", "score")
        ):
            surveys[ticket_id] = (sent_at, score)
        if dispatched:
            events = (
                TicketEvent.objects.filter(ticket_id__in=dispatched, kind__in=HOP_EVENTS)
                .order_by("ticket_id", "seq").values_list("ticket_id", "seq", "kind", "to_unit_id", "created_at")
            )
            for ticket_id, seq, kind, unit_id, at in events:
                hop_events[ticket_id].append((seq, kind, unit_id, at))
                if kind in DEPARTMENT_EVENTS:
                    departments[ticket_id] = unit_id or 0
        # A verdict counts on the day of its callback (the latest callback event). A customer not satisfied at a
        # callback has the work order reopened, which clears its verdict: the dissatisfaction stays in the
        # satisfaction figures from its callback event (the latest dissatisfied one), whatever a later callback
        # says. Only reopened tickets can have lost one.
        called = [r[0] for r in rows if r[20] or r[17]]
        last_callback: dict[int, dt.datetime] = {}
        unsatisfied: dict[int, dt.datetime] = {}
        if called:
            for ticket_id, at, data in (TicketEvent.objects.filter(ticket_id__in=called, kind=EventKind.CALLBACK)
                                        .order_by("ticket_id", "seq").values_list("ticket_id", "created_at", "data")):
                last_callback[ticket_id] = at
                if (data or {}).get("verdict") == CallbackVerdict.DISSATISFIED:
                    unsatisfied[ticket_id] = at
        batch = []
        for r in rows:
            lost = r[0] in unsatisfied and bool(r[17])  # reopened after a dissatisfied callback
            verdict = CallbackVerdict.DISSATISFIED.value if lost else r[20]
            batch.append((r[0], with_hops(fact_from_values(
                province=r[1], region=r[2], branch_id=r[3], department_id=departments.get(r[0], 0), category_id=r[4],
                category_root_id=r[22], contact_type=r[5], channel=r[6], tier=r[7], brand=r[8], status=r[9],
                created_at=r[10],
                cycle_started_at=r[11], replied_at=r[12], answered_at=r[13], closed_at=r[14], is_repeat=r[15],
                return_count=r[16], reopen_count=r[17], is_overtime=r[18], is_problem=r[19],
                callback_verdict=verdict, dispatch_count=r[21],
                survey_sent_at=surveys.get(r[0], (None, None))[0],
                survey_score=surveys.get(r[0], (None, None))[1],
                # A verdict without its callback event (data written by other means): on the answer day, as before.
                callback_at=(unsatisfied[r[0]] if lost else last_callback.get(r[0], r[13])) if verdict else None,
                called_back=r[20] in (CallbackVerdict.SATISFIED, CallbackVerdict.DISSATISFIED),
            ), hops_from_events(hop_events.get(r[0], [])))))
        yield batch


def _insert_facts(batch: list[tuple[int, Fact]], hops_of: set[int] | None = None) -> None:
    """Write facts and their hops (of every fact, or of the tickets `hops_of`) in bulk: PostgreSQL COPY, elsewhere
    executemany."""
    _copy_rows(ReportFact, ["ticket_id", *FACT_FIELDS],
               [[pk, *(fact[name] for name in FACT_FIELDS)] for pk, fact in batch])
    hops = [[pk, *(hop[name] for name in HOP_FIELDS)] for pk, fact in batch
            if hops_of is None or pk in hops_of for hop in fact.get("hops") or ()]
    if hops:
        _copy_rows(HopFact, ["ticket_id", *HOP_FIELDS], hops)


def _copy_rows(model: Any, columns: list[str], rows: list[list[Any]]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        params = [[connection.ops.adapt_datetimefield_value(v) if isinstance(v, dt.datetime)
                   else v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in rows]
        cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})",  # noqa: S608
                           params)


def family_queryset(day_field: str, facts: Any = None, cube: Cube = DAILY) -> Any:
    """A cube's rows of one day family, aggregated from the facts: columns (*dimensions, time, *COUNTER_NAMES)."""
    qs = facts if facts is not None else ReportFact.objects.all()
    return _family_rows(qs.filter(**{f"{day_field}__isnull": False}), day_field, cube)


def _family_rows(qs: Any, day_field: str, cube: Cube) -> Any:
    """`qs` grouped by the cube's key (time from `day_field`), with every counter of that day family aggregated
    and 0 for the counters of the other families."""
    annotations: dict[str, Any] = {}
    for counter in COUNTERS:
        if counter.day != day_field:
            annotations[counter.name] = Value(0, output_field=IntegerField())
        elif counter.value:
            annotations[counter.name] = Coalesce(Sum(counter.value, filter=counter.q), 0)
        else:
            annotations[counter.name] = Count("pk", filter=counter.q) if counter.q else Count("pk")
    time_column = cube.columns[0]
    time_expr = TruncMonth(day_field) if time_column == "month" else F(day_field)
    return qs.values(*cube.columns[1:], **{time_column: time_expr}).annotate(**annotations).order_by()


def survey_family_queryset(facts: Any = None, cube: Cube = DAILY) -> Any:
    """A cube's rows aggregated from the window-survey facts (constants for the ticket-only dimensions)."""
    qs = (facts if facts is not None else SurveyFact.objects.all()).annotate(
        **{name: Value(value) for name, value in SURVEY_CONSTANTS.items()})
    return _family_rows(qs, "window_day", cube)


def rebuild(*, batch_size: int = 5000, progress: Callable[[int], None] | None = None) -> int:
    """Recompute every fact from the tickets and every rollup row from the facts. Returns the tickets seen."""
    with transaction.atomic():
        ReportFact.objects.all().delete()
        HopFact.objects.all().delete()
        SurveyFact.objects.all().delete()
        for cube in CUBES:
            cube.model.objects.all().delete()
        seen = 0
        for batch in facts_from_tickets(batch_size=batch_size):
            _insert_facts(batch)
            seen += len(batch)
            if progress:
                progress(seen)
        for survey_batch in survey_facts(batch_size=batch_size):
            SurveyFact.objects.bulk_create([SurveyFact(survey_id=pk, **fact) for pk, fact in survey_batch])
        _add_families(ReportFact.objects.all(), SurveyFact.objects.all(), HopFact.objects.all())
    return seen


def hop_family_queryset(day_field: str, hops: Any = None, cube: Cube = DAILY) -> Any:
    """A cube's rows of one hop day family (received / ended), aggregated from the hop facts."""
    qs = hops if hops is not None else HopFact.objects.all()
    return _family_rows(qs.filter(**{f"{day_field}__isnull": False}), day_field, cube)


def _add_families(facts: Any, surveys: Any = None, hops: Any = None) -> None:
    """Add these facts' contributions to every cube: per cube and day family one `INSERT ... SELECT ... GROUP BY
    ... ORDER BY key ON CONFLICT DO UPDATE SET n = n + excluded.n` (rows in key order: no deadlock)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        for cube in CUBES:
            table = q(cube.table)
            columns = ", ".join(q(c) for c in (*cube.columns[1:], cube.columns[0], *COUNTER_NAMES))
            conflict = ", ".join(q(c) for c in cube.columns)
            sets = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in COUNTER_NAMES)
            queries = [family_queryset(day_field, facts, cube=cube) for day_field in DAY_FIELDS]
            if surveys is not None:
                queries.append(survey_family_queryset(surveys, cube=cube))
            if hops is not None:
                queries += [hop_family_queryset(day_field, hops, cube=cube) for day_field in HOP_DAY_FIELDS]
            for query in queries:
                select_sql, params = query.order_by(*cube.columns).query.sql_with_params()
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) {select_sql} ON CONFLICT ({conflict}) DO UPDATE SET {sets}",
                    params,
                )


@dataclass
class CheckReport:
    tickets: int = 0
    fact_differences: list[tuple[int, str, Any, Any]] = field(default_factory=list)  # (ticket, field, stored, expected)
    missing_facts: list[int] = field(default_factory=list)
    extra_facts: int = 0
    rollup_differences: list[tuple[Key, str, int, int]] = field(default_factory=list)  # (key, counter, stored, exp.)

    @property
    def ok(self) -> bool:
        return not (self.fact_differences or self.missing_facts or self.extra_facts or self.rollup_differences)


def _normalise(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return dt.date.fromisoformat(value)
    return value


def recount_from_tickets(cube: Cube = DAILY) -> dict[Key, dict[str, int]]:
    """A cube counted directly from the tickets (in memory: for tests and small data sets)."""
    totals: dict[Key, dict[str, int]] = defaultdict(dict)
    for batch in facts_from_tickets():
        for _pk, fact in batch:
            _accumulate(totals, project(cube, contributions(fact)))
    for survey_batch in survey_facts():
        for _pk, fact in survey_batch:
            _accumulate(totals, project(cube, survey_contributions(fact)))
    return dict(totals)


def stored_rollups(days: tuple[dt.date, dt.date] | None = None, cube: Cube = DAILY) -> dict[Key, dict[str, int]]:
    qs = cube.model.objects.all()
    if days is not None:
        qs = qs.filter(**{f"{cube.columns[0]}__range": days})
    out: dict[Key, dict[str, int]] = {}
    for row in qs.values(*cube.columns, *COUNTER_NAMES).iterator(chunk_size=5000):
        amounts = {name: row[name] for name in COUNTER_NAMES if row[name]}
        if amounts:
            out[tuple(_normalise(row[c]) for c in cube.columns)] = amounts
    return out


def _expected_rollups(days: tuple[dt.date, dt.date] | None, cube: Cube = DAILY) -> dict[Key, dict[str, int]]:
    out: dict[Key, dict[str, int]] = defaultdict(dict)
    for day_field in DAY_FIELDS:
        facts = ReportFact.objects.all()
        if days is not None:
            facts = facts.filter(**{f"{day_field}__range": days})
        for row in family_queryset(day_field, facts, cube).iterator(chunk_size=5000):
            key = tuple(_normalise(row[c]) for c in cube.columns)
            for name in COUNTER_NAMES:
                if row[name]:
                    out[key][name] = out[key].get(name, 0) + row[name]
    surveys = SurveyFact.objects.all()
    if days is not None:
        surveys = surveys.filter(window_day__range=days)
    families = [survey_family_queryset(surveys, cube)]
    for day_field in HOP_DAY_FIELDS:
        hops = HopFact.objects.all()
        if days is not None:
            hops = hops.filter(**{f"{day_field}__range": days})
        families.append(hop_family_queryset(day_field, hops, cube))
    for family in families:
        for row in family.iterator(chunk_size=5000):
            key = tuple(_normalise(row[c]) for c in cube.columns)
            for name in COUNTER_NAMES:
                if row[name]:
                    out[key][name] = out[key].get(name, 0) + row[name]
    return dict(out)


def compare(stored: dict[Key, dict[str, int]], expected: dict[Key, dict[str, int]]) -> list[tuple[Key, str, int, int]]:
    diffs = []
    for key in sorted(stored.keys() | expected.keys(), key=_sort_key):
        a, b = stored.get(key, {}), expected.get(key, {})
        for name in COUNTER_NAMES:
            if a.get(name, 0) != b.get(name, 0):
                diffs.append((key, name, a.get(name, 0), b.get(name, 0)))
    return diffs


def check(*, limit: int = 100, chunk_days: int = 7) -> CheckReport:
    """Recompute the facts from the tickets and the rollups from the facts; report every difference."""
    report = CheckReport()
    for batch in facts_from_tickets():
        report.tickets += len(batch)
        stored = stored_facts([pk for pk, _ in batch])
        for pk, fact in batch:
            have = stored.get(pk)
            if have is None:
                if len(report.missing_facts) < limit:
                    report.missing_facts.append(pk)
                continue
            for name in FACT_FIELDS:
                if have[name] != fact[name] and len(report.fact_differences) < limit:
                    report.fact_differences.append((pk, name, have[name], fact[name]))
            if have["hops"] != fact["hops"] and len(report.fact_differences) < limit:  # each hop, field by field
                for i in range(max(len(have["hops"]), len(fact["hops"]))):
                    a = have["hops"][i] if i < len(have["hops"]) else {}
                    b = fact["hops"][i] if i < len(fact["hops"]) else {}
                    report.fact_differences += [(pk, f"hop {i + 1} {name}", a.get(name), b.get(name))
                                                for name in HOP_FIELDS if a.get(name) != b.get(name)]
                del report.fact_differences[limit:]  # at most `limit`, as for the other kinds
    report.extra_facts = ReportFact.objects.count() - (report.tickets - len(report.missing_facts))
    # Hops of a ticket with a fact were compared above; hops of a ticket without one are extra.
    report.extra_facts += HopFact.objects.filter(ticket__report_fact__isnull=True).count()
    surveys = missing_surveys = 0
    for survey_batch in survey_facts():  # window-service surveys: their facts too (survey ids negative)
        surveys += len(survey_batch)
        have_surveys = {row.pop("survey_id"): row for row in SurveyFact.objects.filter(
            pk__in=[pk for pk, _ in survey_batch]).values("survey_id", *SURVEY_FACT_FIELDS)}
        for pk, fact in survey_batch:
            have_survey = have_surveys.get(pk)
            if have_survey is None:
                missing_surveys += 1
                if len(report.missing_facts) < limit:
                    report.missing_facts.append(-pk)
                continue
            for name in SURVEY_FACT_FIELDS:
                if _normalise(have_survey[name]) != fact[name] and len(report.fact_differences) < limit:
                    report.fact_differences.append((-pk, name, have_survey[name], fact[name]))
    report.extra_facts += SurveyFact.objects.count() - (surveys - missing_surveys)
    bounds = DailyRollup.objects.order_by("day").values_list("day", flat=True)
    first, last = bounds.first(), DailyRollup.objects.order_by("-day").values_list("day", flat=True).first()
    sources: list[tuple[Any, str]] = [*((ReportFact.objects, d) for d in DAY_FIELDS),
                                      *((HopFact.objects, d) for d in HOP_DAY_FIELDS)]
    for manager, day_field in sources:
        for edge in (manager.exclude(**{f"{day_field}__isnull": True}).order_by(day_field)
                     .values_list(day_field, flat=True).first(),
                     manager.exclude(**{f"{day_field}__isnull": True}).order_by(f"-{day_field}")
                     .values_list(day_field, flat=True).first()):
            if edge is not None:
                first = min(first, edge) if first else edge
                last = max(last, edge) if last else edge
    if first is not None and last is not None:
        start = _normalise(first)
        end = _normalise(last)
        while start <= end and len(report.rollup_differences) < limit:
            stop = min(end, start + dt.timedelta(days=chunk_days - 1))
            report.rollup_differences += compare(stored_rollups((start, stop)), _expected_rollups((start, stop)))
            start = stop + dt.timedelta(days=1)
    for cube in (MONTHLY, TOTALS):  # small tables: compared whole
        report.rollup_differences += compare(stored_rollups(cube=cube), _expected_rollups(None, cube))
    report.rollup_differences = report.rollup_differences[:limit]
    return report

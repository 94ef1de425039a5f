"""The bulk path of the legacy work-order import: validated rows written in batches with the generator's writer.

`loopdesk.reports.imports.import_tickets` validates the whole file first (all-or-nothing); then this writes the
valid rows in batches, inside the import's transaction, storing what `do_create_ticket` (and, for a legacy
ticket already closed, `do_answer_customer` + `do_close_ticket`) would have stored:

- customers: found by number; unknown numbers get a minimal record in the importing user's region (one
  multi-row insert per batch);
- tickets with their SLA policy (`select_policy`), committed time and every SLA column derived from the
  timeline by `loopdesk.tickets.bulk.fast_sla` (the clock port the generator uses, tested against `compute_sla`);
- numbers from the region's per-day sequence (`loopdesk.tickets.numbers`: the same numbers a creation would
  take, nothing reused), ids from the tables' own sequences (safe while users create tickets);
- the timeline: create, repeat (same customer and top category within 30 days, as the services detect it),
  and for closed legacy tickets answer and close at the legacy close time; repeat links; external ids;
- the KPI facts of the batch, computed from the rows just built (`rollups.fact_from_values`: what the fold would
  read back from these tickets, which have no dispatch and no survey), written by COPY, and their contributions
  added to every rollup cube (`CubeDeltas`: on PostgreSQL gathered in a temporary table and added to each cube
  once, after the last batch; elsewhere `rollups.apply_delta` per batch).

`seconds` adds up the wall time of each step over the batches (the import benchmark prints it).

PostgreSQL gets the rows by `COPY`, SQLite by `executemany` (`loopdesk.tickets.bulk.RowWriter`).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from loopdesk.core.db import lock_references
from loopdesk.customers.models import Customer
from loopdesk.reports import rollups
from loopdesk.sla.calendars import SHANGHAI, working_time_for
from loopdesk.sla.models import SlaPolicy
from loopdesk.sla.services import active_policies, select_policy
from loopdesk.tickets.bulk import CUSTOMER_FIELDS, DAY, LOCAL_OFFSET, FastClock, RowWriter, TimeText, fast_sla
from loopdesk.tickets.choices import ContactType, EventKind, Priority, Status, Visibility
from loopdesk.tickets.models import Category, Ticket, TicketSequence
from loopdesk.tickets.numbers import _sequence_name, format_numbers, next_ticket_number

if TYPE_CHECKING:
    from loopdesk.reports.imports import _TicketRow

REPEAT_WINDOW = 30 * DAY
REPEAT_TYPES = (ContactType.COMPLAINT, ContactType.APPEAL)


def reserve_numbers(region: str, day: dt.date, count: int) -> list[str]:
    """`count` ticket numbers of `region` on `day`, as `next_ticket_number` hands them out (call inside the
    transaction that writes the tickets): PostgreSQL takes them from the day's sequence in one statement."""
    if count <= 0:
        return []
    first = next_ticket_number(region, day)  # creates the day's sequence / counter row when missing
    if count == 1:
        return [first]
    values = [int(first.rsplit("-", 1)[1])]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and first and _sequence_exists(cursor, region, day):
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [_sequence_name(region, day), count - 1])
            values += [int(row[0]) for row in cursor.fetchall()]
        else:  # the counter row (SQLite; one writer at a time)
            row = TicketSequence.objects.get(region=region, day=day)
            row.last_value += count - 1
            row.save(update_fields=["last_value"])
            values += list(range(values[0] + 1, values[0] + count))
    return format_numbers(region, day, values)


def _sequence_exists(cursor: Any, region: str, day: dt.date) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [_sequence_name(region, day)])
    return bool(cursor.fetchone()[0])


def _epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


def _aware(epoch: int | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)


def by_values(qs: Any, column: str, values: list[Any]) -> Any:
    """`qs` filtered on `column` IN `values`: on PostgreSQL as `= ANY(array)`, one parameter instead of thousands
    (a 5,000-item IN list costs more to build and parse than the look-up itself).

    The array is cast to the column's own type (a list of str arrives as text[]; `varchar_column = ANY(text[])`
    compares `column::text`, which the planner was seen to leave out of a composite index's condition)."""
    if connection.vendor == "postgresql":
        field = qs.model._meta.get_field(column)
        name = connection.ops.quote_name(field.column)  # our own column and type; the values are bound
        return qs.extra(where=[f"{name} = ANY(%s::{field.db_type(connection)}[])"], params=[values])  # noqa: S610
    return qs.filter(**{f"{column}__in": values})


class CubeDeltas:
    """The rollup contributions of a whole import, added to every cube once at the end (`finish`).

    On PostgreSQL each batch's contributions go by COPY into a temporary table (full key: day, dimensions, top
    category); `finish` adds them to each cube in one `INSERT ... SELECT ... GROUP BY ... ORDER BY ... ON CONFLICT
    DO UPDATE SET n = n + excluded.n`. A cube row is so written once per import instead of once per batch (every
    batch of a month updated the same monthly rows, leaving a chain of row versions that the next batch walked),
    and rows are locked in the order `rollups.apply_delta` locks them (text order of the key parts), so the
    import cannot deadlock with the fold. Elsewhere (SQLite: one writer at a time) each batch is applied at once
    with `rollups.apply_delta`.
    """

    TEMP = "import_rollup_delta"

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.ready = False

    def _columns(self) -> tuple[str, ...]:
        return (*rollups.FULL_KEY, *rollups.COUNTER_NAMES)

    def add(self, delta: dict[rollups.Key, dict[str, int]]) -> None:
        if not delta:
            return
        if not self.pg:
            rollups.apply_delta(delta)
            return
        q = connection.ops.quote_name
        counters = rollups.COUNTER_NAMES
        with connection.cursor() as cursor:
            if not self.ready:
                daily = q(rollups.DAILY.table)
                picked = ", ".join(
                    "0::integer AS category_root_id" if c == "category_root_id" else f"d.{q(c)}"
                    for c in self._columns())
                # Session-scoped, emptied at commit (and gone with a rolled-back import that created it).
                cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self.TEMP} ON COMMIT DELETE ROWS AS "  # noqa: S608
                               f"SELECT {picked} FROM {daily} d WITH NO DATA")
                cursor.execute(f"TRUNCATE {self.TEMP}")
                self.ready = True
            columns = ", ".join(q(c) for c in self._columns())
            with cursor.cursor.copy(f"COPY {self.TEMP} ({columns}) FROM STDIN") as copy:
                for key, amounts in delta.items():
                    copy.write_row([*key, *(amounts.get(c, 0) for c in counters)])

    @staticmethod
    def key_sql(cube: rollups.Cube) -> tuple[list[str], str]:
        """A cube's key columns as expressions over the temporary table, and its ORDER BY: `rollups._sort_key`'s
        order (each part as Python's str() spells it, compared by code point)."""
        q = connection.ops.quote_name
        keys = [f"date_trunc('month', {q('day')})::date" if c == "month" else q(c) for c in cube.columns]
        return keys, ", ".join(f"coalesce(({k})::text, 'None') COLLATE \"C\"" for k in keys)

    def finish(self) -> None:
        """Add what the batches contributed to every cube (PostgreSQL; nothing to do elsewhere)."""
        if not self.pg or not self.ready:
            return
        q = connection.ops.quote_name
        counters = rollups.COUNTER_NAMES
        sums = ", ".join(f"sum({q(c)})" for c in counters)
        nonzero = " OR ".join(f"sum({q(c)}) <> 0" for c in counters)
        with connection.cursor() as cursor:
            for cube in rollups.CUBES:
                table = q(cube.table)
                keys, order = self.key_sql(cube)
                names = ", ".join(q(c) for c in (*cube.columns, *counters))
                sets = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in counters)
                conflict = ", ".join(q(c) for c in cube.columns)
                cursor.execute(
                    f"INSERT INTO {table} ({names}) SELECT {', '.join(keys)}, {sums} FROM {self.TEMP} "  # noqa: S608
                    f"GROUP BY {', '.join(keys)} HAVING {nonzero} ORDER BY {order} "
                    f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}")
            cursor.execute(f"TRUNCATE {self.TEMP}")


class BulkTicketWriter:
    """Writes batches of validated legacy rows (see the module docstring). One per import, inside its transaction."""

    def __init__(self, *, acting_user: Any, system: str, now: dt.datetime, first: dt.datetime | None = None,
                 last: dt.datetime | None = None, check_references: bool = False):
        self.w = RowWriter()
        # True inside `references_checked_by_batch`: each batch checks and locks what its rows refer to.
        self.check_references = check_references
        # Rows found and locked FOR KEY SHARE by earlier batches: the import is one transaction, so they stay locked.
        self.locked: dict[type, set[int]] = {}
        self.ts = TimeText(self.w.tz_suffix)
        self.N, self.T, self.F = self.w.null, self.w.true, self.w.false
        self.user_id = acting_user.pk
        self.unit = acting_user.unit
        self.system = system
        self.now = _epoch(now)
        self.policies = active_policies()
        self.policy_for: dict[tuple[str, int, str, str, str], SlaPolicy] = {}
        # Working days from the first legacy day to a year after today: every deadline falls in between. When
        # the file's first and last registration times are not known yet (validated while the import writes),
        # the range grows with the batches (`_cover`).
        self.first_day = self.last_day = 0
        self.covered = False
        self.clocks: dict[int, FastClock] = {}
        if first is not None and last is not None:
            self._cover(first, last)
        # Top category by category id, from the validated rows' own categories (a category deleted since the
        # validation then fails the foreign-key check, as it should, not this look-up).
        self.root_of: dict[int, int] = {}
        self.seconds: dict[str, float] = defaultdict(float)
        self.create_data: dict[tuple[str, str], str] = {}  # the create event's JSON by (channel, contact type)
        self.cubes = CubeDeltas()
        self._mark = time.perf_counter()

    def finish(self) -> None:
        """After the last batch: the rollups get what the import contributed."""
        self._mark = time.perf_counter()
        self.cubes.finish()
        self._step("rollup upsert")

    def _step(self, name: str) -> None:
        """Charge the time since the previous mark to `name`."""
        now = time.perf_counter()
        self.seconds[name] += now - self._mark
        self._mark = now

    def _root(self, category: Category) -> int:
        root = self.root_of.get(category.pk)
        if root is None:
            root = self.root_of[category.pk] = category.root_id
        return root

    def _cover(self, first: dt.datetime, last: dt.datetime) -> None:
        """Let the SLA clocks cover registrations from `first` to `last` (built again when they did not)."""
        first_day = (_epoch(first) + LOCAL_OFFSET) // DAY - 1
        last_day = max(self.now, _epoch(last)) // DAY + 400
        if self.covered:
            if self.first_day <= first_day and last_day <= self.last_day:
                return
            first_day, last_day = min(first_day, self.first_day), max(last_day, self.last_day)
        self.first_day, self.last_day, self.covered = first_day, last_day, True
        self.clocks.clear()

    def _clock(self, policy: SlaPolicy) -> FastClock:
        clock = self.clocks.get(policy.calendar_id)
        if clock is None:
            clock = self.clocks[policy.calendar_id] = FastClock(working_time_for(policy.calendar), self.first_day,
                                                                self.last_day)
        return clock

    def _policy(self, item: _TicketRow, tier: str) -> SlaPolicy:
        key = (item.contact_type, item.category.pk, tier, item.priority, item.channel)
        policy = self.policy_for.get(key)
        if policy is None:
            policy = self.policy_for[key] = select_policy(
                contact_type=item.contact_type, category=item.category, tier=tier, priority=item.priority,
                channel=item.channel, policies=self.policies)
        return policy

    def _customers(self, items: list[_TicketRow]) -> tuple[dict[str, tuple[int, str, str, str, int | None, str]],
                                                           set[int]]:
        """number -> (id, tier, province, region, home branch, brand), creating minimal records for unknown
        numbers; and the ids of the customers created here (they have no earlier ticket)."""
        numbers = {item.msisdn: item.customer_name for item in items}
        fields = ("msisdn", "pk", "vip_level", "province", "region", "home_branch_id", "brand")
        found = {row[0]: row[1:] for row in by_values(Customer.objects.all(), "msisdn", list(numbers))
                 .values_list(*fields)}
        missing = [n for n in numbers if n not in found]
        created: set[int] = set()
        if missing and self.w.pg:
            # COPY with ids from the table's sequence: the record `bulk_create` would write (model defaults,
            # created now), without building a model instance and binding a dozen parameters per customer.
            province = getattr(self.unit, "province", "")
            region = getattr(self.unit, "region", "")
            ids = self.w.take_ids("customer", len(missing))
            blank = Customer(msisdn="", province=province, region=region)
            created_text = timezone.now().isoformat()
            w = self.w
            fixed = {"brand": blank.brand, "vip_level": blank.vip_level, "arpu": str(blank.arpu),
                     "points": str(blank.points), "province": w.text(province), "region": w.text(region),
                     "home_branch": self.N, "area": self.N, "account_manager": self.N, "created_at": created_text}
            template = [fixed.get(name) for name in CUSTOMER_FIELDS]
            slot = {name: CUSTOMER_FIELDS.index(name) for name in ("id", "msisdn", "name")}
            rows = []
            for pk, n in zip(ids, missing, strict=True):
                row = template.copy()
                row[slot["id"]], row[slot["msisdn"]], row[slot["name"]] = str(pk), n, w.text(numbers[n])
                rows.append(row)
            if self.check_references:  # their foreign keys are NULL: checked for the day they are not
                lock_references(Customer, w.tables["customer"][1], rows, own={Customer: ids}, locked=self.locked)
            w.write("customer", rows)
            found.update({n: (pk, blank.vip_level, province, region, None, blank.brand)
                          for pk, n in zip(ids, missing, strict=True)})
            created = set(ids)
        elif missing:
            province = getattr(self.unit, "province", "")
            region = getattr(self.unit, "region", "")
            new = Customer.objects.bulk_create(
                [Customer(msisdn=n, name=numbers[n], province=province, region=region) for n in missing],
                batch_size=1000)
            if all(c.pk is not None for c in new):  # the ids come back from the insert (PostgreSQL, SQLite 3.35+)
                found.update({c.msisdn: (c.pk, c.vip_level, c.province, c.region, c.home_branch_id, c.brand)
                              for c in new})
            else:
                found.update({row[0]: row[1:] for row in by_values(Customer.objects.all(), "msisdn", missing)
                              .values_list(*fields)})
            created = {found[n][0] for n in missing}
        tiers = {vip: Customer(vip_level=vip).tier for vip in {row[1] for row in found.values()}}
        return {n: (pk, tiers[vip], prov, reg, branch, brand) for n, (pk, vip, prov, reg, branch, brand) in
                found.items()}, created

    def _earlier_in_database(self, items: list[_TicketRow], customers: dict[str, Any],
                             new_customers: set[int]) -> dict[int, tuple[int, int, str]]:
        """Row position -> (epoch, id, number) of the complaint that row repeats from the database (earlier batches
        of this import included, same transaction): the latest of the same customer and top category registered in
        the 30 days up to the row (epoch seconds, whole seconds compared; ties by the larger id), not rejected."""
        wanted = [(n, customers[i.msisdn][0], self._root(i.category), _epoch(i.created_at))
                  for n, i in enumerate(items) if i.contact_type in REPEAT_TYPES]
        wanted = [w for w in wanted if w[1] not in new_customers]  # a customer created by this batch has no ticket
        if not wanted:
            return {}
        found: dict[int, tuple[int, int, str]] = {}
        if connection.vendor == "postgresql":
            # One index probe per row (tkt_repeat: customer, top category, created) returning at most one ticket,
            # instead of every complaint of these customers in the window (45,000 rows for 5,000 frequent ones).
            table = connection.ops.quote_name(Ticket._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT q.n, e.epoch, e.id, e.number "  # noqa: S608 - our own table name
                    "FROM unnest(%s::int[], %s::bigint[], %s::bigint[], %s::bigint[]) AS q(n, customer, root, at) "
                    "CROSS JOIN LATERAL (SELECT floor(extract(epoch FROM t.created_at))::bigint AS epoch, t.id, "
                    f"t.number FROM {table} t WHERE t.customer_id = q.customer AND t.category_root_id = q.root "
                    "AND t.created_at >= to_timestamp(q.at - %s) AND t.created_at < to_timestamp(q.at + 1) "
                    "AND t.contact_type = ANY(%s) AND t.status <> %s ORDER BY 1 DESC, t.id DESC LIMIT 1) AS e",
                    [[w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted], [w[3] for w in wanted],
                     REPEAT_WINDOW, [str(t) for t in REPEAT_TYPES], str(Status.REJECTED)])
                for n, epoch, pk, number in cursor.fetchall():
                    found[n] = (epoch, pk, number)
            return found
        lo = min(w[3] for w in wanted) - REPEAT_WINDOW
        hi = max(w[3] for w in wanted)
        earlier: dict[tuple[int, int], list[tuple[int, int, str]]] = defaultdict(list)
        rows = (by_values(Ticket.objects.filter(created_at__range=(_aware(lo), _aware(hi + 1)),
                                                 contact_type__in=REPEAT_TYPES), "customer_id",
                           sorted({w[1] for w in wanted}))
                .exclude(status=Status.REJECTED)
                .values_list("customer_id", "category_root_id", "created_at", "pk", "number"))
        for customer_id, root_id, created_at, pk, number in rows:
            earlier[(customer_id, root_id)].append((_epoch(created_at), pk, number))
        for n, customer_id, root_id, at in wanted:
            candidates = [c for c in earlier.get((customer_id, root_id), ()) if at - REPEAT_WINDOW <= c[0] <= at]
            if candidates:
                found[n] = max(candidates)
        return found

    def write(self, items: list[_TicketRow]) -> int:
        """Write one batch; returns the tickets written."""
        if not items:
            return 0
        w, ts, N, T, F = self.w, self.ts, self.N, self.T, self.F
        self._mark = time.perf_counter()
        self._cover(min(item.created_at for item in items), max(item.created_at for item in items))
        customers, new_customers = self._customers(items)
        self._step("customers")
        earlier_db = self._earlier_in_database(items, customers, new_customers)
        self._step("repeat look-up")
        # Numbers: per region and local day, in the order of the rows.
        wanted: dict[tuple[str, dt.date], int] = defaultdict(int)
        regions = []
        for item in items:
            region = customers[item.msisdn][3] or self.unit.region
            day = item.created_at.astimezone(SHANGHAI).date()
            regions.append((region, day))
            wanted[(region, day)] += 1
        numbers = {key: iter(reserve_numbers(key[0], key[1], count)) for key, count in sorted(wanted.items())}
        self._step("numbers")
        # Repeat detection: earlier batches of this import are in the database already (this transaction), so
        # only this batch's complaints are kept here: memory does not grow with the file.
        recent: dict[tuple[int, int], list[tuple[int, int, str]]] = defaultdict(list)
        ticket_ids = w.take_ids("ticket", len(items))
        self._step("ids")
        unit_id, user_id = self.unit.pk, self.user_id
        tickets: list[list[Any]] = []
        events: list[tuple[int, int, list[Any]]] = []
        links: list[list[str]] = []
        refs: list[list[str]] = []
        facts: list[tuple[int, rollups.Fact]] = []
        aware = _aware

        def t(v: int | None) -> str | None:
            return N if v is None else ts(v)

        # SLA policies and clocks first (they may read the database): the ticket rows stream into a COPY as they are
        # built, so that PostgreSQL stores them while the next ones are built, and no other statement may run then.
        policies = [self._policy(item, customers[item.msisdn][1]) for item in items]
        for policy in {p.pk: p for p in policies}.values():
            self._clock(policy)
        with w.stream("ticket") as add_ticket:
            for position, (item, tid, (region, day)) in enumerate(zip(items, ticket_ids, regions, strict=True)):
                customer_id, tier, province, _region, branch_id, brand = customers[item.msisdn]
                number = next(numbers[(region, day)])
                policy = policies[position]
                clock = self._clock(policy)
                created = _epoch(item.created_at)
                root_id = self._root(item.category)
                repeat_of = None
                if item.contact_type in REPEAT_TYPES:
                    key = (customer_id, root_id)
                    repeat_of = earlier_db.get(position)  # the latest in the database, then this batch's own
                    for c in recent.get(key, ()):
                        if created - REPEAT_WINDOW <= c[0] <= created and (repeat_of is None or c > repeat_of):
                            repeat_of = c
                    recent[key].append((created, tid, number))
                description = w.text(item.description)
                create_data = self.create_data.get((item.channel, item.contact_type))
                if create_data is None:
                    create_data = self.create_data[(item.channel, item.contact_type)] = json.dumps(
                        {"channel": item.channel, "contact_type": item.contact_type})
                evs: list[list[Any]] = [[
                    EventKind.CREATE, created, user_id, unit_id, "", Status.NEW, None, unit_id, user_id, description,
                    Visibility.INTERNAL, create_data]]
                if repeat_of is not None:
                    evs.append([EventKind.REPEAT, created, None, None, "", "", None, None, None, "",
                                Visibility.INTERNAL, json.dumps({"repeat_of": repeat_of[2]}, ensure_ascii=False)])
                    links.append([str(tid), str(repeat_of[1]), "repeat", str(user_id), ts(created)])
                closed = item.closed_at is not None
                resolution = w.text(item.resolution) if closed else ""
                if closed:
                    assert item.closed_at is not None
                    at = _epoch(item.closed_at)
                    evs.append([EventKind.ANSWER, at, user_id, unit_id, Status.NEW, Status.ANSWERED, None, None, None,
                                resolution, Visibility.CUSTOMER, "{}"])
                    evs.append([EventKind.CLOSE, at, user_id, unit_id, Status.ANSWERED, Status.CLOSED, None, None, None,
                                "", Visibility.INTERNAL, "{}"])
                sla = fast_sla([(e[0], e[1], e[5]) for e in evs], policy, clock, self.now)
                committed = clock.add(created, policy.resolution_minutes, [])
                due = sla.due_at if sla.due_at is not None else (sla.due_before_pause or committed)
                for seq, e in enumerate(evs, start=1):
                    events.append((tid, seq, e))
                n = len(evs)
                province = province or self.unit.province or settings.LOOPDESK_PROVINCE
                closed_at = _epoch(item.closed_at) if item.closed_at else None
                # What `rollups.facts_from_tickets` would read back from this row (no dispatch, no survey).
                facts.append((tid, rollups.fact_from_values(
                    province=province, region=region, branch_id=branch_id, department_id=0,
                    category_id=item.category.pk, category_root_id=root_id, contact_type=item.contact_type,
                    channel=item.channel, tier=tier, brand=brand, status=Status.CLOSED if closed else Status.NEW,
                    created_at=dt.datetime.fromtimestamp(created, dt.UTC), cycle_started_at=aware(sla.cycle_started_at),
                    replied_at=aware(sla.replied_at),
                    answered_at=aware(sla.answered_at), closed_at=aware(closed_at), is_repeat=repeat_of is not None,
                    return_count=0, reopen_count=0, is_overtime=sla.is_overtime, is_problem=sla.is_problem,
                    callback_verdict="", dispatch_count=0)))
                tickets.append([
                    str(tid), number, province, region,
                    item.contact_type, str(item.category.pk),
                    str(root_id), item.channel, item.priority or Priority.NORMAL, str(customer_id), tier,
                    N if branch_id is None else str(branch_id), w.text(item.title), description, str(user_id),
                    str(unit_id), str(unit_id), str(user_id), N, Status.CLOSED if closed else Status.NEW,
                    F if closed else T, str(policy.pk), t(committed), N, t(sla.first_response_due_at),
                    t(sla.first_responded_at), t(sla.cycle_started_at), t(sla.hop_started_at), t(sla.hop_due_at),
                    t(sla.overtime_at), t(sla.problem_at), t(sla.resolution_due_at), t(due), T if sla.paused else F,
                    T if sla.is_overtime else F, T if sla.is_problem else F, F if repeat_of is None else T,
                    t(sla.replied_at), t(sla.answered_at), t(closed_at),
                    resolution, resolution, "", "", "0", "0", "0", N, N, str(1 + n), str(n), ts(created),
                    ts(evs[-1][1]),
                ])
                add_ticket(tickets[-1])
                refs.append([str(tid), self.system, w.text(item.external_id)])
        self._step("rows, SLA and COPY tickets")
        # Events, repeat links and external ids are numbered by their tables' sequences (no id column).
        event_rows: list[list[Any]] = []
        with w.stream("event", with_id=False) as add:
            for tid, seq, e in events:
                event_rows.append([
                    str(tid), str(seq), e[0], N if e[2] is None else str(e[2]), N if e[3] is None else str(e[3]),
                    e[4], e[5], N if e[6] is None else str(e[6]), N if e[7] is None else str(e[7]),
                    N if e[8] is None else str(e[8]), e[9], e[10], w.text(e[11]), ts(e[1])])
                add(event_rows[-1])
        self._step("COPY events")
        w.write("link", links, with_id=False)  # usually none: no statement then
        w.write("ref", refs, with_id=False)
        self._step("COPY links and external ids")
        if self.check_references:
            # After the rows (they are invisible to others until commit): a row deleted meanwhile by another
            # transaction is found missing here, and what is found stays locked until the import commits.
            own = {Ticket: ticket_ids, Customer: new_customers}
            lock_references(Ticket, w.tables["ticket"][1], tickets, own=own, locked=self.locked)
            for name, rows in (("event", event_rows), ("link", links), ("ref", refs)):
                lock_references(w.models[name], w.tables[name][1][1:], rows, own=own, locked=self.locked)
            self._step("references")
        # The fold's batch step without reading anything back: these tickets are new (no old fact to take away).
        delta: dict[rollups.Key, dict[str, int]] = {}
        for _tid, fact in facts:
            for key, amounts in rollups.contributions(fact).items():
                row = delta.setdefault(key, {})
                for name, amount in amounts.items():
                    row[name] = row.get(name, 0) + amount
        self._step("facts (Python)")
        self.cubes.add(delta)
        self._step("rollup deltas")
        rollups._insert_facts(facts)
        self._step("COPY facts")
        return len(tickets)

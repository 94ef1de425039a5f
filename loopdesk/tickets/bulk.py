"""Bulk writing of work orders, shared by the demo-data generator (`loopdesk.tickets.generator`) and the bulk
import of legacy work orders (`loopdesk.reports.imports`).

They bypass the services on purpose (one ticket per transaction is far too slow for millions of rows) and
store exactly what the services would:
- `FastClock` / `fast_sla`: the SLA columns `loopdesk.sla.clock.compute_sla` derives from a timeline, on
  integer epoch seconds (the same fold and derivation, a faster working-time clock);
- `RowWriter`: batches of rows as strings into the ticket tables, PostgreSQL `COPY` or SQLite `executemany`;
  `TimeText`: epoch seconds → the timestamp text the database takes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model

from loopdesk.customers.models import Customer
from loopdesk.sla.calendars import WorkingTime, cut_pauses
from loopdesk.sla.clock import derive_sla, fold_timeline
from loopdesk.sla.models import CalendarKind, SlaPolicy
from loopdesk.tickets.models import ExternalRef, Ticket, TicketEvent, TicketLink, TicketUnitAccess

LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai has had no daylight saving time since 1991
DAY = 86400
HOUR = 3600
MINUTE = 60

# --------------------------------------------------------------------------------------------------
# SLA clocks on integer seconds: the algorithm of loopdesk.sla.clock / calendars, ported for speed.
# --------------------------------------------------------------------------------------------------

Pauses = list[tuple[int, int | None]]


def _seconds_of_day(t: dt.time) -> int:
    return t.hour * HOUR + t.minute * MINUTE + t.second


class FastClock:
    """`WorkingTime.add` / `elapsed` on epoch seconds. Working days are looked up once into merged segments."""

    def __init__(self, working_time: WorkingTime, first_day: int, last_day: int):
        self.always = working_time.kind == CalendarKind.ALWAYS
        self.starts: list[int] = []
        self.ends: list[int] = []
        if self.always:
            return
        wt = working_time
        start_s = _seconds_of_day(wt.work_start)
        end_s = DAY if wt.work_end is None else _seconds_of_day(wt.work_end)
        for day in range(first_day, last_day + 1):
            if not wt.is_workday(dt.date(1970, 1, 1) + dt.timedelta(days=day)):
                continue
            base = day * DAY - LOCAL_OFFSET
            s, e = base + start_s, base + end_s
            if e <= s:
                continue
            if self.ends and self.ends[-1] == s:
                self.ends[-1] = e  # adjacent whole working days form one segment
            else:
                self.starts.append(s)
                self.ends.append(e)

    def _segments(self, start: int) -> Iterator[tuple[int, int]]:
        if self.always:
            yield start, start + 3 * 366 * DAY
            return
        i = bisect.bisect_right(self.ends, start)
        starts, ends = self.starts, self.ends
        for j in range(i, len(starts)):
            yield max(starts[j], start), ends[j]

    def running(self, start: int, pauses: Pauses) -> Iterator[tuple[int, int]]:
        return cut_pauses(self._segments(start), start, pauses)

    def add(self, start: int, minutes: float, pauses: Pauses) -> int | None:
        remaining = int(minutes * MINUTE)
        if self.always and not pauses:
            return start + remaining
        for seg_start, seg_end in self.running(start, pauses):
            if remaining <= seg_end - seg_start:
                return seg_start + remaining
            remaining -= seg_end - seg_start
        return None

    def elapsed(self, start: int, end: int, pauses: Pauses) -> float:
        """Counted minutes between `start` and `end` (the unit `derive_sla` compares with the policy)."""
        if end <= start:
            return 0.0
        if self.always and not pauses:
            return (end - start) / MINUTE
        total = 0
        for seg_start, seg_end in self.running(start, pauses):
            if seg_start >= end:
                break
            total += min(seg_end, end) - seg_start
        return total / MINUTE


@dataclass
class FastSla:
    first_response_due_at: int | None
    first_responded_at: int | None
    cycle_started_at: int | None
    hop_started_at: int | None
    hop_due_at: int | None
    overtime_at: int | None
    problem_at: int | None
    resolution_due_at: int | None
    replied_at: int | None
    answered_at: int | None
    paused: bool
    is_overtime: bool
    is_problem: bool
    due_at: int | None  # None: no clock runs (keep the previous deadline)
    due_before_pause: int | None


def fast_sla(events: list[tuple[str, int, str]], policy: SlaPolicy, clock: FastClock, now: int) -> FastSla:
    """`compute_sla` on (kind, epoch seconds, to_status) triples: the same fold and derivation, a faster clock."""
    timeline = fold_timeline(events)
    st = derive_sla(timeline, policy, clock, now)
    before = None
    if st.paused and timeline.hop_started_at is not None:
        # The services keep the deadline from before the pause in due_at while the clock is stopped.
        before = clock.add(timeline.hop_started_at, policy.hop_reply_minutes, list(timeline.closed_pauses))
    return FastSla(
        st.first_response_due_at,
        st.first_responded_at,
        st.cycle_started_at,
        st.hop_started_at,
        st.hop_due_at,
        st.overtime_at,
        st.problem_at,
        st.resolution_due_at,
        st.replied_at,
        st.answered_at,
        st.paused,
        st.is_overtime,
        st.is_problem,
        st.next_due(),
        before,
    )


# --------------------------------------------------------------------------------------------------
# Writing rows: PostgreSQL COPY or SQLite executemany, with rows as strings (one builder for both).
# --------------------------------------------------------------------------------------------------

TICKET_FIELDS = [
    "id",
    "number",
    "province",
    "region",
    "contact_type",
    "category",
    "category_root",
    "channel",
    "priority",
    "customer",
    "tier",
    "branch",
    "title",
    "description",
    "first_responder",
    "first_responder_unit",
    "handler_unit",
    "handler_user",
    "dispatcher_unit",
    "status",
    "is_open",
    "sla_policy",
    "committed_at",
    "requested_resolution_at",
    "first_response_due_at",
    "first_responded_at",
    "cycle_started_at",
    "hop_started_at",
    "hop_due_at",
    "overtime_at",
    "problem_at",
    "resolution_due_at",
    "due_at",
    "sla_paused",
    "is_overtime",
    "is_problem",
    "is_repeat",
    "replied_at",
    "answered_at",
    "closed_at",
    "resolution",
    "answer",
    "callback_verdict",
    "reject_reason",
    "reopen_count",
    "dispatch_count",
    "return_count",
    "parent",
    "duplicate_of",
    "version",
    "last_event_seq",
    "created_at",
    "updated_at",
]
EVENT_FIELDS = [
    "id",
    "ticket",
    "seq",
    "kind",
    "actor",
    "actor_unit",
    "from_status",
    "to_status",
    "from_unit",
    "to_unit",
    "to_user",
    "note",
    "visibility",
    "data",
    "created_at",
]
ACCESS_FIELDS = ["id", "ticket", "unit"]
REF_FIELDS = ["id", "ticket", "system", "external_id"]
LINK_FIELDS = ["id", "from_ticket", "to_ticket", "kind", "created_by", "created_at"]
CUSTOMER_FIELDS = [
    "id",
    "msisdn",
    "name",
    "brand",
    "vip_level",
    "arpu",
    "points",
    "province",
    "region",
    "home_branch",
    "area",
    "account_manager",
    "created_at",
]


def _columns(model: Any, fields: list[str]) -> list[str]:
    concrete = {f.name for f in model._meta.concrete_fields}
    missing = concrete - set(fields)
    if missing:
        raise RuntimeError(f"{model.__name__} has columns the generator does not fill: {sorted(missing)}")
    return [model._meta.get_field(name).column for name in fields]


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


class RowWriter:
    """Inserts batches of string rows. NULL, TRUE and FALSE are spelt the way the database's bulk path wants."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise RuntimeError(f"the generator supports PostgreSQL and SQLite, not {self.vendor}")
        self.pg = self.vendor == "postgresql"
        self.null: str | None = "\\N" if self.pg else None
        self.true, self.false = ("t", "f") if self.pg else ("1", "0")
        self.tz_suffix = "+00" if self.pg else ""
        self.models: dict[str, type[Model]] = {"ticket": Ticket, "event": TicketEvent, "access": TicketUnitAccess,
                                               "link": TicketLink, "customer": Customer, "ref": ExternalRef}
        self.tables = {
            "ticket": (Ticket._meta.db_table, _columns(Ticket, TICKET_FIELDS)),
            "event": (TicketEvent._meta.db_table, _columns(TicketEvent, EVENT_FIELDS)),
            "access": (TicketUnitAccess._meta.db_table, _columns(TicketUnitAccess, ACCESS_FIELDS)),
            "link": (TicketLink._meta.db_table, _columns(TicketLink, LINK_FIELDS)),
            "customer": (Customer._meta.db_table, _columns(Customer, CUSTOMER_FIELDS)),
            "ref": (ExternalRef._meta.db_table, _columns(ExternalRef, REF_FIELDS)),
        }
        self.sequences: dict[str, str] = {}

    def next_id(self, key: str) -> int:
        table = self.tables[key][0]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 - our own table name
            return int(cursor.fetchone()[0])

    def _target(self, key: str, with_id: bool) -> tuple[str, list[str]]:
        """The table and columns of `key`; without `with_id`, not the id (the first column): the table's
        sequence numbers the rows."""
        table, columns = self.tables[key]
        return table, columns if with_id else columns[1:]

    def write(self, key: str, rows: list[list[Any]], *, with_id: bool = True) -> None:
        if not rows:
            return
        table, columns = self._target(key, with_id)
        connection.ensure_connection()
        raw = connection.connection
        if self.pg:
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                copy.write("\n".join(["\t".join(row) for row in rows]) + "\n")
        else:
            marks = ", ".join("?" * len(columns))
            raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608

    @contextmanager
    def stream(self, key: str, *, with_id: bool = True, every: int = 500) -> Iterator[Callable[[list[Any]], None]]:
        """Rows of `key` written as they are added (`add(row)`): PostgreSQL sends them to an open COPY every
        `every` rows, so that the server stores them while the caller builds the next ones (the caller must not
        run another statement meanwhile); SQLite collects them and `write`s them when the block ends. Without
        `with_id` the rows have no id (the first column) and the table's sequence numbers them."""
        pending: list[Any] = []
        if not self.pg:
            yield pending.append
            self.write(key, pending, with_id=with_id)
            return
        table, columns = self._target(key, with_id)
        connection.ensure_connection()
        with connection.connection.cursor() as cursor, \
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:

            def add(row: list[Any]) -> None:
                pending.append("\t".join(row))
                if len(pending) >= every:
                    copy.write("\n".join(pending) + "\n")
                    pending.clear()

            yield add
            if pending:
                copy.write("\n".join(pending) + "\n")

    def text(self, value: str) -> str:
        """Free text as a COPY field (PostgreSQL text format escapes backslash, tab, newline, carriage return)."""
        if not self.pg or not _COPY_SPECIAL.search(value):
            return value
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

    def take_ids(self, key: str, count: int) -> list[int]:
        """`count` fresh ids for a table, safe while others insert: PostgreSQL takes them from the table's own
        sequence; SQLite has one writer at a time, so max(id) + 1 ... inside the caller's transaction is safe
        once that transaction has written (call it after the first write of the transaction)."""
        if count <= 0:
            return []
        table = self.tables[key][0]
        with connection.cursor() as cursor:
            if self.pg:
                # The sequence's name is looked up once: `nextval(pg_get_serial_sequence(...))` in the select list
                # resolves it again for every row (7x slower for 27,000 ids).
                sequence = self.sequences.get(key)
                if sequence is None:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                    sequence = self.sequences[key] = cursor.fetchone()[0]
                cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
                return [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - our own table name
            first = int(cursor.fetchone()[0]) + 1
            return list(range(first, first + count))

    def bulk_mode(self, on: bool) -> None:
        """SQLite: no fsync per batch and a bigger page cache (16 MB; the load appends in key order, and 64 MB
        put a 1 M-ticket load 19 MB over its 300 MB budget) while loading (a crash only loses generated rows).

        Temporary storage stays on disk: with temp_store=MEMORY the index rebuild of a 1 M-ticket load sorts in
        RAM and the process peaked at 480 MB; rebuilding inside bulk mode (64 MB cache, two sorter threads) took
        it to 406 MB, so `rebuild` runs after `bulk_mode(False)`."""
        if self.pg or connection.in_atomic_block:
            return  # inside a caller's transaction (e.g. a test) the safety level cannot change
        with connection.cursor() as cursor:
            if on:
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-16384")
            else:
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA cache_size=-2000")

    def drop_secondary_indexes(self, keys: tuple[str, ...] = ("ticket", "event", "access")) -> list[str]:
        """Drop the secondary indexes (and on PostgreSQL the foreign keys) of the ticket tables; return the SQL
        that recreates them. Building an index once from sorted data is several times cheaper than updating it
        row by row, and one validating join per foreign key is cheaper than a trigger per row (as pg_restore
        does). Unique constraints stay, so a duplicate still fails the load."""
        recreate: list[str] = []
        tables = [self.tables[key][0] for key in keys]
        with connection.cursor() as cursor:
            for table in tables:
                if self.pg:
                    cursor.execute(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = 'f'",
                        [table],
                    )
                    for name, definition in cursor.fetchall():
                        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                        recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                    cursor.execute(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                        [table, table],
                    )
                else:
                    cursor.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                        "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'",
                        [table],
                    )
                for name, definition in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{name}"')
                    recreate.append(definition)
        return recreate

    def rebuild(self, statements: list[str]) -> None:
        """Run what `drop_secondary_indexes` returned; PostgreSQL sorts with 512 MB of maintenance_work_mem (the
        server's memory, this session only, reset after)."""
        if not statements:
            return
        if self.pg:
            self.run_statements(["SET maintenance_work_mem = '512MB'", *statements, "RESET maintenance_work_mem"])
        else:
            self.run_statements(statements)

    def run_statements(self, statements: list[str]) -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def reset_sequences(self) -> None:
        if not self.pg:
            return
        with connection.cursor() as cursor:
            for table, _ in self.tables.values():
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )


class TimeText:
    """Epoch seconds → the timestamp text the database takes (UTC; PostgreSQL gets the offset)."""

    def __init__(self, suffix: str):
        self.suffix = suffix
        self.days: dict[int, str] = {}
        self.tod = [f" {h:02d}:{m:02d}:{s:02d}{suffix}" for h in range(24) for m in range(60) for s in range(60)]

    def __call__(self, epoch: int) -> str:
        day, sec = divmod(epoch, DAY)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
            if len(self.days) > 200_000:
                self.days.clear()
        return prefix + self.tod[sec]

"""SLA sweep with many open tickets of which 1 % are due (run by hand; not a test).

    python bench/followup_sla_sweep.py [--tickets 1000000] [--due-share 0.01] [--reuse] [--build-only]
                                       [--per-ticket 300] [--max-runs N] [--db var/bench/followup.sqlite3]

Builds var/bench/followup.sqlite3: migrate, the test world (loopdesk.conftest.build_world), one template work
order created and dispatched through the services 50 hours ago (so it has crossed 48 h but is not yet marked),
then `--tickets` open tickets cloned from it in SQL (same columns, own ids and numbers). Every open ticket gets
the SLA watch the ticket-event listener would keep: for `--due-share` of them the "overtime" watch that is due
now (these also get the template's timeline, so `do_mark_sla_crossings` does its real work: lock, replay,
timeline event, save, listeners), for the others a warning far in the future. `--reuse` keeps a database
built before (its due watches are consumed by a run: rebuild to measure again).

Measures, in the same run:
- baseline: what a naive sweep must do at least, one pass over the open tickets (`COUNT(*) WHERE is_open`);
- finding the due work: the sweep's query (`fire_at <= now`, first 501 rows), p50 of 20 runs;
- with `--per-ticket K` (default 300): first K crossings through the per-ticket path (one locked service call
  each, `_mark_one_by_one`), the same-run baseline for the batched path;
- one sweep run with the default batch (500), and draining every due watch run after run (items/s), at most
  `--max-runs` runs.
Copy the database file before a run to measure another version of the code on the same data (`--reuse`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = ROOT / "var" / "bench" / "followup.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--per-ticket", type=int, default=300)
    parser.add_argument("--max-runs", type=int, default=0, help="0: until nothing is due")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    args = parser.parse_args()
    DB = args.db.resolve()
    print(f"uptime load average: {os.getloadavg()}")
    os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")
    if not args.reuse:
        DB.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(DB) + suffix).unlink(missing_ok=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from loopdesk.followup import services
    from loopdesk.followup.models import SlaWatch
    from loopdesk.tickets.models import Ticket

    now = timezone.now()
    if not args.reuse:
        from loopdesk.conftest import build_world
        from loopdesk.tickets import services as ticket_services

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        started = time.perf_counter()
        with transaction.atomic():
            world = build_world()
        template = ticket_services.do_create_ticket(
            acting_user=world.user("agent"), now=now - dt.timedelta(hours=50), dispatch=True,
            dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
        assert template.overtime_at <= now and not template.is_overtime
        columns = [f.column for f in Ticket._meta.concrete_fields if f.column not in ("id", "number")]
        modulo = max(1, round(1 / args.due_share))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO tickets_ticket (id, number, {', '.join(columns)}) "
                f"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < %s) "
                f"SELECT %s + x, 'BENCH-' || x, {', '.join(columns)} FROM n, tickets_ticket t WHERE t.id = %s",
                [args.tickets - 1, template.pk, template.pk])
            event_columns = ["seq", "kind", "from_status", "to_status", "note", "visibility", "data", "created_at",
                             "actor_id", "actor_unit_id", "from_unit_id", "to_unit_id", "to_user_id"]
            cursor.execute(
                f"INSERT INTO tickets_ticketevent (ticket_id, {', '.join(event_columns)}) "
                f"SELECT t.id, {', '.join('e.' + c for c in event_columns)} "
                f"FROM tickets_ticket t, tickets_ticketevent e "
                f"WHERE t.id > %s AND (t.id - %s) %% %s = 0 AND e.ticket_id = %s",
                [template.pk, template.pk, modulo, template.pk])
            cursor.execute("DELETE FROM followup_slawatch")
            far = now + dt.timedelta(days=30)
            cursor.execute(
                "INSERT INTO followup_slawatch (ticket_id, kind, fire_at, due_at) "
                "SELECT id, CASE WHEN (id - %s) %% %s = 0 THEN 'overtime' ELSE 'warn' END, "
                "CASE WHEN (id - %s) %% %s = 0 THEN overtime_at ELSE %s END, due_at FROM tickets_ticket "
                "WHERE is_open AND id > %s",
                [template.pk, modulo, template.pk, modulo, far, template.pk])
        print(f"built {args.tickets:,} open tickets in {time.perf_counter() - started:.0f} s")
    open_count = Ticket.objects.filter(is_open=True).count()
    watches = SlaWatch.objects.count()
    due = SlaWatch.objects.filter(fire_at__lte=now).count()
    print(f"open tickets: {open_count:,}; SLA watches: {watches:,}; due now: {due:,}")
    if args.build_only:
        return

    def timed(fn, runs: int = 20) -> float:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    baseline = timed(lambda: Ticket.objects.filter(is_open=True).count(), runs=5)
    find = timed(lambda: list(SlaWatch.objects.filter(fire_at__lte=now).order_by("fire_at", "id")[:501]))
    print(f"baseline, one pass over the open tickets: {baseline * 1000:.1f} ms")
    print(f"finding the due work (sweep query):       {find * 1000:.2f} ms  (ratio {find / baseline:.4f})")

    if args.per_ticket and hasattr(services, "_mark_one_by_one"):
        watches = list(SlaWatch.objects.filter(fire_at__lte=now).exclude(kind="warn")
                       .order_by("fire_at", "id")[: args.per_ticket])
        t0 = time.perf_counter()
        marked, _escalated = services._mark_one_by_one(watches, now)
        per_ticket = marked / (time.perf_counter() - t0)
        print(f"baseline, per-ticket path (one locked service call per crossing): {marked} crossings, "
              f"{per_ticket:,.1f} crossings/s")
        due -= marked
    else:
        per_ticket = 0.0

    runs = []
    processed = 0
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        report = services.sweep_sla(now=now)
        runs.append(time.perf_counter() - t0)
        processed += report.marked + report.warned
        if not report.remaining or (args.max_runs and len(runs) >= args.max_runs):
            break
    total = time.perf_counter() - started
    print(f"sweep runs (batch {services.SWEEP_BATCH}): {len(runs)}; first run {runs[0]:.2f} s; "
          f"median {statistics.median(runs):.2f} s; max {max(runs):.2f} s")
    rate = processed / total
    print(f"processed {processed:,} due watches in {total:.1f} s = {rate:,.1f} items/s "
          f"(of {due:,} due); left due: {SlaWatch.objects.filter(fire_at__lte=now).count()}")
    if per_ticket:
        print(f"batched / per-ticket path: {rate / per_ticket:.1f}x")
    print(f"uptime load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()

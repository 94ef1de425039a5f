"""SLA sweep with many open tickets of which 1 % are due (run by hand; not a test).

    python bench/followup_sla_sweep.py [--tickets 1000000] [--due-share 0.01] [--reuse]

Builds var/bench/followup.sqlite3: migrate, reference data, `generate()` with every ticket left open, then one
SLA watch per open ticket (what the ticket-event listener keeps), of which `--due-share` are due now (kind
"overtime": the expensive path, through `do_mark_sla_crossings`); `--reuse` keeps a database built before.

Measures, in the same run:
- baseline: what a naive sweep must do at least, one pass over the open tickets (`COUNT(*) WHERE is_open`);
- finding the due work: the sweep's query (`fire_at <= now`, first 501 rows), p50 of 20 runs;
- one sweep run with the default batch (500), and draining every due watch run after run (items/s).
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
DB = ROOT / "var" / "bench" / "followup.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")
    if not args.reuse:
        DB.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(DB) + suffix).unlink(missing_ok=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)
        subprocess.run([sys.executable, "manage.py", "seed_reference"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from loopdesk.followup import services
    from loopdesk.followup.models import SlaWatch
    from loopdesk.tickets.generator import Options, generate
    from loopdesk.tickets.models import Ticket

    now = timezone.now()
    if not args.reuse:
        started = time.perf_counter()
        result = generate(Options(tickets=args.tickets, open_share=1.0, end=now))
        print(f"generated {result.tickets:,} tickets in {time.perf_counter() - started:.0f} s")
        modulo = max(1, round(1 / args.due_share))
        far = (now + dt.timedelta(days=30)).isoformat(sep=" ")
        past = (now - dt.timedelta(minutes=1)).isoformat(sep=" ")
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM followup_slawatch")
            cursor.execute(
                "INSERT INTO followup_slawatch (ticket_id, kind, fire_at, due_at) "
                "SELECT id, CASE WHEN id %% %s = 0 THEN 'overtime' ELSE 'warn' END, "
                "CASE WHEN id %% %s = 0 THEN %s ELSE %s END, due_at FROM tickets_ticket WHERE is_open",
                [modulo, modulo, past, far])
    open_count = Ticket.objects.filter(is_open=True).count()
    watches = SlaWatch.objects.count()
    due = SlaWatch.objects.filter(fire_at__lte=now).count()
    print(f"open tickets: {open_count:,}; SLA watches: {watches:,}; due now: {due:,}")

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

    runs = []
    processed = 0
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        report = services.sweep_sla(now=now)
        runs.append(time.perf_counter() - t0)
        processed += report.marked + report.warned
        if not report.remaining:
            break
    total = time.perf_counter() - started
    print(f"sweep runs (batch {services.SWEEP_BATCH}): {len(runs)}; first run {runs[0]:.2f} s; "
          f"median {statistics.median(runs):.2f} s; max {max(runs):.2f} s")
    print(f"drained {due:,} due watches in {total:.1f} s = {due / total:,.0f} items/s "
          f"({processed:,} processed); left due: {SlaWatch.objects.filter(fire_at__lte=now).count()}")


if __name__ == "__main__":
    main()

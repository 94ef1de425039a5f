"""Benchmarks of the data generator and of the two queue queries (run by hand; not tests).

    python bench/run.py generate --tickets 1000000 --db sqlite      # fresh $BENCH_SQLITE_PATH or var/bench/…
    python bench/run.py generate --tickets 1000000 --db postgres    # fresh database on $BENCH_PG_URL
    python bench/run.py queries --db sqlite|postgres [--runs 200]   # on the database `generate` left

`generate` runs, each in its own process on a freshly migrated database with the reference data seeded:
  1. baseline: the same number of ticket / event / unit-access / repeat-link / survey rows, copied from templates
     made by the generator (same widths, same ids scheme), written by the same COPY / executemany path and index
     handling: the cost of the database alone;
  2. generator: `loopdesk.tickets.generator.generate()` end to end (staff, customers, tickets, surveys).
It prints tickets/s for both, the ratio, and the peak RSS of each process (ru_maxrss; the generator's child
process that builds the rows reports its own).
`queries` measures p50/p95 of "my unit's open tickets by due time, first page" and "due within 30 minutes",
with a primary-key lookup as the baseline, and shows the plans (EXPLAIN) with the partial indexes they use.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:54330/loopdesk_bench")
SQLITE_PATH = Path(os.environ.get("BENCH_SQLITE_PATH", ROOT / "var" / "bench" / "bench.sqlite3"))


def database_url(db: str) -> str:
    return PG_URL if db == "postgres" else f"sqlite:///{SQLITE_PATH}"


def setup_django(db: str) -> None:
    os.environ["DATABASE_URL"] = database_url(db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")
    import django

    django.setup()


def fresh_database(db: str) -> None:
    """Drop and recreate the benchmark database, migrate it and seed the reference data."""
    if db == "postgres":
        import psycopg

        base, _, name = PG_URL.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    else:
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "DATABASE_URL": database_url(db)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "seed_reference"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- child processes --------------------------------------------------------------------------------


def child_generator(args: argparse.Namespace) -> dict[str, object]:
    setup_django(args.db)
    from loopdesk.tickets.generator import Options, generate

    started = time.perf_counter()
    result = generate(
        Options(
            tickets=args.tickets,
            seed=args.seed,
            months=args.months,
            open_share=args.open_share,
            batch_size=args.batch_size,
        )
    )
    seconds = time.perf_counter() - started
    return {
        "tickets": result.tickets,
        "events": result.events,
        "customers": result.customers,
        "seconds": seconds,
        "index_seconds": result.index_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "child_peak_rss_mb": result.child_peak_rss_mb,
        "surveys": result.surveys,
        "statuses": {str(k): v for k, v in result.statuses.items()},
    }


def child_baseline(args: argparse.Namespace) -> dict[str, object]:
    """Rows of the same shape, written the same way, without generating them: the database's own cost."""
    setup_django(args.db)
    from django.db import transaction

    from loopdesk.tickets.generator import Generator, Options, Reference, ensure_staff

    template_size = args.batch_size
    gen = Generator(Options(tickets=template_size, seed=args.seed, customers=max(1000, args.tickets // 3)))
    gen.ref = Reference.load()
    with transaction.atomic():
        ensure_staff(gen.ref, args.seed)
    gen._prepare(gen.ref)
    customers_started = time.perf_counter()
    gen._write_customers()
    customers_seconds = time.perf_counter() - customers_started
    t_rows: list[list[str]] = []
    e_rows: list[list[str]] = []
    a_rows: list[list[str]] = []
    first_ticket, first_event, first_access = gen.ticket_id, gen.event_id, gen.access_id
    gen._allocate_repeat_state()  # what `_batches` does in the generator's child
    for created, day in gen._creation_times(template_size):
        gen._ticket(created, day, t_rows, e_rows, a_rows)
    l_rows, s_rows = gen.links, gen.survey_rows  # repeat links and surveys, written in the same batches too
    writer = gen.w
    keys = ("ticket", "event", "access", "survey")
    recreate = writer.drop_secondary_indexes(keys) if args.tickets >= 50_000 else []  # as the generator does
    writer.bulk_mode(True)
    done = events = surveys = 0
    started = time.perf_counter()
    round_no = 0
    while done < args.tickets:
        shift_t = round_no * template_size
        shift_e = round_no * len(e_rows)
        shift_a = round_no * len(a_rows)
        n = min(template_size, args.tickets - done)
        tickets = []
        for row in t_rows[:n]:
            new = row.copy()
            new[0] = str(int(row[0]) + shift_t)
            new[1] = f"{row[1]}-{round_no}"
            tickets.append(new)
        limit = first_ticket + n
        batch_events = []
        for row in e_rows:
            if int(row[1]) >= limit:
                break
            new = row.copy()
            new[0] = str(int(row[0]) + shift_e)
            new[1] = str(int(row[1]) + shift_t)
            batch_events.append(new)
        batch_access = []
        for row in a_rows:
            if int(row[1]) >= limit:
                break
            new = row.copy()
            new[0] = str(int(row[0]) + shift_a)
            new[1] = str(int(row[1]) + shift_t)
            batch_access.append(new)
        batch_links = []
        for row in l_rows:
            if int(row[1]) >= limit:
                break
            new = row.copy()
            new[0] = str(int(row[0]) + round_no * len(l_rows))
            new[1], new[2] = str(int(row[1]) + shift_t), str(int(row[2]) + shift_t)
            batch_links.append(new)
        batch_surveys = []
        for row in s_rows:
            ticket = int(row[3]) if row[3] != gen.N else int(row[7].rsplit("-", 1)[1])
            if ticket >= limit:
                break
            new = row.copy()
            new[0] = str(int(row[0]) + round_no * len(s_rows))
            if row[3] != gen.N:
                new[3] = str(ticket + shift_t)
            new[7] = f"{row[7]}-{round_no}"  # occasion and token are unique
            new[8] = f"{round_no:04d}{row[8][4:]}"
            batch_surveys.append(new)
        gen._flush(tickets, batch_events, batch_access, batch_links, batch_surveys)
        done += n
        events += len(batch_events)
        surveys += len(batch_surveys)
        round_no += 1
    writer.bulk_mode(False)
    index_started = time.perf_counter()
    writer.rebuild(recreate)  # as the generator does
    index_seconds = time.perf_counter() - index_started
    seconds = time.perf_counter() - started
    writer.reset_sequences()
    del first_event, first_access
    return {
        "tickets": done,
        "events": events,
        "surveys": surveys,
        "seconds": seconds,
        "customers_seconds": customers_seconds,
        "index_seconds": index_seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_child(kind: str, args: argparse.Namespace) -> dict[str, object]:
    cmd = [
        sys.executable,
        __file__,
        f"_{kind}",
        "--db",
        args.db,
        "--tickets",
        str(args.tickets),
        "--seed",
        str(args.seed),
        "--batch-size",
        str(args.batch_size),
        "--open-share",
        str(args.open_share),
    ]
    if args.months:
        cmd += ["--months", str(args.months)]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- commands ---------------------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM"


def cmd_generate(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}; database: {args.db}; tickets: {args.tickets:,}")
    results = {}
    kinds = ["baseline", "generator"] if not args.skip_baseline else ["generator"]
    for kind in kinds:
        fresh_database(args.db)
        results[kind] = r = run_child(kind, args)
        rate = r["tickets"] / r["seconds"]
        child = r.get("child_peak_rss_mb") or 0
        rss = f"peak RSS {r['peak_rss_mb']:.0f} MB"
        if child:
            rss += f" + child {child:.0f} MB = {r['peak_rss_mb'] + child:.0f} MB (shared pages counted twice)"
        print(
            f"{kind:>9}: {r['tickets']:,} tickets, {r['events']:,} events, {r['surveys']:,} surveys in "
            f"{r['seconds']:.1f} s = {rate:,.0f} tickets/s (of which index rebuild {r['index_seconds']:.1f} s); {rss}"
        )
    g = results["generator"]
    if "baseline" in results:
        b = results["baseline"]
        ratio = (g["tickets"] / g["seconds"]) / (b["tickets"] / b["seconds"])
        print(f"generator / baseline throughput: {ratio:.2f}")
    print("statuses:", json.dumps(g["statuses"], ensure_ascii=False))


def _percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
    return f"p50 {statistics.median(samples):.2f} ms, p95 {p95:.2f} ms, max {samples[-1]:.2f} ms"


def cmd_queries(args: argparse.Namespace) -> None:
    setup_django(args.db)
    import datetime as dt
    import random

    from django.db import connection
    from django.db.models import Max

    from loopdesk.tickets.models import Ticket

    print(f"machine: {machine()}; database: {args.db}")
    total = Ticket.objects.count()
    open_count = Ticket.objects.filter(is_open=True).count()
    print(f"tickets: {total:,}; open: {open_count:,}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    now = Ticket.objects.aggregate(m=Max("updated_at"))["m"]
    units = list(Ticket.objects.filter(is_open=True).values_list("handler_unit_id", flat=True).distinct())
    from loopdesk.org.models import OrgUnit

    units += list(OrgUnit.objects.exclude(pk__in=units).values_list("pk", flat=True))
    rnd = random.Random(1)
    max_id = Ticket.objects.aggregate(m=Max("id"))["m"]

    def queue(unit: int) -> list[Ticket]:
        return list(Ticket.objects.filter(handler_unit_id=unit, is_open=True).order_by("due_at", "id")[:50])

    def due(at: dt.datetime) -> list[Ticket]:
        return list(
            Ticket.objects.filter(
                is_open=True, sla_paused=False, due_at__gte=at, due_at__lt=at + dt.timedelta(minutes=30)
            ).order_by("due_at")
        )

    def by_pk(pk: int) -> list[Ticket]:
        return list(Ticket.objects.filter(pk=pk))

    def measure(fn, values) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
        for v in values[:5]:
            fn(v)
        samples, rows = [], 0
        for v in values:
            t0 = time.perf_counter()
            rows += len(fn(v))
            samples.append((time.perf_counter() - t0) * 1000)
        return samples, rows

    if args.all_open:
        # Worst case for the due-time index: every ticket open and running (their due times stay as generated).
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tickets_ticket SET is_open = TRUE, sla_paused = FALSE")
            cursor.execute("ANALYZE")
        open_count = Ticket.objects.filter(is_open=True).count()
        print(f"--all-open: every ticket marked open and running: {open_count:,} open")
    runs = args.runs
    unit_values = [units[i % len(units)] for i in range(runs)]
    rnd.shuffle(unit_values)
    due_values = [now + dt.timedelta(hours=rnd.uniform(-24, 48)) for _ in range(runs)]
    pk_values = [rnd.randint(1, max_id) for _ in range(runs)]
    base, _ = measure(by_pk, pk_values)
    q, q_rows = measure(queue, unit_values)
    d, d_rows = measure(due, due_values)
    print(f"baseline (ticket by primary key, {runs} runs): {_percentiles(base)}")
    print(f"queue first page ({runs} runs over {len(units)} units, {q_rows / runs:.1f} rows avg): {_percentiles(q)}")
    window = "windows from -24 h to +48 h of the data end"
    print(f"due within 30 min ({runs} runs, {window}, {d_rows / runs:.1f} rows avg): {_percentiles(d)}")
    busiest = units[0]
    print("\nEXPLAIN queue:")
    print(Ticket.objects.filter(handler_unit_id=busiest, is_open=True).order_by("due_at", "id")[:50].explain())
    print("\nEXPLAIN due within 30 min:")
    print(
        Ticket.objects.filter(
            is_open=True, sla_paused=False, due_at__gte=now, due_at__lt=now + dt.timedelta(minutes=30)
        )
        .order_by("due_at")
        .explain()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["generate", "queries", "_generator", "_baseline"])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--open-share", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--all-open", action="store_true", help="queries: first mark every ticket open (worst case)")
    args = parser.parse_args()
    if args.command == "generate":
        cmd_generate(args)
    elif args.command == "queries":
        cmd_queries(args)
    elif args.command == "_generator":
        print(json.dumps(child_generator(args)))
    else:
        print(json.dumps(child_baseline(args)))


if __name__ == "__main__":
    main()

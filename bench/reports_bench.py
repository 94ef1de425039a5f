"""Benchmarks of the reports (issue 6): rollup rebuild and upkeep, dashboard, scorecard, CSV export, import.

Run by hand, not a test. Each figure comes with a baseline measured in the same run on the same data:

    export DATABASE_URL=postgres://loopdesk@127.0.0.1:54341/loopdesk      # a private PostgreSQL (scripts/pg.sh)
    python bench/reports_bench.py setup --tickets 2000000                  # migrate, generate, rebuild_rollups
    python bench/reports_bench.py measure [--runs 20] [--export-rows 1000000] [--import-rows 5000]

`setup`    generates the tickets with `loopdesk.tickets.generator` (bulk, bypassing the services) and times
           `rebuild_rollups` (facts + rollups recomputed from tickets and timelines).
`measure`  prints one JSON line per figure:
  dashboard  server time of the dashboard view (a month, a region's supervisor) — baseline: one direct
             aggregate over the ticket table for the same month (what the rollups avoid);
  scorecard  every branch and every department scored for a month — baseline: the same direct aggregate;
             `scorecard [--against DIR]` times it alone, and with DIR (another commit's tree:
             `git archive <rev> | tar -x -C DIR`) that code too, in child processes taking turns, and
             checks that both give the same scores;
  upkeep     time inside the rollup listener per ticket event (in the request: one INSERT of a note), and
             the fold's time per event (the worker: `rollups.fold_pending`, timed once per 10 loops and
             once for everything at the end), over full loops run through the services —
             baseline: the services' own time per event (listener excluded);
  export     CSV of N tickets (streamed, formatted, BOM) in a child process, rows/s and peak RSS, with the
             Python formatter and with PostgreSQL's COPY — baseline: reading the same rows and columns into
             Python without formatting;
  import     legacy GBK CSV of N rows through `import_tickets`, bulk path (validation pass, then batched
             COPY / executemany writes and the rollup fold) — baseline: the same import as a dry run
             (reading, decoding and validating every row; no writes). `import --import-rows N` runs it alone.
             `import_bulk_cost` adds the CPU seconds of the writer, its validating child and the PostgreSQL
             backend, and the write-ahead-log records and bytes per row (machine-independent).
`customer-base` the customer base behind complaints per 10,000 customers (`reports.customerbase`), for an HQ
           user: the dashboard of the latest full month and the KPI table by day over the last 365 days (views,
           server time), first with no base kept (every period divides by today's customers, the fallback), then
           with a daily base back-filled for every day of that year, then without again (`--keep` leaves the daily
           bases; else the bases kept before are put back, recounted); `cold` clears the cache before each run
           (the first request of a process in an hour), `warm` does not. Ratios: with / without, same run.
           `--extra-groups N` adds N count rows (of no customer: one each, home branch ids below 0) to every daily
           base, sized like an operator's (regions × branches × brands × tiers) when the generator's are few.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")


def _django() -> None:
    import django

    django.setup()


def _emit(name: str, **values: object) -> None:
    print(json.dumps({"figure": name, **values}, ensure_ascii=False, default=str), flush=True)


def _timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1), "runs": len(ordered)}


def setup(args: argparse.Namespace) -> None:
    _django()
    from django.core.management import call_command

    from loopdesk.tickets.models import Ticket

    call_command("migrate", verbosity=0)
    existing = Ticket.objects.count()
    if existing < args.tickets:
        start = time.perf_counter()
        call_command("generate_data", tickets=args.tickets - existing, seed=args.seed, months=args.months,
                     batch_size=5000)
        _emit("generate", tickets=args.tickets - existing, seconds=round(time.perf_counter() - start, 1))
    start = time.perf_counter()
    call_command("rebuild_rollups")
    seconds = time.perf_counter() - start
    total = Ticket.objects.count()
    _emit("rebuild_rollups", tickets=total, seconds=round(seconds, 1), tickets_per_s=round(total / seconds))


def _supervisor():  # type: ignore[no-untyped-def]
    from loopdesk.org.models import User

    return User.objects.select_related("unit").filter(groups__name="supervisor").order_by("pk").first()


def _latest_full_month():  # type: ignore[no-untyped-def]
    from loopdesk.reports import measures as m
    from loopdesk.reports.models import DailyRollup

    last = DailyRollup.objects.order_by("-day").values_list("day", flat=True).first()
    first_of = last.replace(day=1)
    previous = first_of - __import__("datetime").timedelta(days=1)
    return m.Period.month(previous.year, previous.month)


def _direct_month_aggregate(period, region: str) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from django.db.models import Count, Q

    from loopdesk.sla.calendars import SHANGHAI
    from loopdesk.tickets.models import Ticket

    start = dt.datetime.combine(period.start, dt.time(), tzinfo=SHANGHAI)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    Ticket.objects.filter(region=region, created_at__gte=start, created_at__lt=end).aggregate(
        n=Count("pk"), dispatched=Count("pk", filter=Q(cycle_started_at__isnull=False)),
        overtime=Count("pk", filter=Q(is_overtime=True)), problem=Count("pk", filter=Q(is_problem=True)),
    )


def measure(args: argparse.Namespace) -> None:
    _django()
    from django.db import connection
    from django.test import RequestFactory

    from loopdesk.reports import scorecards, views
    from loopdesk.reports.models import DailyRollup, ReportFact
    from loopdesk.tickets.models import Ticket

    _emit("machine", cpu=os.cpu_count(), python=platform.python_version(), db=connection.vendor,
          server=connection.cursor().connection.info.server_version if connection.vendor == "postgresql" else "",
          tickets=Ticket.objects.count(), facts=ReportFact.objects.count(), rollup_rows=DailyRollup.objects.count(),
          load_average=os.getloadavg())
    user = _supervisor()
    period = _latest_full_month()
    factory = RequestFactory()

    def dashboard() -> None:
        request = factory.get("/reports/", {"month": period.start.strftime("%Y-%m")})
        request.user = user
        response = views.dashboard(request)
        assert response.status_code == 200

    dashboard()  # warm: the customer count is cached for an hour, reference tables loaded
    times = _timed(dashboard, args.runs)
    base = _timed(lambda: _direct_month_aggregate(period, user.unit.region), max(3, args.runs // 4))
    _emit("dashboard", month=period.start, region=user.unit.region, **_stats(times),
          baseline_direct_scan=_stats(base), ratio=round(statistics.median(times) / statistics.median(base), 3))

    scheme = scorecards.active_scheme()

    def scorecard() -> None:
        for kind in ("branch", "department"):
            card = scorecards.score(user, scheme, period, kind)
            assert card.units

    times = _timed(scorecard, args.runs)
    _emit("scorecard_all_units", month=period.start, **_stats(times),
          ratio=round(statistics.median(times) / statistics.median(base), 3))

    upkeep(args)
    export(args)
    import_figure(args)


def upkeep(args: argparse.Namespace) -> None:
    import datetime as dt

    from django.utils import timezone

    from loopdesk.customers.models import Customer
    from loopdesk.org.models import User
    from loopdesk.reports import rollups
    from loopdesk.tickets import events as ticket_events
    from loopdesk.tickets import services as s
    from loopdesk.tickets.models import Category

    spent = [0.0, 0]

    def timed_listener(ticket, event):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        rollups.on_ticket_event(ticket, event)
        spent[0] += time.perf_counter() - start
        spent[1] += 1

    ticket_events.register_listener("reports.rollups", timed_listener)
    agent = User.objects.select_related("unit").filter(groups__name="hotline_agent").order_by("pk").first()
    category = Category.objects.filter(code__isnull=False, parent__isnull=False, children__isnull=True).first()
    customers = list(Customer.objects.order_by("pk")[: args.loops])
    now = timezone.now() - dt.timedelta(days=3)
    rollups.fold_pending()
    fold_small = [0.0, 0]  # folds every 10 loops (≈ 60 notes): what a worker kicked after commits sees
    start = time.perf_counter()
    for i, customer in enumerate(customers):
        if i % 10 == 9:
            notes = rollups.pending_count()
            t0 = time.perf_counter()
            rollups.fold_pending()
            fold_small[0] += time.perf_counter() - t0
            fold_small[1] += notes
        at = now + dt.timedelta(seconds=i)
        t = s.do_create_ticket(acting_user=agent, customer=customer, contact_type="complaint", category=category,
                               channel="hotline", description="基准测试", now=at, dispatch=True)
        unit_user = User.objects.select_related("unit").filter(unit=t.handler_unit).first() or agent
        try:
            t = s.do_accept_ticket(acting_user=unit_user, ticket=t, now=at)
            t = s.do_reply_ticket(acting_user=unit_user, ticket=t, resolution="已处理", now=at)
            t = s.do_answer_customer(acting_user=agent, ticket=t, answer="答复", now=at)
            t = s.do_callback(acting_user=agent, ticket=t, verdict="satisfied", now=at)
            s.do_close_ticket(acting_user=agent, ticket=t, now=at)
        except Exception as exc:  # a unit without handlers: the loop stops there
            print("loop stopped:", type(exc).__name__, exc, file=sys.stderr)
    total = time.perf_counter() - start - fold_small[0]
    ticket_events.register_listener("reports.rollups", rollups.on_ticket_event)
    notes = rollups.pending_count()
    t0 = time.perf_counter()
    rollups.fold_pending()
    fold_rest = time.perf_counter() - t0
    per_event = spent[0] / spent[1] * 1000
    services = (total - spent[0]) / spent[1] * 1000
    _emit("rollup_upkeep_listener", events=spent[1], listener_ms_per_event=round(per_event, 3),
          baseline_service_ms_per_event=round(services, 3), ratio=round(per_event / services, 3), load=_load())
    if fold_small[1]:
        small = fold_small[0] / fold_small[1] * 1000
        _emit("rollup_upkeep_fold_every_10_loops", notes=fold_small[1], fold_ms_per_event=round(small, 3),
              ratio_to_service=round(small / services, 3))
    if notes:
        rest = fold_rest / notes * 1000
        _emit("rollup_upkeep_fold_rest", notes=notes, fold_ms_per_event=round(rest, 3),
              ratio_to_service=round(rest / services, 3))
    assert rollups.pending_count() == 0


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def export(args: argparse.Namespace) -> None:
    for mode in ("baseline", "csv", "csv_copy"):
        out = subprocess.run([sys.executable, __file__, "export-child", mode, str(args.export_rows)],
                             capture_output=True, text=True, check=True, env=os.environ)
        print(out.stdout.strip(), flush=True)


def export_child(mode: str, rows: int) -> None:
    _django()
    from loopdesk.reports import exports
    from loopdesk.tickets.models import Ticket

    last = Ticket.objects.order_by("pk").values_list("pk", flat=True)[rows - 1: rows].first()
    qs = Ticket.objects.filter(pk__lte=last) if last else Ticket.objects.all()
    start = time.perf_counter()
    count = size = 0
    if mode == "baseline":
        columns = ["pk", *(c for _l, c in exports.TICKET_COLUMNS)]
        cursor = 0
        while True:
            batch = list(qs.filter(pk__gt=cursor).order_by("pk").values_list(*columns)[: exports.PAGE])
            if not batch:
                break
            cursor = batch[-1][0]
            count += len(batch)
    elif mode == "csv_copy":  # what the export view streams on PostgreSQL
        for chunk in exports.ticket_csv(qs):
            size += len(chunk)
        count = rows if last else qs.count()
    else:  # the Python formatter (SQLite, and the reference the PostgreSQL path is tested against)
        for chunk in exports.csv_stream(exports.ticket_header(), exports.ticket_rows(qs)):
            size += len(chunk)
        count = rows if last else qs.count()
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    _emit(f"export_{mode}", rows=count, seconds=round(seconds, 2), rows_per_s=round(count / seconds),
          bytes=size, peak_rss_mb=rss)


def _costs() -> dict[str, float]:
    """CPU seconds so far of this process, of its waited-for children, and (PostgreSQL on this machine) of this
    connection's server process; and the cluster's write-ahead-log counters (`pg_stat_wal`: the whole cluster, so
    autovacuum or another database's work in between counts too)."""
    from django.db import connection

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {"writer": own.ru_utime + own.ru_stime, "child": children.ru_utime + children.ru_stime}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT wal_records, wal_fpi, wal_bytes, pg_backend_pid() FROM pg_stat_wal")
            records, fpi, wal_bytes, pid = cursor.fetchone()
        out.update(wal_records=float(records), wal_fpi=float(fpi), wal_bytes=float(wal_bytes))
        try:  # fields 14 and 15 of /proc/<pid>/stat: user and system clock ticks
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            out["server"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass  # the server runs on another machine
    return out


def import_figure(args: argparse.Namespace) -> None:
    """A legacy GBK CSV of N rows (a fifth closed, complaints, every row a customer not in the database: runs of
    up to 100,003 rows started a second or more apart use disjoint numbers) through `import_tickets`
    (bulk path: validation pass + batched writes + rollup fold) — baseline: the same call as a dry run (reading,
    decoding and validating the file, no writes), in the same process on the same file."""
    import datetime as dt

    from django.utils import timezone

    from loopdesk.org.models import User
    from loopdesk.reports.imports import import_tickets
    from loopdesk.tickets.models import Category

    agent = User.objects.select_related("unit").filter(groups__name="hotline_agent").order_by("pk").first()
    leaves = list(Category.objects.filter(children__isnull=True, is_active=True)[:20])
    paths = [">".join(c.name for c in leaf.ancestors()).replace(" ", "") for leaf in leaves]
    n = args.import_rows
    stamp = int(time.time())
    start_at = timezone.localtime() - dt.timedelta(days=60)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="gbk", delete=False) as handle:
        handle.write("工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容,工单状态,结案时间,处理结果\n")
        for i in range(n):
            at = start_at + dt.timedelta(seconds=i * 50 * 86400 // max(n, 1))
            msisdn = f"1{3 + i % 7}{(stamp * 100_003 + i) % 1000000000:09d}"  # new customers, whatever ran before
            closed = i % 5 == 0
            end = (at + dt.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M") if closed else ""
            handle.write(f"B{stamp}-{i},{at:%Y-%m-%d %H:%M},{msisdn},投诉,{paths[i % len(paths)]},10086热线,"
                         f"基准导入第{i}行,{'已结案' if closed else '处理中'},{end},{'已处理' if closed else ''}\n")
    size_mb = os.path.getsize(handle.name) / 1e6
    start = time.perf_counter()
    dry = import_tickets(acting_user=agent, source=handle.name, system=f"bench{stamp}", dry_run=True)
    base = time.perf_counter() - start
    assert dry.valid == n, (dry.valid, dry.error_count, dry.errors[:3])
    before = _costs()
    start = time.perf_counter()
    batch = getattr(args, "batch_size", None)
    result = import_tickets(acting_user=agent, source=handle.name, system=f"bench{stamp}",
                            **({"batch_size": batch} if batch else {}))
    seconds = time.perf_counter() - start
    after = _costs()
    os.unlink(handle.name)
    assert result.created == n, (result.created, result.error_count, result.errors[:3])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    _emit("import_bulk", rows=n, file_mb=round(size_mb, 1), seconds=round(seconds, 2), rows_per_s=round(n / seconds),
          baseline_dry_run_rows_per_s=round(n / base), ratio_time=round(seconds / base, 2), peak_rss_mb=rss,
          load=_load())
    # Where the time went (wall seconds per step of the bulk write, summed over the batches, plus the validation
    # pass and the commit; `other`: the rest). A file of 4 MB or more is validated by a forked process while
    # this one writes: "validation (in parallel)" is that process's time, which overlaps the rest and is not
    # in the sum, and "waiting for validated rows" how long the writer waited for it.
    steps = {name: round(value, 2) for name, value in sorted(result.seconds.items(), key=lambda kv: -kv[1])}
    own = sum(value for name, value in result.seconds.items() if not name.endswith("(in parallel)"))
    _emit("import_bulk_steps", rows=n, steps=steps, other=round(seconds - own, 2))
    # What the import cost, beside its wall time (which on a shared VM varies by a fifth from run to run for the
    # same work): CPU seconds of the writer, of the validating child and of the PostgreSQL backend, and the
    # write-ahead log it made (records are one per row and index entry written: they do not depend on the machine).
    delta = {key: after[key] - before[key] for key in after if key in before}
    cost: dict[str, object] = {"cpu_s": {key: round(delta[key], 1) for key in ("writer", "child", "server")
                                         if key in delta}}
    if "wal_records" in delta:
        cost.update(wal_records_per_row=round(delta["wal_records"] / n, 2),
                    wal_bytes_per_row=round(delta["wal_bytes"] / n), wal_full_page_images=int(delta["wal_fpi"]))
    _emit("import_bulk_cost", rows=n, **cost)


def _card_digest(cards: list) -> str:  # type: ignore[type-arg]
    import hashlib

    rows = [[(u.unit_id, u.label, u.total, u.rank,
              [(i.value, i.previous, i.points, getattr(i.category, "pk", i.category)) for i in u.items])
             for u in card.units] for card in cards]
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()[:16]


def scorecard_child(args: argparse.Namespace) -> None:
    """Time the scorecard with the code of `args.tree` (one JSON line: times in ms and a digest of the scores)."""
    tree = str(Path(args.tree).resolve())
    sys.path.insert(0, tree)
    os.chdir(tree)
    _django()
    import loopdesk
    from loopdesk.reports import scorecards

    assert str(Path(loopdesk.__file__).resolve()).startswith(tree), loopdesk.__file__
    user, period = _supervisor(), _latest_full_month()
    scheme = scorecards.active_scheme()
    assert scheme is not None

    def run() -> list:  # type: ignore[type-arg]
        return [scorecards.score(user, scheme, period, kind) for kind in ("branch", "department")]

    digest = _card_digest(run())  # warm: connection, reference tables
    print(json.dumps({"times": _timed(run, args.runs), "digest": digest, "units": sum(len(c.units) for c in run())}))


def scorecard(args: argparse.Namespace) -> None:
    _django()
    from loopdesk.reports.models import MonthlyRollup

    user, period = _supervisor(), _latest_full_month()
    trees = {"new": ROOT} if not args.against else {"old": Path(args.against), "new": ROOT}
    times: dict[str, list[float]] = {name: [] for name in trees}
    digests: dict[str, set[str]] = {name: set() for name in trees}
    load_before = _load()
    for _round in range(args.rounds):
        for name, tree in trees.items():
            out = subprocess.run([sys.executable, __file__, "scorecard-child", str(tree), "--runs", str(args.runs)],
                                 check=True, capture_output=True, text=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            times[name] += result["times"]
            digests[name].add(result["digest"])
            units = result["units"]
    base = _timed(lambda: _direct_month_aggregate(period, user.unit.region), max(3, args.runs // 4))
    rows = MonthlyRollup.objects.filter(region=user.unit.region, month__in=(period.start, period.previous().start))
    figures = {name: _stats(t) for name, t in times.items()}
    extra: dict[str, object] = {}
    if "old" in times:
        extra = {"new_over_old": round(statistics.median(times["new"]) / statistics.median(times["old"]), 3),
                 "same_scores": digests["old"] == digests["new"] and len(digests["new"]) == 1}
    _emit("scorecard_all_units", month=period.start, region=user.unit.region, units=units,
          monthly_rollup_rows_read=rows.count(), **figures, baseline_direct_scan=_stats(base),
          ratio_new_to_direct_scan=round(statistics.median(times["new"]) / statistics.median(base), 3), **extra,
          load_before=load_before, load_after=_load())


def customer_base(args: argparse.Namespace) -> None:
    _django()
    import datetime as dt

    from django.core.cache import cache
    from django.db import connection
    from django.test import RequestFactory

    from loopdesk.customers.models import Customer
    from loopdesk.org.models import User
    from loopdesk.reports import customerbase, views
    from loopdesk.reports.models import CustomerBase, CustomerBaseCount
    from loopdesk.tickets.models import Ticket

    user = (User.objects.select_related("unit").filter(groups__name="supervisor", unit__level="hq").order_by("pk")
            .first() or User.objects.select_related("unit").filter(is_superuser=True).order_by("pk").first())
    period = _latest_full_month()
    today = customerbase.today()
    year_start, year_end = today - dt.timedelta(days=365), today - dt.timedelta(days=1)
    factory = RequestFactory()

    def dashboard() -> None:
        request = factory.get("/reports/", {"month": period.start.strftime("%Y-%m")})
        request.user = user
        assert views.dashboard(request).status_code == 200

    def table_by_day() -> None:
        request = factory.get("/reports/table/", {"group_by": "day", "start": year_start.isoformat(),
                                                  "end": year_end.isoformat()})
        request.user = user
        assert views.table_view(request).status_code == 200

    def cold(fn):  # type: ignore[no-untyped-def]
        def run() -> None:
            cache.clear()
            fn()
        return run

    def phase(label: str) -> dict[str, list[float]]:
        out = {}
        for name, fn in (("dashboard", dashboard), ("table_day_year", table_by_day)):
            fn()  # warm: reference tables, the live customer count
            out[f"{name}_warm"] = _timed(fn, args.runs)
            out[f"{name}_cold"] = _timed(cold(fn), args.runs)
        for name, times in out.items():
            _emit("customer_base_" + name, phase=label, **_stats(times))
        return out

    saved = list(CustomerBase.objects.values_list("day", flat=True))
    _emit("machine", cpu=os.cpu_count(), python=platform.python_version(), db=connection.vendor,
          tickets=Ticket.objects.count(), customers=Customer.objects.count(), user=user.username,
          unit_level=user.unit.level if user.unit else "", month=period.start, table=f"{year_start}..{year_end}",
          bases_kept_before=len(saved), load_average=os.getloadavg())
    CustomerBase.objects.all().delete()  # "without": every period divides by today's customers
    again: dict[str, list[float]] = {}
    try:
        without = phase("without")
        start = time.perf_counter()
        counts = customerbase.count_today()
        regions = sorted({(province, region) for province, region, _b, _brand, _t in counts})
        for i in range(args.extra_groups):  # groups of branches that no customer is homed at (one customer each)
            province, region = regions[i // 6 % len(regions)]
            brand, tier = ("gotone", "mzone", "szx")[i % 3], ("regular", "vip")[i // 3 % 2]
            counts[(province, region, -1 - i // 6, brand, tier)] = 1
        day = year_start
        while day <= year_end:
            customerbase.take(day, backfilled=True, counts=counts)
            day += dt.timedelta(days=1)
        _emit("customer_base_backfill", days=(year_end - year_start).days + 1,
              rows=CustomerBaseCount.objects.count(), rows_per_day=len(counts),
              seconds=round(time.perf_counter() - start, 1))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE reports_customerbase")
            cursor.execute("ANALYZE reports_customerbasecount")
        with_base = phase("with")
        if not args.keep:
            CustomerBase.objects.all().delete()
            again = phase("without_again")
    finally:
        if not args.keep:
            CustomerBase.objects.all().delete()
            if saved:
                counts = customerbase.count_today()
                for day in saved:
                    customerbase.take(day, backfilled=True, counts=counts)
    for name in with_base:
        before = statistics.median(without[name] + again.get(name, []))
        _emit("customer_base_ratio", measure=name, without_ms=round(before, 1),
              with_ms=round(statistics.median(with_base[name]), 1),
              ratio=round(statistics.median(with_base[name]) / before, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup")
    p.add_argument("--tickets", type=int, required=True)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("measure")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--loops", type=int, default=200, help="full ticket loops for the upkeep figure")
    p.add_argument("--export-rows", type=int, default=1_000_000)
    p.add_argument("--import-rows", type=int, default=3000)
    p = sub.add_parser("export-child")
    p.add_argument("mode")
    p.add_argument("rows", type=int)
    p = sub.add_parser("upkeep")
    p.add_argument("--loops", type=int, default=200)
    p = sub.add_parser("scorecard")
    p.add_argument("--runs", type=int, default=15, help="timed runs per child process")
    p.add_argument("--rounds", type=int, default=2, help="child processes per tree, taking turns")
    p.add_argument("--against", default="", help="a tree of older code to time in the same run")
    p = sub.add_parser("scorecard-child")
    p.add_argument("tree")
    p.add_argument("--runs", type=int, default=15)
    p = sub.add_parser("customer-base")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--keep", action="store_true", help="keep the daily bases made (else put back as they were)")
    p.add_argument("--extra-groups", type=int, default=0,
                   help="count rows added to each daily base (branches with no customers) to size it like a real one")
    p = sub.add_parser("import")
    p.add_argument("--import-rows", type=int, default=100_000)
    p.add_argument("--batch-size", type=int, default=None, help="rows per batch of the bulk write")
    args = parser.parse_args()
    if args.command == "setup":
        setup(args)
    elif args.command == "upkeep":
        _django()
        upkeep(args)
    elif args.command == "import":
        _django()
        import_figure(args)
    elif args.command == "measure":
        measure(args)
    elif args.command == "scorecard":
        scorecard(args)
    elif args.command == "customer-base":
        customer_base(args)
    elif args.command == "scorecard-child":
        scorecard_child(args)
    else:
        export_child(args.mode, args.rows)


if __name__ == "__main__":
    main()

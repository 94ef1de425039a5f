"""Server time of the follow-up pages and of the top bar's alert count on a big alert/callback table (by hand).

    DATABASE_URL=sqlite:////tmp/fu-bench.sqlite3 python bench/followup_pages.py [--alerts 500000] [--runs 200]
    DATABASE_URL=postgres://loopdesk@127.0.0.1:54329/loopdesk_fubench python bench/followup_pages.py

Builds its own data in the database it is given (migrates it; the test world of loopdesk/conftest.py, then
`--alerts` StaffAlert rows spread over `--users` extra staff, the signed-in agent holding `--mine` of them, and
`--tasks` callback tasks of which the agent owns `--mine`), then requests through Django's test client (whole
middleware stack, session, view, template; no network), as the agent:

- the sign-in page: the baseline (middleware and a template, no query of ours), measured in the same run;
- `/alerts/`, `/callbacks/` and the home page (which shows the top bar with the unread count);
- the unread-count query alone, with the database's query plan, to show it is an index lookup.

It prints p50 / p95 / max in ms, queries per request, and each page's p50 as a ratio to the baseline.

    DATABASE_URL=sqlite:////path/bench1m.sqlite3 python bench/followup_pages.py --escalations-only

times only the supervisors' open-escalation list (count and first page) on an existing big database (e.g. one
made by `generate_data`), against the same list without the visibility filter as the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")
    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/fu-bench.sqlite3")
    import django

    django.setup()


def timed(fn: Any, runs: int) -> dict[str, float]:
    for _ in range(5):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[max(0, int(len(times) * 0.95) - 1)], "max": times[-1]}


def build(args: argparse.Namespace) -> Any:
    import datetime as dt

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from loopdesk.conftest import build_world
    from loopdesk.followup.models import CallbackTask, StaffAlert
    from loopdesk.org.models import User
    from loopdesk.tickets.services import do_create_ticket

    if User.objects.filter(username="agent").exists():
        print("reusing the data already in this database")
        return User.objects.get(username="agent")
    world = build_world()
    agent = world.user("agent")
    group = Group.objects.get(name="hotline_agent")
    others = User.objects.bulk_create([User(username=f"bench{i}", unit=world.units["call"], display_name=f"b{i}")
                                       for i in range(args.users)])
    group.user_set.add(*others)
    now = timezone.now()
    tickets = [do_create_ticket(acting_user=agent, **world.ticket_kwargs()) for _ in range(40)]
    started = time.perf_counter()
    batch: list[StaffAlert] = []
    for i in range(args.alerts):
        mine = i < args.mine
        user = agent if mine else others[i % len(others)]
        batch.append(StaffAlert(user=user, ticket=tickets[i % len(tickets)], kind="due_soon", occasion=f"b:{i}",
                                message=f"{tickets[i % len(tickets)].number} 即将到期",
                                created_at=now - dt.timedelta(minutes=i),
                                read_at=None if mine or i % 3 else now))
        if len(batch) == 10000:
            StaffAlert.objects.bulk_create(batch)
            batch = []
    StaffAlert.objects.bulk_create(batch)
    tasks = [CallbackTask(ticket=tickets[i % len(tickets)], cycle=i // len(tickets) + 1,
                          assignee=agent if i < args.mine else others[i % len(others)],
                          due_at=now + dt.timedelta(minutes=i - args.mine), created_at=now,
                          status="open" if i < args.mine or i % 2 else "done")
             for i in range(args.tasks)]
    CallbackTask.objects.bulk_create(tasks, batch_size=10000)
    print(f"built {args.alerts} alerts and {args.tasks} callback tasks in {time.perf_counter() - started:.1f} s")
    return agent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=500000)
    parser.add_argument("--tasks", type=int, default=100000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--mine", type=int, default=300)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--escalations-only", action="store_true")
    args = parser.parse_args()
    setup()
    if args.escalations_only:
        escalations_only(args.runs)
        return
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from loopdesk.followup.models import StaffAlert
    from loopdesk.followup.selectors import unread_alert_count

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    agent = build(args)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as after a real load
    print(f"database: {connection.vendor}; alerts {StaffAlert.objects.count()}; "
          f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")

    anonymous, client = Client(), Client()
    client.force_login(agent)
    results = {"baseline: sign-in page": (timed(lambda: anonymous.get("/accounts/login/"), args.runs), 0)}
    for url in ("/alerts/", "/callbacks/", "/"):
        assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        queries = len(ctx.captured_queries)  # now: the next request's signal empties the query log
        results[url] = (timed(lambda url=url: client.get(url), args.runs), queries)
    results["unread count query alone"] = (timed(lambda: unread_alert_count(agent), args.runs * 5), 1)
    base = results["baseline: sign-in page"][0]["p50"]
    print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'p50/baseline':>13}")
    for name, (t, queries) in results.items():
        print(f"{name:32} {t['p50']:8.2f} {t['p95']:8.2f} {t['max']:8.2f} {queries:8d} {t['p50'] / base:13.2f}")
    sql, params = StaffAlert.objects.filter(user_id=agent.pk, read_at=None).values("id").query.sql_with_params()
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + f"SELECT COUNT(*) FROM ({sql}) sub", params)
        print("plan of the unread count:", *[" ".join(str(c) for c in row) for row in cursor.fetchall()], sep="\n  ")


def escalations_only(runs: int) -> None:
    from loopdesk.followup.models import Escalation
    from loopdesk.followup.selectors import open_escalations_for
    from loopdesk.org.models import User
    from loopdesk.tickets.policy import visible_tickets

    supervisor = (User.objects.filter(groups__name="supervisor").exclude(unit__level__in=["hq", "province"])
                  .select_related("unit").first())
    assert supervisor is not None, "no regional supervisor in this database"

    def page(qs: Any) -> None:
        qs.count()
        list(qs[:50])

    base = timed(lambda: page(Escalation.objects.filter(resolved_at=None).order_by("created_at", "id")), runs)
    scoped = timed(lambda: page(open_escalations_for(supervisor)), runs)
    # The first version, for the record: `ticket IN (visible tickets)` (SQLite lists the region's tickets first).
    first = timed(lambda: page(Escalation.objects.filter(
        resolved_at=None, ticket__in=visible_tickets(supervisor).values("pk")).order_by("created_at", "id")), 3)
    print(f"open escalations {Escalation.objects.filter(resolved_at=None).count()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"baseline (unscoped) p50 {base['p50']:.2f} ms; open_escalations_for p50 {scoped['p50']:.2f} ms "
          f"p95 {scoped['p95']:.2f} ms; ratio {scoped['p50'] / base['p50']:.2f}")
    print(f"first version (ticket IN visible tickets) p50 {first['p50']:.1f} ms")


if __name__ == "__main__":
    main()

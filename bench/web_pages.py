"""Server time of the workbench pages on a big database (run by hand; not a test).

    python manage.py generate_data --tickets 1000000 --open-share 0.03      # once, into $DATABASE_URL
    DATABASE_URL=sqlite:////path/bench.sqlite3 python bench/web_pages.py [--runs 200]

Each page is requested in-process through Django's test client (the whole middleware stack, session and
user lookup, view, template; no network), as a real demo user of the right role. It prints p50 / p95 / max
in ms and the number of SQL queries per request. The baseline, measured in the same run, is the sign-in
page (middleware + template, no query of our own): the ratios are the figures to compare across machines.

Customer 360: a customer with 200 past work orders is made once (through the services) if none exists.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIG_CUSTOMER = "13999990200"
HISTORY = 200


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")
    import django

    django.setup()


def big_customer(agent: Any) -> Any:
    """A customer with HISTORY work orders (created once, through the services, spread over 2 years)."""
    import datetime as dt

    from django.utils import timezone

    from loopdesk.customers.models import Customer
    from loopdesk.customers.services import get_or_create_customer
    from loopdesk.tickets.choices import Channel, ContactType
    from loopdesk.tickets.models import Category, Ticket
    from loopdesk.tickets.services import do_create_ticket

    customer = Customer.objects.filter(msisdn=BIG_CUSTOMER).first()
    have = Ticket.objects.filter(customer=customer).count() if customer else 0
    if have >= HISTORY:
        return customer
    customer = get_or_create_customer(msisdn=BIG_CUSTOMER, acting_user=agent)
    leaves = list(Category.objects.filter(is_active=True, depth__gte=1).order_by("id")[:40])
    start = timezone.now() - dt.timedelta(days=720)
    for i in range(have, HISTORY):
        do_create_ticket(acting_user=agent, customer=customer, contact_type=ContactType.COMPLAINT,
                         category=leaves[i % len(leaves)], channel=Channel.HOTLINE,
                         description=f"第{i + 1}次来电：信号不好。", now=start + dt.timedelta(days=3.5 * i))
    return customer


def measure(client: Any, url: str, runs: int, headers: dict[str, str] | None = None) -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):  # warm-up: caches, prepared plans, page cache
        response = client.get(url, headers=headers or {})
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, headers=headers or {})
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, headers=headers or {})
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, int(len(times) * 0.95) - 1)],
        "max": times[-1],
        "queries": len(ctx.captured_queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="measure only the pages whose name contains this text "
                        "(e.g. 'queue'; several separated by commas); the baseline is always measured")
    args = parser.parse_args()
    setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("collectstatic", interactive=False, verbosity=0)  # the pages link hashed static files

    from loopdesk.org.models import User
    from loopdesk.tickets.models import Ticket
    from loopdesk.tickets.policy import visible_tickets

    rnd = random.Random(args.seed)
    users = {u.username: u for u in User.objects.filter(
        username__in=["agent1", "dispatcher1", "specialist_net1", "supervisor1"])}
    missing = {"agent1", "dispatcher1", "specialist_net1", "supervisor1"} - set(users)
    if missing:
        sys.exit(f"demo users missing ({', '.join(sorted(missing))}): run manage.py generate_data first")
    customer = big_customer(users["agent1"])
    clients = {}
    for name, user in users.items():
        c = Client()
        c.force_login(user)
        clients[name] = c
    total = Ticket.objects.count()
    open_count = Ticket.objects.filter(is_open=True).count()
    sup = users["supervisor1"]
    sample = list(visible_tickets(sup).filter(is_open=True).values_list("id", flat=True).order_by("id")[:5000])
    picks = [rnd.choice(sample) for _ in range(20)]

    print(f"database: {connection.vendor}, {total:,} work orders ({open_count:,} open); runs per page: {args.runs}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows: list[tuple[str, dict[str, float]]] = []
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]

    def add(name: str, run: Any) -> None:
        if not wanted or name.startswith("baseline") or any(w in name for w in wanted):
            rows.append((name, run()))

    add("baseline: sign-in page (anonymous)", lambda: measure(Client(), "/accounts/login/", args.runs))
    add("home, specialist", lambda: measure(clients["specialist_net1"], "/", args.runs))

    def home_counts() -> dict[str, float]:  # what the page asks for: the counts of its full sections
        page = clients["specialist_net1"].get("/").content.decode()
        found = re.search(r'id="home-counts" hx-get="([^"]+)"', page)
        url = found.group(1) if found else "/?counts="
        return measure(clients["specialist_net1"], url, args.runs, {"HX-Request": "true", "HX-Target": "home-counts"})

    add("home, specialist: full sections' counts after the page", home_counts)
    add("queue: my unit (specialist)", lambda: measure(clients["specialist_net1"], "/queues/unit/", args.runs))
    add("queue: to be dispatched (dispatcher)", lambda: measure(clients["dispatcher1"], "/queues/dispatch/", args.runs))
    add("queue: at risk and overdue (supervisor)", lambda: measure(clients["supervisor1"], "/queues/risk/", args.runs))
    add("queue: mine, filtered by category (agent)",
        lambda: measure(clients["agent1"], "/queues/mine/?category=1&sort=-created", args.runs))
    add("queue: at risk and overdue (specialist)",
        lambda: measure(clients["specialist_net1"], "/queues/risk/", args.runs))
    # The tabs' counts, fetched by htmx once a queue page has loaded (not part of the page's own time).
    tabs = {"HX-Request": "true", "HX-Target": "queue-tabs"}
    add("queue tabs' counts after the page (specialist)",
        lambda: measure(clients["specialist_net1"], "/queues/unit/", args.runs, tabs))
    add("queue tabs' counts after the page (supervisor)",
        lambda: measure(clients["supervisor1"], "/queues/risk/", args.runs, tabs))
    total = {"HX-Request": "true", "HX-Target": "queue-total"}  # a long list's heading count, also after the page
    add("queue heading count after the page (specialist, at risk)",
        lambda: measure(clients["specialist_net1"], "/queues/risk/", args.runs, total))
    add("queue heading count after the page (agent, mine by category)",
        lambda: measure(clients["agent1"], "/queues/mine/?category=1&sort=-created", args.runs, total))

    def random_tickets() -> dict[str, float]:
        per_ticket = max(1, args.runs // len(picks))
        merged: list[float] = []
        queries = 0.0
        for pk in picks:
            m = measure(clients["supervisor1"], f"/tickets/{pk}/", per_ticket)
            merged.append(m["p95"])
            queries = max(queries, m["queries"])
        return {"p50": statistics.median(merged), "p95": max(merged), "max": max(merged), "queries": queries}

    add(f"ticket page (supervisor, 1 ticket x {args.runs})",
        lambda: measure(clients["supervisor1"], f"/tickets/{picks[0]}/", args.runs))
    add("ticket page (20 random open tickets, worst p95)", random_tickets)
    add(f"customer 360, {HISTORY} past work orders (agent)",
        lambda: measure(clients["agent1"], f"/desk/?caller={customer.msisdn}", args.runs))
    add("supervisor board", lambda: measure(clients["supervisor1"], "/board/", max(20, args.runs // 5)))
    base = rows[0][1]["p95"]
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'page':58} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'p95/base':>9}")
    for name, m in rows:
        ratio = m["p95"] / base
        print(f"{name:58} {m['p50']:8.1f} {m['p95']:8.1f} {m['max']:8.1f} {int(m['queries']):8d} {ratio:9.1f}")


if __name__ == "__main__":
    main()

"""Full-cycle throughput through the services (run by hand; not a test).

    python bench/cycle.py --db postgres --tickets 3000     # on $BENCH_PG_URL (a fresh database)
    python bench/cycle.py --db sqlite --tickets 3000       # on var/bench/cycle.sqlite3

Each ticket goes create → dispatch → accept → reply → answer → close through `loopdesk.tickets.services`
in one process (every listener registered by the installed apps runs too: outbox, rollups, ...).
Baseline, in the same run and process: per ticket, six transactions that each lock one row, update it
and append one audit row through the ORM — the least an audited state change can cost on this database.
The ratio makes the figure comparable across runs on this shared, noisy machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://loopdesk@127.0.0.1:54329/loopdesk_cycle")
SQLITE_PATH = ROOT / "var" / "bench" / "cycle.sqlite3"


def prepare(db: str) -> str:
    if db == "postgres":
        import psycopg

        base, _, name = PG_URL.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_URL
    else:
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{SQLITE_PATH}"
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "seed_reference"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--tickets", type=int, default=3000)
    args = parser.parse_args()
    print(f"uptime load average: {os.getloadavg()}")
    os.environ["DATABASE_URL"] = prepare(args.db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    from loopdesk.audit.services import record_audit
    from loopdesk.customers.models import Customer
    from loopdesk.org.choices import Role, UnitFunction
    from loopdesk.org.models import OrgUnit, User
    from loopdesk.tickets import services as s
    from loopdesk.tickets.models import Category, Ticket

    call = OrgUnit.objects.filter(function=UnitFunction.FRONT_LINE, name="话务室").first()
    net = OrgUnit.objects.get(name="网络维护中心")
    agent = User.objects.create(username="bench_agent", unit=call)
    agent.groups.add(Group.objects.get(name=Role.HOTLINE_AGENT))
    specialist = User.objects.create(username="bench_specialist", unit=net)
    specialist.groups.add(Group.objects.get(name=Role.SPECIALIST))
    agent = User.objects.select_related("unit").get(pk=agent.pk)
    specialist = User.objects.select_related("unit").get(pk=specialist.pk)
    category = Category.objects.filter(path__startswith=Category.objects.get(name="基础通信").path, depth=2).first()
    customers = [
        Customer.objects.create(msisdn=f"139{i:08d}", province="GD", region="JM") for i in range(args.tickets)
    ]

    # Baseline: six audited single-row transactions per ticket.
    scratch = s.do_create_ticket(acting_user=agent, customer=customers[0], contact_type="consultation",
                                 category=category, channel="hotline", description="基准")
    started = time.perf_counter()
    for _ in range(args.tickets):
        for _step in range(6):
            with transaction.atomic():
                row = Ticket.objects.select_for_update().get(pk=scratch.pk)
                Ticket.objects.filter(pk=row.pk).update(version=row.version + 1, updated_at=timezone.now())
                record_audit(agent, "bench.baseline", row)
    baseline = args.tickets / (time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(args.tickets):
        t = s.do_create_ticket(acting_user=agent, customer=customers[i], contact_type="complaint",
                               category=category, channel="hotline", description="室内无信号，请尽快处理。",
                               dispatch=True, dispatch_to=net)
        t = s.do_accept_ticket(acting_user=specialist, ticket=t)
        t = s.do_reply_ticket(acting_user=specialist, ticket=t, resolution="已优化天线方位角")
        t = s.do_answer_customer(acting_user=agent, ticket=t, answer="已为您处理，请再试")
        t = s.do_close_ticket(acting_user=agent, ticket=t)
    elapsed = time.perf_counter() - started
    rate = args.tickets / elapsed
    closed = Ticket.objects.filter(status="closed").count()
    print(f"uptime load average: {os.getloadavg()}")
    print(f"db={args.db} tickets={args.tickets} full cycles/s={rate:.1f} "
          f"baseline (6 audited row transactions)/s={baseline:.0f} ratio={rate / baseline:.2f} closed={closed}")


if __name__ == "__main__":
    main()

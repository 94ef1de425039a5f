"""Outbox delivery to the file SMS gateway with one worker (run by hand; not a test).

    python bench/outbox_delivery.py [--messages 20000] [--db sqlite|postgres] [--per-ticket K]

On a fresh database (SQLite file var/bench/outbox.sqlite3, or $BENCH_PG_URL with --db postgres) it queues
N SMS rows in the outbox, then runs `loopdesk.outbox.worker.deliver_due()` — the code the Celery task runs —
in this one process until all are delivered, and prints messages/s. Baseline in the same run: the file
gateway alone sending the same N messages (no database), i.e. the ceiling the worker can approach.

`--per-ticket K`: the messages are K consecutive events of each of N/K work orders to one receiver (as a TMF
subscriber gets them), so the worker delivers each work order's messages one after the other, in order
(`worker.claim_due`); the run also checks the receiver got every work order's messages in the order written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--per-ticket", type=int, default=0, help="K messages per work order, in order (0: none)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="outbox-bench-"))
    if args.db == "sqlite":
        path = ROOT / "var" / "bench" / "outbox.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        os.environ["DATABASE_URL"] = os.environ.get("BENCH_PG_URL",
                                                    "postgresql://postgres@127.0.0.1:54330/loopdesk_outbox_bench")
    os.environ["LOOPDESK_SMS_GATEWAY"] = "file"
    os.environ["LOOPDESK_SMS_FILE"] = str(tmp / "worker.jsonl")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from django.utils import timezone

    from loopdesk.notify.gateways import FileGateway, Sms, read_file_gateway
    from loopdesk.outbox import worker
    from loopdesk.outbox.models import OutboxMessage

    n = args.messages
    texts = [f"【中国移动】您的工单JM-20261122-{i:06d}已处理完毕并答复您。如仍有问题请致电10086。" for i in range(n)]

    # Baseline: the gateway alone.
    gateway = FileGateway(tmp / "baseline.jsonl")
    started = time.perf_counter()
    for i in range(n):
        gateway.send(Sms(id=f"b:{i}", to=str(13700000000 + i), sender="10086", text=texts[i]))
    baseline = n / (time.perf_counter() - started)

    past = timezone.now() - dt.timedelta(minutes=1)
    per = args.per_ticket

    def ticket_of(i: int) -> int | None:
        return i // per if per else None

    def number_of(i: int) -> str:  # one receiver per work order with --per-ticket, else one per message
        return str(13700000000 + (i // per if per else i))

    # Written ticket after ticket, as the services write them; the worker must keep each ticket's order.
    OutboxMessage.objects.bulk_create(
        (OutboxMessage(channel="sms", topic="bench", dedupe_key=f"w:{i}", target=number_of(i), ticket_id=ticket_of(i),
                       payload={"to": number_of(i), "text": texts[i], "sender": "10086"},
                       not_before=past, created_at=past) for i in range(n)),
        batch_size=2000,
    )
    started = time.perf_counter()
    report = worker.PassReport()
    while True:
        one = worker.deliver_due(time_budget=3600)
        report.add(one)
        if one.claimed == 0:
            break
    seconds = time.perf_counter() - started
    sent = read_file_gateway(tmp / "worker.jsonl")
    assert report.delivered == n == len(sent), report
    if per:  # each work order's messages arrived in the order written (the text carries the message's index)
        arrived: dict[object, list[int]] = {}
        for line in sent:
            arrived.setdefault(line["to"], []).append(int(str(line["text"]).split("-")[2][:6]))
        assert all(order == sorted(order) for order in arrived.values()), "a work order's messages out of order"
    rate = n / seconds
    print(f"database: {args.db}; messages: {n}; batch: {worker.settings.LOOPDESK_OUTBOX_BATCH}; "
          f"messages per work order, in order: {per or '-'}")
    print(f"baseline (file gateway alone): {baseline:,.0f} msgs/s")
    print(f"outbox worker, one process:   {rate:,.0f} msgs/s  ({seconds:.2f} s)")
    verdict = "met" if rate >= 2000 else "NOT met"
    print(f"ratio worker / baseline: {rate / baseline:.2f}; target >= 2,000 msgs/s: {verdict}")


if __name__ == "__main__":
    main()

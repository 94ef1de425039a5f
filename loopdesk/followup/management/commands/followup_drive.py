"""`manage.py followup_drive setup|life N|bulk N|counts`: drive a database from a process of its own.

The real-worker proof (loopdesk/outbox/tests/test_worker_redis.py) runs it as the "web" side, next to a real
Celery worker and Redis: `setup` builds the test world, `life N` runs N work orders through their whole life,
`bulk N` queues N SMS rows, `counts` prints the outbox by status.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from loopdesk.customers.models import Customer
from loopdesk.followup.life import whole_life
from loopdesk.org.models import User
from loopdesk.outbox.models import OutboxMessage
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.models import Category


class Command(BaseCommand):
    help = "Drive the follow-up proof: setup | life N | bulk N | counts"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["setup", "life", "bulk", "counts"])
        parser.add_argument("n", type=int, nargs="?", default=1)

    def handle(self, *args: Any, action: str, n: int, **options: Any) -> None:
        # Yesterday morning: every message is due at once, whatever the hour the proof runs (quiet hours).
        yesterday = timezone.now().astimezone(SHANGHAI) - dt.timedelta(days=1)
        start = yesterday.replace(hour=8, minute=30, second=0, microsecond=0)
        if action == "setup":
            from django.conf import settings

            from loopdesk.conftest import build_world  # the test world; pytest is a dev requirement

            settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # test staff only
            with transaction.atomic():
                build_world()
        elif action == "life":
            agent, specialist = User.objects.get(username="agent"), User.objects.get(username="specialist")
            base = 13900000000 + Customer.objects.count()
            for i in range(n):
                customer = Customer.objects.create(msisdn=str(base + i), name="李四", province="GD", region="JM")
                t = whole_life(agent=agent, specialist=specialist, customer=customer,
                               category=Category.objects.get(code="INDOOR"), start=start + dt.timedelta(minutes=i))
                self.stdout.write(t.number)
        elif action == "bulk":
            offset = OutboxMessage.objects.count()
            OutboxMessage.objects.bulk_create(
                OutboxMessage(channel="sms", topic="bulk", dedupe_key=f"bulk:{offset + i}",
                              target=str(13700000000 + i), not_before=start, created_at=start,
                              payload={"to": str(13700000000 + i), "text": f"第{offset + i}条", "sender": "10086"})
                for i in range(n)
            )
        else:
            rows = OutboxMessage.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
            counts = {**dict(rows), "max_attempts": OutboxMessage.objects.aggregate(m=Max("attempts"))["m"] or 0}
            self.stdout.write(json.dumps(counts))

"""`manage.py purge_outbox`: delete delivered and given-up outbox rows and the delivery log past their retention
(what the nightly job `loopdesk.outbox.purge_old` does)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from loopdesk.outbox.services import purge_old


class Command(BaseCommand):
    help = ("Delete delivered outbox rows older than LOOPDESK_OUTBOX_KEEP_DELIVERED_DAYS, given-up ones older than "
            "LOOPDESK_OUTBOX_KEEP_DEAD_DAYS, and the delivery log likewise (pending and failed rows are kept).")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = purge_old()
        delivered, dead = counts.pop("delivered"), counts.pop("dead")
        others = "".join(f", {n} {name.replace('_', ' ')} entries" for name, n in counts.items())
        self.stdout.write(
            f"Deleted {delivered} delivered (kept {settings.LOOPDESK_OUTBOX_KEEP_DELIVERED_DAYS} days, 0: for ever) "
            f"and {dead} given-up outbox rows (kept {settings.LOOPDESK_OUTBOX_KEEP_DEAD_DAYS} days){others}.")

"""`manage.py rebuild_rollups`: recompute every KPI fact and rollup row from the tickets and their timelines."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from loopdesk.reports import rollups


class Command(BaseCommand):
    help = "Recompute the KPI facts and daily rollups from the tickets (after a bulk load that bypassed the services)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        last = [started]

        def progress(done: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 5:
                last[0] = now
                self.stdout.write(f"  {done:,} tickets ({done / (now - started):,.0f}/s)")

        seen = rollups.rebuild(progress=progress)
        self.stdout.write(f"Rebuilt the rollups of {seen:,} tickets in {time.perf_counter() - started:.1f} s.")

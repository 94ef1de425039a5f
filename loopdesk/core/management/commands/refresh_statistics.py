"""`manage.py refresh_statistics`: the query planner's table statistics (ANALYZE), e.g. after a bulk load."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection

from loopdesk.core.db import refresh_statistics


class Command(BaseCommand):
    help = "Recompute the database's planner statistics (ANALYZE); run after loading data in bulk."

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = refresh_statistics()
        self.stdout.write(f"Planner statistics refreshed ({connection.vendor}) in {seconds:.1f} s.")

"""`manage.py check_rollups`: recompute the KPI facts and rollups from the tickets and report any difference."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from loopdesk.reports import rollups


class Command(BaseCommand):
    help = "Recompute the KPI facts and rollups from the tickets and report every difference (exit 1 if any)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="Report at most this many differences of each kind.")
        parser.add_argument("--no-fold", action="store_true",
                            help="Do not fold the pending ticket changes first (they then show as differences).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_fold"]:
            rollups.fold_pending()  # what the worker would do within seconds
        report = rollups.check(limit=options["limit"])
        for pk, name, stored, expected in report.fact_differences:  # negative ids: window-service surveys
            self.stdout.write(f"fact of {_what(pk)}: {name} is {stored!r}, expected {expected!r}")
        for pk in report.missing_facts:
            self.stdout.write(f"fact of {_what(pk)} is missing")
        if report.extra_facts:
            self.stdout.write(f"{report.extra_facts} facts have no ticket")
        for key, name, stored, expected in report.rollup_differences:
            self.stdout.write(f"rollup {key}: {name} is {stored}, expected {expected}")
        if report.ok:
            self.stdout.write(f"Rollups consistent with {report.tickets:,} tickets.")
            return
        self.stderr.write("Rollups differ from the tickets: run `manage.py rebuild_rollups`.")
        sys.exit(1)


def _what(pk: int) -> str:
    return f"window survey {-pk}" if pk < 0 else f"ticket {pk}"

"""`manage.py monthly_report [--month 2026-11] [--scope JM]`: produce and keep the monthly report workbook."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loopdesk.reports.monthly import produce_all, produce_monthly_report


class Command(BaseCommand):
    help = "Produce the monthly KPI workbook (default: last month, the whole company and every region)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: last month).")
        parser.add_argument("--scope", help="A region code, or “all” (default: all and every region).")

    def handle(self, *args: Any, **options: Any) -> None:
        year = month = None
        if options["month"]:
            try:
                year, month = (int(part) for part in options["month"].split("-"))
                if not 1 <= month <= 12:
                    raise ValueError
            except ValueError:
                raise CommandError("--month must look like 2026-11.") from None
        if options["scope"]:
            scope = self._scope(options["scope"])
            if year is None or month is None:
                from loopdesk.reports.monthly import previous_month

                year, month = previous_month()
            stored = [produce_monthly_report(year, month, scope)]
        else:
            stored = produce_all(year, month)
        for report in stored:
            self.stdout.write(f"{report.scope} {report.period:%Y-%m}: {report.file.name} ({report.size:,} bytes)")

    @staticmethod
    def _scope(text: str) -> str:
        """ "all", or a region code as the units have it (any case): a report kept under another spelling ("jm") is
        offered to nobody, since users get the reports of their region's code."""
        from loopdesk.org.choices import UnitLevel
        from loopdesk.org.models import OrgUnit

        if text.strip().lower() == "all":
            return "all"
        regions = set(OrgUnit.objects.filter(level__in=(UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM))
                      .values_list("region", flat=True))
        found = {code.lower(): code for code in regions}.get(text.strip().lower())
        if found is None:
            raise CommandError(f"--scope {text}: no such region (regions: {', '.join(sorted(regions))}; or all).")
        return found

"""`manage.py monthly_report [--month 2026-11] [--scope JM|province:GD|all]`: produce and keep the monthly report
workbook."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loopdesk.reports.monthly import produce_all, produce_monthly_report


class Command(BaseCommand):
    help = "Produce the monthly KPI workbook (default: last month, the whole company, every province and region)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: last month).")
        parser.add_argument("--scope", help="A region code (JM), province:<code> (province:GD), or “all” (default: "
                                            "all, every province and every region).")

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
            self.stdout.write(f"{report.scope} {report.period:%Y-%m}: {report.file.name} ({report.size:,} bytes), "
                              f"English: {report.file_en.name}")

    @staticmethod
    def _scope(text: str) -> str:
        """ "all", "province:" and a province code, or a region code, as the units have them (any case): a report
        kept under another spelling ("jm") is offered to nobody, since users get the reports of their unit's code."""
        from loopdesk.org.choices import UnitLevel
        from loopdesk.org.models import OrgUnit
        from loopdesk.reports.models import PROVINCE_SCOPE

        text = text.strip()
        if text.lower() == "all":
            return "all"
        if text.lower().startswith(PROVINCE_SCOPE):
            provinces = set(OrgUnit.objects.filter(level=UnitLevel.PROVINCE).values_list("province", flat=True))
            code = {c.lower(): c for c in provinces}.get(text[len(PROVINCE_SCOPE):].strip().lower())
            if code is None:
                raise CommandError(f"--scope {text}: no such province (provinces: {', '.join(sorted(provinces))}).")
            return f"{PROVINCE_SCOPE}{code}"
        regions = set(OrgUnit.objects.filter(level__in=(UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM))
                      .values_list("region", flat=True))
        found = {code.lower(): code for code in regions}.get(text.lower())
        if found is None:
            raise CommandError(f"--scope {text}: no such region (regions: {', '.join(sorted(regions))}; "
                               "or province:<code>, or all).")
        return found

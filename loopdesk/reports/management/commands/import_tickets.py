"""`manage.py import_tickets FILE [--mapping field=column ...] [--dry-run] [--good-rows] [--source SYSTEM]
[--as USER] [--language zh-hans] [--report errors.csv]`: import legacy work orders from a large CSV / XLSX file
(the bulk path of `loopdesk.reports.imports.import_tickets`), printing the row-level report. Exit status 1 when
nothing was imported because of problems (or a dry run found some)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from loopdesk.reports import imports
from loopdesk.reports.management.commands._importing import ImportCommand


class Command(ImportCommand):
    help = "Import legacy work orders (CSV or XLSX): validated in one pass, then written in bulk, all or nothing."
    kind = "tickets"
    fields = imports.TICKET_FIELDS

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--source", default="legacy", metavar="SYSTEM",
                            help="The source system: external ids are unique per system (default: legacy).")

    def run_import(self, *, options: dict[str, Any], **kwargs: Any) -> imports.ImportResult:
        return imports.import_tickets(system=options["source"], **kwargs)

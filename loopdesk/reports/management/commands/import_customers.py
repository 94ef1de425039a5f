"""`manage.py import_customers FILE [--mapping field=column ...] [--dry-run] [--good-rows] [--as USER]
[--language zh-hans] [--report errors.csv]`: import or update customers by mobile number from a CSV / XLSX
file, printing the row-level report. Exit status 1 when nothing was imported because of problems."""

from __future__ import annotations

from typing import Any

from loopdesk.reports import imports
from loopdesk.reports.management.commands._importing import ImportCommand


class Command(ImportCommand):
    help = "Import or update customers by mobile number (CSV or XLSX), all or nothing by default."
    kind = "customers"
    fields = imports.CUSTOMER_FIELDS

    def run_import(self, *, options: dict[str, Any], **kwargs: Any) -> imports.ImportResult:
        return imports.import_customers(**kwargs)

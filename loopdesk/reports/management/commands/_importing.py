"""What `import_tickets` and `import_customers` share: options, the importing user, the mapping, the report."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from loopdesk.core.errors import DomainError
from loopdesk.core.text import ascii_digits
from loopdesk.reports import imports


def parse_mapping(pairs: list[str], fields: imports.Fields) -> imports.Mapping:
    """`field=column` pairs: the column by its header, or `#3` for the third column; `field=` leaves the field
    out (not imported). A field given twice is refused here; the rest is checked against the file's header."""
    mapping: imports.Mapping = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CommandError(f"--mapping {pair!r}: write field=column (fields: {', '.join(fields)}).")
        if name in mapping:
            raise CommandError(f"--mapping: the field {name!r} is mapped twice.")
        column = column.strip()
        if column.startswith("#") and ascii_digits(column[1:]) and int(column[1:]) >= 1:
            mapping[name] = int(column[1:]) - 1
        else:
            mapping[name] = column or None
    return mapping


class ImportCommand(BaseCommand):
    kind = "tickets"
    fields: imports.Fields = imports.TICKET_FIELDS

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV (UTF-8, GBK, UTF-16 with BOM; comma or tab) or XLSX.")
        parser.add_argument("--mapping", action="append", default=[], metavar="FIELD=COLUMN",
                            help="A field's column, by header or as #N (1 = first column); FIELD= leaves it out. "
                                 "Repeat for each field; the others are found by the usual legacy headers. "
                                 f"Fields: {', '.join(self.fields)}.")
        parser.add_argument("--dry-run", action="store_true", help="Check every row, write nothing.")
        parser.add_argument("--good-rows", action="store_true",
                            help="Import the valid rows even if some rows have errors (default: all or nothing).")
        parser.add_argument("--as", dest="user", metavar="USER",
                            help="The importing user's username (default: the only active administrator).")
        parser.add_argument("--language", help="Language of the report (default: the user's, else the site's).")
        parser.add_argument("--report", metavar="CSV", help="Also write the row-level report to this CSV file.")

    def run_import(self, **kwargs: Any) -> imports.ImportResult:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        user = self._user(options["user"])
        mapping = parse_mapping(options["mapping"], self.fields)
        language = options["language"] or getattr(user, "language", "") or settings.LANGUAGE_CODE
        with translation.override(language):
            started = time.perf_counter()
            try:
                result = self.run_import(acting_user=user, source=path, name=path.name, mapping=mapping or None,
                                         dry_run=options["dry_run"], all_or_nothing=not options["good_rows"],
                                         options=options)
            except DomainError as exc:
                raise CommandError(str(exc.message)) from exc
            seconds = time.perf_counter() - started
            self._report(result, seconds, options["report"])

    def _user(self, username: str | None) -> Any:
        from loopdesk.org.models import User

        users = User.objects.select_related("unit").filter(is_active=True)
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"No active user {username!r}.")
            return user
        admins = list(users.filter(groups__name="administrator")[:2]) or list(users.filter(is_superuser=True)[:2])
        if len(admins) != 1:
            raise CommandError("Name the importing user with --as USER.")
        return admins[0]

    def _report(self, result: imports.ImportResult, seconds: float, report: str | None) -> None:
        header, rows = imports.error_report_rows(result)
        if rows:
            self.stdout.write("\t".join(header))
            for row in rows:
                self.stdout.write("\t".join(str(c) for c in row))
            if result.error_count > len(rows):
                self.stdout.write(f"... {result.error_count - len(rows):,} more problems not listed")
        if report:
            with open(report, "w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows)
        rate = result.rows / seconds if seconds else 0.0
        summary = (f"{result.rows:,} rows ({result.encoding or '?'}): {result.valid:,} valid, {result.created:,} "
                   f"imported, {result.updated:,} updated, {result.skipped:,} already imported earlier, "
                   f"{result.error_count:,} problems; {seconds:.1f} s, {rate:,.0f} rows/s")
        if result.dry_run:
            summary += "; dry run: nothing was imported"
        elif not result.applied:
            summary += "; nothing was imported"
        self.stdout.write(summary)
        if result.error_count and not result.applied:
            raise CommandError(f"{result.error_count:,} problems: nothing was imported."
                               if not result.dry_run else f"{result.error_count:,} problems (dry run).")

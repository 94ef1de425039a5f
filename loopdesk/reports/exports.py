"""Export to Excel: any KPI table and any ticket list, as CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX.

Both formats stream with bounded memory: tickets are read in keyset pages of `PAGE` rows; CSV is
yielded chunk by chunk to the response; XLSX is written by openpyxl's write-only workbook (rows go to
a temporary file, not to memory) and then streamed from that file. Headers are the translated column
labels, in the user's language (Chinese by default). Phone numbers are always masked in exports: the number column,
and any mobile number typed into the free-text summary (`mask_msisdns_in_text`, in the COPY export too).

Formula injection ("CSV injection"): a text cell starting with = + - @, a tab or a carriage return would be
read by Excel as a formula (openpyxl even writes a string starting with = as one); such cells get a leading
apostrophe (`safe_cell`), in both formats, headers included, and in the PostgreSQL COPY export. An XLSX sheet
holds at most `XLSX_MAX_ROWS` rows (Excel's 1,048,576): a longer list ends with a row saying so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from loopdesk.core.text import MSISDN_IN_TEXT, mask_msisdn, mask_msisdns_in_text
from loopdesk.org.models import OrgUnit
from loopdesk.reports import measures as m
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.choices import CallbackVerdict, Channel, ContactType, Priority, Status
from loopdesk.tickets.models import Category, Ticket

PAGE = 5000
CSV_CHUNK = 256 * 1024
BOM = "\ufeff"
XLSX_MAX_ROWS = 1_048_576  # Excel's limit per sheet, header included
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula, with a leading apostrophe; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _xlsx_cell(value: Any) -> Any:
    """`safe_cell` for a worksheet, without the control characters a worksheet cannot hold (openpyxl refuses them:
    a summary pasted from Word with a vertical tab made the whole export a 500); tabs and line ends stay."""
    value = safe_cell(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value

# (label, value column of the ticket row, how it is shown)
TICKET_COLUMNS: tuple[tuple[Any, str], ...] = (
    (_("number"), "number"),
    (_("created at"), "created_at"),
    (_("region code"), "region"),
    (_("contact type"), "contact_type"),
    (_("channel"), "channel"),
    (_("priority"), "priority"),
    (_("top category"), "category_root_id"),
    (_("category"), "category_id"),
    (_("mobile number"), "customer__msisdn"),
    (_("customer tier"), "tier"),
    (_("branch"), "branch_id"),
    (_("first responder unit"), "first_responder_unit_id"),
    (_("handling unit"), "handler_unit_id"),
    (_("status"), "status"),
    (_("summary"), "title"),
    (_("first dispatched at"), "cycle_started_at"),
    (_("replied at"), "replied_at"),
    (_("answered at"), "answered_at"),
    (_("closed at"), "closed_at"),
    (_("overtime"), "is_overtime"),
    (_("problem ticket"), "is_problem"),
    (_("repeat complaint"), "is_repeat"),
    (_("returns"), "return_count"),
    (_("callback verdict"), "callback_verdict"),
)


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def _local_datetime(value: dt.datetime | None) -> dt.datetime | str:
    """For XLSX: the local time as a date-time cell (Excel sorts and filters it as one; text it would not), to the
    minute as the CSV has it."""
    return value.astimezone(SHANGHAI).replace(tzinfo=None, second=0, microsecond=0) if value else ""


class _Labels:
    """Id → name maps for the small reference tables, so ticket rows need no joins."""

    def __init__(self, language: str | None) -> None:
        self.categories = {c.pk: c.display_name(language) for c in Category.objects.all()}
        self.units = {u.pk: u.display_name(language) for u in OrgUnit.objects.all()}
        self.choices = {
            "contact_type": {k: str(v) for k, v in ContactType.choices},
            "channel": {k: str(v) for k, v in Channel.choices},
            "priority": {k: str(v) for k, v in Priority.choices},
            "status": {k: str(v) for k, v in Status.choices},
            "callback_verdict": {k: str(v) for k, v in CallbackVerdict.choices},
            "tier": {"regular": str(_("Regular")), "vip": str(_("VIP"))},
        }
        self.yes, self.no = str(_("yes")), str(_("no"))


def _name_of(names: dict[int, str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        return names.get(value, "") if value else ""

    return convert


def _label_of(labels: dict[str, str]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return labels.get(value, value)

    return convert


def _yes_no(yes: str, no: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        return yes if value else no

    return convert


def _same(value: Any) -> Any:
    return value


def ticket_header() -> list[str]:
    """The columns' names in sentence case ("Created at": the labels are lower case for use inside sentences, and
    the English export's header read "number,created at,…" beside the KPI tables' "Work orders,…")."""
    return [capfirst(str(label)) for label, _col in TICKET_COLUMNS]


def _counted_verdict() -> Coalesce:
    """The callback verdict the KPIs count (the ticket's `ReportFact`): a work order reopened after a dissatisfied
    callback has no verdict of its own any more, but its dissatisfaction stays counted; the ticket's own verdict
    while no fact is kept for it yet."""
    return Coalesce("report_fact__verdict", "callback_verdict")


def ticket_rows(tickets: QuerySet[Ticket], language: str | None = None, page: int = PAGE,
                typed: bool = False, counted_verdict: bool = False) -> Iterator[list[Any]]:
    """The rows of a ticket list (already scoped by `visible_tickets`), read in keyset pages by id; `typed` (XLSX):
    times as date-time values instead of text; `counted_verdict` (the reports' drill-down lists): the callback
    verdict as the figures count it (`_counted_verdict`), so that the list agrees with the number it is behind."""
    labels = _Labels(language)
    columns: list[Any] = ["pk", *(col for _label, col in TICKET_COLUMNS)]
    if counted_verdict:
        columns[columns.index("callback_verdict")] = _counted_verdict()
    converters: list[Callable[[Any], Any]] = []
    for _label, col in TICKET_COLUMNS:
        if col.endswith("_at"):
            converters.append(_local_datetime if typed else _local)
        elif col in ("category_root_id", "category_id"):
            converters.append(_name_of(labels.categories))
        elif col.endswith("unit_id") or col == "branch_id":
            converters.append(_name_of(labels.units))
        elif col in labels.choices:
            converters.append(_label_of(labels.choices[col]))
        elif col.startswith("is_"):
            converters.append(_yes_no(labels.yes, labels.no))
        elif col == "customer__msisdn":
            converters.append(mask_msisdn)
        elif col == "title":
            converters.append(mask_msisdns_in_text)
        else:
            converters.append(_same)
    last = 0
    base = tickets.order_by()
    while True:
        batch = list(base.filter(pk__gt=last).order_by("pk").values_list(*columns)[:page])
        if not batch:
            return
        last = batch[-1][0]
        for row in batch:
            yield [convert(value) for convert, value in zip(converters, row[1:], strict=True)]


# A list of hops (the drill-down of a hop count): one row per hop, the work order's number and the hop.
HOP_COLUMNS: tuple[tuple[Any, str], ...] = (
    (_("number"), "ticket__number"),
    (_("region code"), "region"),
    (_("category"), "category_id"),
    (_("department"), "department_id"),
    (_("received at"), "started_at"),
    (_("ended at"), "ended_at"),
    (_("outcome"), "outcome"),
    (_("handling (h)"), "hop_minutes"),
)


def hop_header() -> list[str]:
    return [capfirst(str(label)) for label, _col in HOP_COLUMNS]


def hop_rows(hops: QuerySet[Any], language: str | None = None, page: int = PAGE,
             typed: bool = False) -> Iterator[list[Any]]:
    """The rows of a list of hops (`measures.hop_drilldown`, already scoped), read in keyset pages by hop id;
    `typed` (XLSX): times as date-time values."""
    from loopdesk.reports.models import HopOutcome

    labels = _Labels(language)
    when = _local_datetime if typed else _local
    outcomes = {k: str(v) for k, v in HopOutcome.choices}
    columns = ["pk", *(col for _label, col in HOP_COLUMNS)]
    last = 0
    base = hops.order_by()
    while True:
        batch = list(base.filter(pk__gt=last).order_by("pk").values_list(*columns)[:page])
        if not batch:
            return
        last = batch[-1][0]
        for _pk, number, region, category_id, unit_id, started, ended, outcome, minutes in batch:
            yield [number, region, labels.categories.get(category_id, ""), labels.units.get(unit_id, ""),
                   when(started), when(ended), outcomes.get(outcome, outcome),
                   "" if minutes is None else round(minutes / 60, 2)]


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """CSV as UTF-8 with a byte-order mark (Excel then reads Chinese right), yielded in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # as PostgreSQL's COPY writes it; Excel reads both
    buffer.write(BOM)
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
        if buffer.tell() >= CSV_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(target: IO[bytes] | str, sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> None:
    """Write (title, header, rows) sheets with openpyxl's write-only workbook (rows are not kept in memory).
    A sheet with more rows than Excel holds (`XLSX_MAX_ROWS`) ends with a row saying they were cut."""
    limit = XLSX_MAX_ROWS - 2  # data rows: the header and the closing message take one row each
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=_sheet_title(title))
        sheet.append([_xlsx_cell(c) for c in header])
        remaining = iter(rows)
        for written, row in enumerate(remaining):
            if written == limit and next(remaining, None) is not None:  # one row more than the sheet holds
                sheet.append([str(_("Only the first %(rows)s rows are here: an Excel sheet holds at most %(limit)s "
                                    "rows. Export CSV for all of them, or narrow the filters.")
                                  % {"rows": f"{limit:,}", "limit": f"{XLSX_MAX_ROWS:,}"})])
                break
            sheet.append([_month_cell(sheet, c) if isinstance(c, MonthCell) else _xlsx_cell(c) for c in row])
    workbook.save(target)


def _month_cell(sheet: Any, value: MonthCell) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=dt.date(value.year, value.month, value.day))
    cell.number_format = "yyyy-mm"
    return cell


def _sheet_title(title: str) -> str:
    """Excel refuses []:*?/\\ in sheet names and more than 31 characters. "Scorecard: branches" becomes
    "Scorecard - branches" (was "Scorecard- branches")."""
    title = title.replace(": ", " - ")
    for char in "[]:*?/\\":
        title = title.replace(char, "-")
    return title[:31] or "Sheet"


def xlsx_file(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> IO[bytes]:
    """An XLSX workbook in a temporary file (rewound), to stream to the client."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    write_xlsx(handle, sheets)
    handle.seek(0)
    return handle


# --- KPI tables ----------------------------------------------------------------------------------------

TABLE_MEASURES = (
    "volume", "complaints", "per_10k", "appeals", "dispatched", "timely", "timeliness", "overtime", "overtime_rate",
    "problem", "problem_rate", "replied",
    "reply_mean", "reply_median", "reply_p90", "answered", "e2e_mean", "e2e_median", "e2e_p90", "closed", "fcr",
    "fcr_rate", "repeat", "repeat_rate", "returned", "hops", "hops_returned", "return_rate", "hops_transferred",
    "hops_handled", "hops_late", "hop_timeliness", "hop_mean", "hop_median", "hop_p90", "callbacks", "callback_rate",
    "satisfied",
    "satisfaction", "surveys", "survey_responses", "survey_response_rate", "survey_mean", "survey_satisfied",
    "survey_satisfaction", "window_surveys", "window_response_rate", "window_mean", "window_satisfaction",
)


def _cell(value: float | int | None, unit: str) -> Any:
    if value is None:
        return ""
    if unit == "rate":
        return round(float(value) * 100, 2)
    if unit in ("hours", "per10k", "score"):
        return round(float(value), 2)
    return value


def rate_label(label: Any, unit: str) -> str:
    """A measure's name for a column of values: a rate's values are percentages (71.43 for 71.43 %), which its name
    says (" (%)") unless it says so already ("Survey satisfaction (% satisfied)")."""
    text = str(label)
    return text + " (%)" if unit == "rate" and "%" not in text else text


def measure_header(group_by: str, measures: Sequence[str] = TABLE_MEASURES, compare: bool = False) -> list[str]:
    """The group, then each measure; with `compare`, each followed by its month-on-month and year-on-year
    change (rates: in percentage points; counts, hours and scores: in per cent)."""
    header = [str(m.GROUP_LABELS[group_by])]
    mom, yoy, points = str(_("MoM")), str(_("YoY")), str(_("pt"))
    for name in measures:
        label, unit = m.MEASURES[name]
        header.append(rate_label(label, unit))
        if compare:
            suffix = points if unit == "rate" else "%"
            header += [f"{label} ({mom}, {suffix})", f"{label} ({yoy}, {suffix})"]
    return header


def _change_cell(value: float | None) -> Any:
    return "" if value is None else round(value * 100, 2)


class MonthCell(dt.date):
    """A month (its first day) that the XLSX writer gives the number format yyyy-mm: a date cell shown 2026-11."""


def _group_cell(row: m.TableRow, dates: str | None) -> Any:
    """The group's cell: its label, or (XLSX, `dates` the grouping) a day as a date cell and a whole month as a date
    cell shown as the month, which Excel sorts and filters as dates. A week, and a month the period covers in part,
    keep their label (the ISO week and the days covered, which sorts as the dates do): a date cell could only name
    one day, and a Monday before the period's start is not what the row counts."""
    if dates == "day" and isinstance(row.key, dt.date):
        return row.key
    if dates == "month" and isinstance(row.key, dt.date) and row.label == row.key.strftime("%Y-%m"):
        return MonthCell(row.key.year, row.key.month, 1)
    return row.label


def measure_rows(rows: Iterable[m.TableRow], measures: Sequence[str] = TABLE_MEASURES,
                 compare: bool = False, dates: str | None = None) -> Iterator[list[Any]]:
    """Rows for measure_header (`compare` needs rows from `m.table(..., with_previous=True, with_year=True)`);
    `dates` (XLSX: the grouping): days and whole months as date cells instead of text."""
    for row in rows:
        cells: list[Any] = [_group_cell(row, dates)]
        for name in measures:
            cells.append(_cell(row.values[name], m.MEASURES[name][1]))
            if compare:
                cells += [_change_cell(row.mom(name)), _change_cell(row.yoy(name))]
        yield cells


# --- PostgreSQL: the ticket CSV formatted by the database (COPY ... TO STDOUT) ---------------------------


def _label_case(column: str, choices: dict[str, str], params: list[Any]) -> str:
    parts = []
    for value, label in choices.items():
        parts.append("WHEN %s THEN %s")
        params += [value, label]
    return f"CASE {column} {' '.join(parts)} ELSE {column} END" if parts else column


def ticket_csv_copy(tickets: QuerySet[Ticket], language: str | None = None,
                    counted_verdict: bool = False) -> Iterator[bytes]:
    """The same CSV as `csv_stream(ticket_header(), ticket_rows(tickets, counted_verdict=...))`, formatted by
    PostgreSQL with `COPY (SELECT ...) TO STDOUT` and streamed in the chunks the server sends (PostgreSQL only)."""
    from django.db import connection

    labels = _Labels(language)
    english = bool(language and language.startswith("en"))
    params: list[Any] = []
    select: list[str] = []

    def name(alias: str) -> str:
        return (f"CASE WHEN {alias}.name_en <> '' THEN {alias}.name_en ELSE {alias}.name END" if english
                else f"{alias}.name")

    def when(column: str) -> str:
        return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')"

    def yes_no(column: str) -> str:
        params.extend([labels.yes, labels.no])
        return f"CASE WHEN {column} THEN %s ELSE %s END"

    def safe(expr: str) -> str:
        """safe_cell in SQL, for the columns of free or administered text (one evaluation of `expr`). The labels
        of choices and yes / no never start with a formula character (tested), nor do times and masked numbers."""
        return f"regexp_replace({expr}, '^([-=+@' || chr(9) || chr(13) || '])', chr(39) || '\\1')"

    for _label, col in TICKET_COLUMNS:
        if col.endswith("_at"):
            select.append(when(f"t.{col}"))
        elif col == "category_root_id":
            select.append(safe(name("cr")))
        elif col == "category_id":
            select.append(safe(name("c")))
        elif col == "customer__msisdn":
            select.append("left(cu.msisdn, 3) || '****' || right(cu.msisdn, 4)")
        elif col == "branch_id":
            select.append(safe(name("b")))
        elif col == "first_responder_unit_id":
            select.append(safe(name("fu")))
        elif col == "handler_unit_id":
            select.append(safe(name("hu")))
        elif col == "title":  # free text: numbers typed into it masked as mask_msisdns_in_text does
            params.append(MSISDN_IN_TEXT)
            select.append(safe(r"regexp_replace(t.title, %s, '\1****\2', 'g')"))
        elif col in ("number", "region"):
            select.append(safe(f"t.{col}"))
        elif col == "callback_verdict" and counted_verdict:
            select.append(_label_case("COALESCE(rf.verdict, t.callback_verdict)", labels.choices[col], params))
        elif col in labels.choices:
            select.append(_label_case(f"t.{col}", labels.choices[col], params))
        elif col.startswith("is_"):
            select.append(yes_no(f"t.{col}"))
        else:
            select.append(f"t.{col}")
    # Python's csv writes an empty string unquoted, COPY quotes it: make empty strings NULL (written unquoted).
    select = [expr if col == "return_count" else f"NULLIF({expr}, '')"
              for expr, (_label, col) in zip(select, TICKET_COLUMNS, strict=True)]
    ids_sql, ids_params = tickets.order_by().values("pk").query.sql_with_params()
    sql = (
        f"COPY (SELECT {', '.join(select)} FROM tickets_ticket t "  # noqa: S608 - only our own column names
        "JOIN customers_customer cu ON cu.id = t.customer_id "
        "JOIN tickets_category c ON c.id = t.category_id JOIN tickets_category cr ON cr.id = t.category_root_id "
        "LEFT JOIN org_orgunit b ON b.id = t.branch_id JOIN org_orgunit fu ON fu.id = t.first_responder_unit_id "
        "JOIN org_orgunit hu ON hu.id = t.handler_unit_id "
        "LEFT JOIN reports_reportfact rf ON rf.ticket_id = t.id "
        f"WHERE t.id IN ({ids_sql}) ORDER BY t.id) TO STDOUT WITH (FORMAT csv)"
    )
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([safe_cell(c) for c in ticket_header()])
    yield (BOM + buffer.getvalue()).encode("utf-8")
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql, [*params, *ids_params]) as copy:
        pending = bytearray()
        for data in copy:
            pending += data
            if len(pending) >= CSV_CHUNK:
                yield bytes(pending)
                pending.clear()
        if pending:
            yield bytes(pending)


def ticket_csv(tickets: QuerySet[Ticket], language: str | None = None,
               counted_verdict: bool = False) -> Iterator[bytes]:
    """The ticket list as CSV: formatted by PostgreSQL when it is the database, else row by row in Python."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return ticket_csv_copy(tickets, language, counted_verdict)
    return csv_stream(ticket_header(), ticket_rows(tickets, language, counted_verdict=counted_verdict))

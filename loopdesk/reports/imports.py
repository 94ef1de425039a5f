"""Import work orders and customers exported from the legacy tools (CSV or XLSX).

- Formats: XLSX (read-only openpyxl, row by row) or CSV in UTF-8 (with or without BOM) or GBK / GB18030
  (what Chinese Excel writes); the encoding is detected from the bytes.
- Columns are matched by the usual legacy headers (工单编号, 受理时间, 手机号码 ...) or an explicit mapping.
- One pass over the file, row by row, validates every row and reports every problem per row, in the user's
  language; the rows that passed are pickled to a temporary file in batches (memory is bounded by the set of
  external ids seen and one batch), and the write reads them back from there, not from the file. A file of
  4 MB or more is validated instead by a forked process that hands the valid rows over a pipe while this one
  writes them (`_ValidatingChild`; same result, the validation no longer precedes the write).
  A dry run stops after the validation. All-or-nothing by default: one bad row and nothing is imported.
- Idempotent: a row whose external id (tickets.ExternalRef, per source system) is already imported is
  skipped, so a file can be imported again after a fix.
- Writing: in batches by the bulk writer (`loopdesk.reports.bulkimport`: COPY on PostgreSQL,
  executemany on SQLite; the columns, SLA, numbers, timeline and repeat detection the services would store,
  the KPI rollups folded per batch), inside one transaction; or, with `bulk=False`, row by row through
  `do_create_ticket` (+ `do_answer_customer` / `do_close_ticket` for closed legacy tickets), the slow reference.
  Either way at the legacy registration time, by the importing user as first responder.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import gc
import itertools
import multiprocessing
import os
import pickle
import re
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook

from loopdesk.audit.services import record_audit
from loopdesk.core.db import references_checked_by_batch
from loopdesk.core.errors import DomainError, PermissionDeniedError, ValidationFailed
from loopdesk.core.text import ascii_digits, normalize_msisdn, validate_msisdn
from loopdesk.customers.choices import Brand, VipLevel
from loopdesk.customers.models import Customer
from loopdesk.customers.services import get_or_create_customer
from loopdesk.org.choices import Role, UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit, User
from loopdesk.reports import rollups
from loopdesk.reports.bulkimport import BulkTicketWriter
from loopdesk.reports.models import ImportRun
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets import policy
from loopdesk.tickets.choices import Channel, ContactType, Priority
from loopdesk.tickets.models import Category, ExternalRef
from loopdesk.tickets.services import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    do_answer_customer,
    do_close_ticket,
    do_create_ticket,
)

CHUNK = 1000
BULK_BATCH = 5000  # rows written per batch by the bulk path
MAX_REPORTED_ERRORS = 1000
MAX_NAME = 64  # Customer.name
SAMPLE_BYTES = 1 << 20

# field -> (label, required, header synonyms as the legacy tools write them)
TICKET_FIELDS: dict[str, tuple[Any, bool, tuple[str, ...]]] = {
    "external_id": (_("external id"), True, ("工单编号", "原工单号", "工单号", "外部编号", "流水号", "external_id")),
    "created_at": (_("created at"), True, ("受理时间", "创建时间", "建单时间", "created_at")),
    "msisdn": (_("mobile number"), True, ("手机号码", "用户号码", "客户号码", "受理号码", "msisdn")),
    "contact_type": (_("contact type"), True, ("服务类型", "工单类型", "联系类型", "contact_type")),
    "category": (_("category"), True, ("投诉类目", "投诉分类", "类目", "业务分类", "category")),
    "channel": (_("channel"), True, ("受理渠道", "渠道", "来源", "channel")),
    "description": (_("description"), True, ("投诉内容", "问题描述", "工单内容", "内容", "description")),
    "title": (_("summary"), False, ("标题", "摘要", "title")),
    "priority": (_("priority"), False, ("优先级", "紧急程度", "priority")),
    "customer_name": (_("customer name"), False, ("客户姓名", "用户姓名", "姓名", "customer_name")),
    # A legacy ticket already closed: imported closed (answered and closed at that time, with its resolution).
    "status": (_("status"), False, ("工单状态", "状态", "status")),
    "closed_at": (_("closed at"), False, ("结案时间", "归档时间", "关闭时间", "closed_at")),
    "resolution": (_("resolution"), False, ("处理结果", "处理意见", "回复内容", "resolution")),
}
CUSTOMER_FIELDS: dict[str, tuple[Any, bool, tuple[str, ...]]] = {
    "msisdn": (_("mobile number"), True, ("手机号码", "用户号码", "号码", "msisdn")),
    "name": (_("customer name"), False, ("客户姓名", "姓名", "name")),  # its problems say whose name
    "brand": (_("brand"), False, ("品牌", "brand")),
    "vip_level": (_("VIP level"), False, ("VIP等级", "客户等级", "vip_level")),
    "region": (_("home region"), False, ("归属地市", "地市", "region")),
    "home_branch": (_("home branch"), False, ("归属分公司", "分公司", "home_branch")),
    "arpu": (_("monthly ARPU (CNY)"), False, ("ARPU", "月均消费", "arpu")),
    # Staff username, or name when no other account manager of the customer's region has it.
    "account_manager": (_("account manager"), False, ("客户经理", "客户经理工号", "客户经理姓名", "所属客户经理",
                                                     "account manager", "account_manager")),
}
SYNONYMS = {
    "contact_type": {"投诉": "complaint", "咨询": "consultation", "建议": "suggestion", "意见": "suggestion",
                     "建议/意见": "suggestion", "故障": "fault", "故障申告": "fault", "申诉": "appeal",
                     "申诉工单": "appeal"},
    "channel": {"10086": "hotline", "热线": "hotline", "10086热线": "hotline", "营业厅": "hall", "服务厅": "hall",
                "沟通100": "hall", "客户经理": "account_manager", "网站": "web", "网上营业厅": "web", "短信": "sms",
                "邮件": "email", "OA邮件": "email", "12300": "regulator", "工信部": "regulator", "管局": "regulator"},
    "status": {"已结案": "closed", "结案": "closed", "已关闭": "closed", "关闭": "closed", "已归档": "closed",
               "归档": "closed", "closed": "closed", "处理中": "open", "未结案": "open", "待处理": "open",
               "受理": "open", "open": "open"},
    "priority": {"低": "low", "一般": "normal", "普通": "normal", "高": "high", "紧急": "urgent", "特急": "urgent"},
    "brand": {"全球通": "gotone", "动感地带": "mzone", "神州行": "szx"},
    "vip_level": {"普通": "none", "无": "none", "银卡": "silver", "金卡": "gold", "钻石卡": "diamond",
                  "银卡VIP": "silver", "金卡VIP": "gold", "钻石卡VIP": "diamond"},
}
# What legacy exports write in a cell that has no value: read as an empty cell in an optional column.
PLACEHOLDERS = frozenset({"-", "--", "—", "——", "n/a", "na", "无", "/"})
# The optional ticket columns where such a placeholder is no value (not the free texts: title, resolution).
TICKET_PLACEHOLDER_FIELDS = ("priority", "customer_name", "status", "closed_at")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                "%Y/%m/%d", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日%H:%M", "%Y年%m月%d日%H:%M:%S",
                "%Y年%m月%d日", "%Y%m%d%H%M%S")
# An Excel serial date (days since 1899-12-30, the fraction the time of day): what a time column formatted as a
# number holds in an XLSX cell or writes to a CSV. Five digits before the point: 1927-05-18 to 2173-10-14, so a
# year, a compact 20261102 or an id is not read as one.
_EXCEL_SERIAL = re.compile(r"[1-9]\d{4}(?:\.\d+)?")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30, tzinfo=SHANGHAI)


@dataclass
class RowError:
    row: int  # the line of the file (the header is line 1, or the line below a title)
    column: str
    message: str


@dataclass
class ImportResult:
    rows: int = 0
    valid: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0  # already imported (same external id)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0  # problems (a row can have several)
    error_rows: int = 0  # rows with at least one problem
    dry_run: bool = False
    applied: bool = False
    encoding: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step of the bulk write (benchmarks)

    def add_error(self, row: int, column: str, message: Any) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, column, str(message)))


# --- reading -------------------------------------------------------------------------------------------


class UnreadableFile(Exception):
    """The file cannot be read from `line` on: bytes that are not text in its encoding, a broken workbook, a CSV
    field longer than the csv module's limit. Reported as that line's error; nothing is imported."""

    def __init__(self, line: int, message: Any) -> None:
        super().__init__(str(message))
        self.line, self.message = line, message


ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GBK / GB18030", "utf-16-le": "UTF-16",
                  "utf-16-be": "UTF-16"}


def detect_encoding(sample: bytes) -> str:
    """utf-16-le / -be for a UTF-16 BOM (Excel's "Unicode text"), utf-8-sig for a UTF-8 BOM, utf-8 when the
    sample decodes as UTF-8 or, with a few bad bytes, has more well-formed UTF-8 characters than bad bytes (GBK
    text has almost none: its trail bytes are rarely UTF-8 continuation bytes), else GB18030 (a superset of GBK)."""
    if sample.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"  # the BOM is read as U+FEFF and stripped from the header, as for utf-8-sig
    if sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if len(sample) >= SAMPLE_BYTES and exc.reason == "unexpected end of data":
            return "utf-8"  # a character cut by the end of the sample
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if len(text) - text.count("\ufffd") - len(text.encode("ascii", errors="ignore")) > bad:
        return "utf-8"  # UTF-8 with a few bad bytes: reported on their lines when read
    return "gb18030"


def _is_xlsx(head: bytes, name: str) -> bool:
    return head.startswith(b"PK\x03\x04") or name.lower().endswith((".xlsx", ".xlsm"))


def _undecodable(line: int, encoding: str, exc: UnicodeDecodeError) -> UnreadableFile:
    bad = exc.object[exc.start:max(exc.end, exc.start + 1)][:8]
    return UnreadableFile(line, _("This line is not %(encoding)s text (bytes %(bytes)s). Save the file as CSV in "
                                  "UTF-8 or GBK, or as XLSX, and import it again.")
                          % {"encoding": ENCODING_NAMES.get(encoding, encoding), "bytes": bad.hex(" ").upper()})


def _csv_error(line: int, exc: csv.Error) -> UnreadableFile:
    if "field larger than field limit" in str(exc):
        return UnreadableFile(line, _("A cell is longer than %(limit)d characters: is a quotation mark not closed?")
                              % {"limit": csv.field_size_limit()})
    return UnreadableFile(line, _("This line cannot be read as CSV (%(error)s).") % {"error": exc})


def _nul(line: int) -> UnreadableFile:
    """A NUL character (byte 00, as some legacy exports pad cells): Python 3.11's csv reads it (older ones refused
    the line), and PostgreSQL would refuse the whole write; reported on its line as bytes that are not text."""
    return UnreadableFile(line, _("This line contains a NUL character (byte 00), which is not text. Remove it (save "
                                  "the file as CSV or XLSX again from Excel) and import it again."))


def _text_lines(handle: IO[bytes], encoding: str) -> Iterator[str]:
    """The file's lines, each with its "\\n", for an encoding whose line feed is not the single byte b"\\n"
    (UTF-16), where splitting the bytes before decoding would cut characters."""
    decoder = codecs.getincrementaldecoder(encoding)()
    pending, line = "", 1  # the start of line `line`, not yet complete
    while True:
        block = handle.read(1 << 16)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            before = exc.object[:exc.start].decode(encoding, errors="replace")
            raise _undecodable(line + before.count("\n"), encoding, exc) from None
        parts = (pending + text).split("\n")
        for part in parts[:-1]:
            yield part + "\n"
            line += 1
        pending = parts[-1]
        if not block:
            if pending:
                yield pending
            return


def _delimiter(head: bytes, encoding: str) -> str:
    """A tab when the header line (the first that is not blank) has more tabs than commas (Excel's "Unicode text" and
    other TSV files)."""
    lines = head.decode(encoding, errors="replace").split("\n")
    first = next((line for line in lines if line.strip().lstrip("\ufeff").strip()), "")
    return "\t" if first.count("\t") > first.count(",") else ","


def read_table(handle: IO[bytes], name: str = "", fields: Fields | None = None, mapping: Mapping | None = None,
               ) -> tuple[Header, Iterator[tuple[int, list[Any]]], str]:
    """(header, rows as (line number, cells), encoding or "xlsx") of a CSV or XLSX file, read lazily; the header is
    found below any title lines (`_find_header`, by the columns of `fields` and the headers `mapping` names).
    Raises UnreadableFile, here or while the rows are read, for a file that cannot be read from some line on."""
    head = handle.read(SAMPLE_BYTES)
    handle.seek(0)
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE2 compound file: Excel 97-2003
        raise UnreadableFile(1, _("Excel 97-2003 workbooks (.xls) cannot be read: save the file as XLSX or CSV."))
    if _is_xlsx(head, name):
        return _read_xlsx(handle, fields, mapping)
    encoding = detect_encoding(head)
    delimiter = _delimiter(head, encoding)
    if encoding.startswith("utf-16"):
        lines: Iterator[str] = _text_lines(handle, encoding)
    else:
        # Lines are split on b"\n" before decoding: safe for UTF-8 and GBK, whose multi-byte characters never
        # contain that byte. (A TextIOWrapper would close the caller's file when it is collected.)
        lines = codecs.iterdecode(handle, encoding)
    reader = csv.reader(lines, delimiter=delimiter)
    header: list[str] = []
    try:
        for row in reader:  # blank lines above the first one with a value are skipped, as those below it are
            header = [c.strip().lstrip("\ufeff") for c in row]
            if any(c.strip() for c in header):
                break
    except UnicodeDecodeError as exc:  # from iterdecode: the line after the last one read (_text_lines raises
        raise _undecodable(reader.line_num + 1, encoding, exc) from None  # UnreadableFile itself)
    except csv.Error as exc:
        raise _csv_error(max(reader.line_num, 1), exc) from None
    if not any(c.strip() for c in header):
        raise _no_header()
    first_line = reader.line_num
    if "\x00" in "".join(header):
        raise _nul(first_line)

    def csv_rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for row in reader:
                if any(c.strip() for c in row):
                    if "\x00" in "".join(row):
                        raise _nul(reader.line_num)
                    yield reader.line_num, row
        except UnicodeDecodeError as exc:  # raised while the reader fetched the line after line_num
            raise _undecodable(reader.line_num + 1, encoding, exc) from None
        except csv.Error as exc:  # raised while parsing line line_num
            raise _csv_error(reader.line_num, exc) from None

    header, rows = _find_header(header, csv_rows(), lambda row: [c.strip().lstrip("\ufeff") for c in row], fields,
                                mapping, first_line)
    return header, rows, encoding


HEADER_LOOKAHEAD = 20  # lines below the first one searched for the header (titles, notes, export times ...)


class Header(list[str]):
    """A file's header cells, and where it was found: `line` (1 unless title lines were skipped), `checked` (the
    last line looked at for it) and `recognised` (whether it names a column of the fields, or one the mapping
    names, rather than being a guess)."""

    line: int = 1
    checked: int = 1
    recognised: bool = False

    @classmethod
    def at(cls, cells: list[str], line: int, checked: int, recognised: bool) -> Header:
        header = cls(cells)
        header.line, header.checked, header.recognised = line, checked, recognised
        return header


def _known_names(fields: Fields | None, mapping: Mapping | None) -> set[str]:
    """The headers that name a column: the fields' usual headers and labels, and the headers a mapping names."""
    names: set[str] = set()
    for label, _required, synonyms in (fields or {}).values():
        names.update(n.strip().lower() for n in (*synonyms, *_field_names(label)))
    names.update(v.strip().lower() for v in (mapping or {}).values() if isinstance(v, str) and v.strip())
    names.discard("")
    return names


def _find_header(first: list[str], rows: Iterator[tuple[int, list[Any]]], cells: Callable[[list[Any]], list[str]],
                 fields: Fields | None = None, mapping: Mapping | None = None, first_line: int = 1,
                 ) -> tuple[Header, Iterator[tuple[int, list[Any]]]]:
    """Many legacy exports put lines above the header: a title ("江门移动投诉工单明细（2026年11月）" in A1, often
    merged across), an export time, the query's conditions, blank lines. The header is the first of the first
    line and the `HEADER_LOOKAHEAD` non-blank lines below it that names the columns: at least two cells (one, in a
    line of one cell) that are usual headers of `fields` or headers the mapping names. When none does (headers of
    the file's own, mapped by position), the earlier rule: a first line with one cell filled, followed by a line
    with several, is a title and that line the header; else the first line. `first_line`: the file's line of `first`
    (the first that is not blank). Returns (header, the rows after it)."""
    known = _known_names(fields, mapping)

    def names_columns(line_cells: list[str]) -> bool:
        filled = [c.strip().lower() for c in line_cells if c and c.strip()]
        return bool(filled) and sum(1 for c in filled if c in known) >= min(2, len(filled))

    if known and any(c.strip().lower() in known for c in first if c):  # the usual case: the first line
        return Header.at(first, first_line, first_line, True), rows
    seen: list[tuple[int, list[Any]]] = []
    for line, row in rows:
        seen.append((line, row))
        if known and names_columns(cells(row)):
            return Header.at(cells(row), line, line, True), rows
        if len(seen) >= HEADER_LOOKAHEAD:
            break
    checked = seen[-1][0] if seen else first_line
    if sum(1 for c in first if c) == 1:  # a title, then the first line with several cells
        for index, (line, row) in enumerate(seen):
            if sum(1 for c in cells(row) if c) >= 2:
                return Header.at(cells(row), line, checked, False), itertools.chain(seen[index + 1:], rows)
    return Header.at(first, first_line, checked, False), itertools.chain(seen, rows)  # the first line is the header


def _no_header() -> UnreadableFile:
    """An empty file (or sheet), or one of blank lines only: nothing says which column is which (the mapping form
    would offer no column, and every field be reported as unmapped)."""
    return UnreadableFile(1, _("The file is empty: it has no line with the column names (the header)."))


def _read_xlsx(handle: IO[bytes], fields: Fields | None = None, mapping: Mapping | None = None,
               ) -> tuple[Header, Iterator[tuple[int, list[Any]]], str]:
    def broken(line: int) -> UnreadableFile:
        return UnreadableFile(line, _("The file is not a readable XLSX workbook from this line on: open it in Excel, "
                                      "save it again as XLSX and import it again."))

    first_line = 0  # the line of the header, once found
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        # The sheet's stated size (<dimension ref="A1:C2"/>) is stale in files some tools write, and read-only
        # openpyxl would cut every row and column beyond it without a word: read what the sheet holds.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        header: list[str] = []
        for cells in rows:  # blank rows above the first with a value are skipped
            first_line += 1
            header = [str(c).strip() if c is not None else "" for c in cells]
            if any(header):
                break
    except Exception:  # whatever a damaged zip or XML makes openpyxl raise (BadZipFile, KeyError ...)
        raise broken(first_line + 1) from None
    if not any(header):
        workbook.close()
        raise _no_header()

    def xlsx_rows() -> Iterator[tuple[int, list[Any]]]:
        number = first_line
        try:
            for number, row in enumerate(rows, start=first_line + 1):
                if any(c not in (None, "") for c in row):
                    yield number, list(row)
        except Exception:  # a damaged sheet part: the line after the last one read
            raise broken(number + 1) from None
        finally:
            workbook.close()

    found, data = _find_header(header, xlsx_rows(), lambda row: [str(c).strip() if c is not None else "" for c in row],
                               fields, mapping, first_line)
    return found, data, "xlsx"
Fields = dict[str, tuple[Any, bool, tuple[str, ...]]]
Mapping = dict[str, str | int | None]
Progress = Callable[[str, int], None]  # (step, rows so far): see import_tickets
PREVIEW_ROWS = 5


def _field_names(label: Any) -> list[str]:
    """A field's label in both languages: a header that is the label itself is recognised too."""
    names = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            names.append(str(label))
    return names


def guess_columns(header: list[str], fields: Fields, among: list[int] | None = None) -> dict[str, int]:
    """Field -> column position, from the usual legacy headers (and the field's own label, in Chinese or
    English), among the columns `among` (default: all); a column is given to one field at most, the first
    that names it."""
    positions: dict[str, int] = {}
    for i in range(len(header)) if among is None else among:
        positions.setdefault(header[i].strip().lower(), i)
    columns: dict[str, int] = {}
    taken: set[int] = set()
    for name, (label, _required, synonyms) in fields.items():
        for candidate in (*synonyms, *_field_names(label)):
            position = positions.get(candidate.strip().lower())
            if position is not None and position not in taken:
                columns[name] = position
                taken.add(position)
                break
    return columns


def column_name(header: list[str], position: int) -> str:
    """How a column is named to the user: its header, or its position (1-based) when the header cell is empty."""
    text = header[position].strip() if position < len(header) else ""
    return text or str(_("column %(number)d") % {"number": position + 1})


def check_mapping(header: list[str], fields: Fields, mapping: Mapping | None) -> tuple[dict[str, int], dict[str, str]]:
    """(field -> column position, field -> problem) for a mapping of fields to the file's columns.

    A mapped value is a header (case and surrounding spaces ignored) or a 0-based position (int); a field
    mapped to None or "" is explicitly not imported; a field the mapping does not name is guessed from the
    usual headers. Problems: a field that is not one of `fields`, a column that is not in the file, a column
    chosen for two fields, a required field with no column. `mapping=None`: guesses only."""
    mapping = mapping or {}
    problems: dict[str, str] = {}
    for name in mapping:
        if name not in fields:
            problems[name] = str(_("There is no field “%(field)s” (fields: %(names)s).")
                                 % {"field": name, "names": ", ".join(fields)})
    positions: dict[str, int] = {}
    for i, text in enumerate(header):
        positions.setdefault(text.strip().lower(), i)
    columns: dict[str, int] = {}
    for name, value in mapping.items():
        if name not in fields or value is None or (isinstance(value, str) and not value.strip()):
            continue
        position = value if isinstance(value, int) else positions.get(value.strip().lower())
        if position is None or not 0 <= position < len(header):
            problems[name] = str(_("The file has no column “%(column)s”.") % {"column": value})
        else:
            columns[name] = position
    # The fields the mapping leaves out: guessed among the columns it does not take.
    free = [i for i in range(len(header)) if i not in columns.values()]
    guessed = guess_columns(header, {n: spec for n, spec in fields.items() if n not in mapping}, free)
    columns.update(guessed)
    for name, (label, required, synonyms) in fields.items():
        if not required or name in columns or name in problems:
            continue
        if name in mapping:
            problems[name] = str(_("“%(field)s” is required: choose its column.") % {"field": label})
        else:
            problems[name] = str(_("Choose the column of “%(field)s” (the usual headers: %(names)s).")
                                 % {"field": label, "names": ", ".join(synonyms[:-1] or synonyms)})
    by_column: dict[int, list[str]] = {}
    for name, position in columns.items():
        by_column.setdefault(position, []).append(name)
    for position, names in by_column.items():
        if len(names) > 1:
            for name in names:
                others = ", ".join(str(fields[o][0]) for o in names if o != name)
                problems[name] = str(_("Column “%(column)s” is also chosen for “%(fields)s”: a column goes to one "
                                       "field.") % {"column": column_name(header, position), "fields": others})
    return {n: p for n, p in columns.items() if n not in problems}, problems


def resolve_columns(header: list[str], fields: Fields, mapping: Mapping | None, result: ImportResult) -> dict[str, int]:
    """Field -> column index (see `check_mapping`); every problem of the mapping is an error on the header's line.
    When a required column is missing and no line looked at named the usual columns, an error says which lines
    were searched for the header and which one was taken."""
    columns, problems = check_mapping(header, fields, mapping)
    line = getattr(header, "line", 1)
    missing = any(required and name not in columns for name, (_label, required, _s) in fields.items())
    if missing and not getattr(header, "recognised", True):
        result.add_error(line, "", header_not_found(header, fields))
    for name, problem in problems.items():
        result.add_error(line, str(fields[name][0]) if name in fields else name, problem)
    return columns


def header_not_found(header: list[str], fields: Fields) -> str:
    """The problem of a file whose header was not recognised: the lines searched, the line taken, the usual headers."""
    usual = "、".join(synonyms[0] for _label, required, synonyms in fields.values() if required)
    return str(_("No line among lines 1–%(last)d names the usual columns (%(usual)s), so line %(line)d was taken as "
                 "the header. Delete the lines above the header, or choose each field's column.")
               % {"last": getattr(header, "checked", 1), "usual": usual, "line": getattr(header, "line", 1)})


@dataclass
class Preview:
    """What the mapping form shows of a file: its header, its first rows, and the guessed column of each field."""
    header: list[str]
    rows: list[list[str]]
    encoding: str
    guess: dict[str, int]


def preview(source: str | Path | IO[bytes], fields: Fields, name: str = "", rows: int = PREVIEW_ROWS) -> Preview:
    """The header and the first `rows` rows of a CSV / XLSX file (raises UnreadableFile)."""
    handle = _open(source)
    try:
        header, lines, encoding = read_table(handle, name or str(getattr(source, "name", source)), fields)
        sample = []
        for _line, row in lines:
            sample.append([_text(c) for c in row])
            if len(sample) >= rows:
                break
        close = getattr(lines, "close", None)
        if close is not None:
            close()  # an XLSX reader closes its workbook
        return Preview(header, sample, encoding, guess_columns(header, fields))
    finally:
        if isinstance(source, str | Path):
            handle.close()


# --- values --------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# The common shape ("2026-10-05 09:30[:00]", "-" or "/") read without strptime (several times faster); anything
# else goes through DATE_FORMATS. Out-of-range parts (month 13) raise ValueError in both and are reported.
# Seconds may have a fraction (what databases export: 09:30:15.123, up to microseconds).
_QUICK_DATETIME = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?")


def parse_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=SHANGHAI)
    text = _text(value)
    if value.__class__ in (int, float) or _EXCEL_SERIAL.fullmatch(text):
        serial = float(value) if value.__class__ in (int, float) else float(text)
        if not 10000 <= serial < 100000:
            return None
        return _EXCEL_EPOCH + dt.timedelta(seconds=round(serial * 86400))  # to the second
    quick = _QUICK_DATETIME.fullmatch(text)
    if quick:
        y, mo, d, h, mi, sec, _fraction = quick.groups()  # to the second, as every time of a work order is
        try:
            return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0), tzinfo=SHANGHAI)
        except ValueError:
            return None
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    if len(text) > 16 and text[10] in "T ":
        # ISO 8601 with its offset, as systems export times: 2026-10-05T09:30:00+08:00, ...Z (to the second).
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return (parsed.replace(tzinfo=SHANGHAI) if parsed.tzinfo is None else parsed).replace(microsecond=0)
    return None


def _choice_lookup(name: str, choices: Any) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for value, label in choices.choices:
                lookup[str(label).lower()] = value
                lookup[value.lower()] = value
    lookup.update({k.lower(): v for k, v in SYNONYMS.get(name, {}).items()})
    return lookup


_SPACES = re.compile(r"\s+")


def _category_key(text: str) -> str:
    """How a category's code, name or path is compared: case and every space ignored (" 基础通信 > 信号覆盖 ",
    "No indoor signal" = "noindoorsignal")."""
    return _SPACES.sub("", text).lower()


class _Categories:
    """Category by code, by its path of names (基础通信>信号覆盖>室内无信号 or with / or -), or by a unique name; names
    and paths in Chinese or English (the category's English name), case and spaces ignored."""

    def __init__(self) -> None:
        cats = list(Category.objects.filter(is_active=True))
        by_id = {c.pk: c for c in cats}
        self.lookup: dict[str, Category | None] = {}
        for c in cats:
            self.lookup[_category_key(c.code)] = c
        for c in cats:
            ancestors = [by_id[i] for i in c.ancestor_ids() if i in by_id]
            for names in ([a.name for a in ancestors], [a.name_en or a.name for a in ancestors]):
                for sep in (">", "/", "-", "›"):
                    self.lookup.setdefault(_category_key(sep.join(names)), c)
        for c in cats:  # a name alone: only when no other category has that name (or path, or code)
            for name in {c.name, c.name_en} - {""}:
                key = _category_key(name)
                self.lookup[key] = c if self.lookup.get(key, c) is c else None

    def get(self, text: str) -> Category | None:
        return self.lookup.get(_category_key(text))


# --- tickets -------------------------------------------------------------------------------------------


@dataclass
class _TicketRow:
    line: int
    external_id: str
    created_at: dt.datetime
    msisdn: str
    contact_type: str
    category: Category
    channel: str
    description: str
    title: str
    priority: str
    customer_name: str
    closed_at: dt.datetime | None = None
    resolution: str = ""


class _TicketValidator:
    def __init__(self, columns: dict[str, int], result: ImportResult, now: dt.datetime) -> None:
        self.columns, self.result, self.now = columns, result, now
        self.categories = _Categories()
        self.contact_types = _choice_lookup("contact_type", ContactType)
        self.channels = _choice_lookup("channel", Channel)
        self.priorities = _choice_lookup("priority", Priority)
        self.seen: dict[str, int] = {}  # external id -> first line
        self.statuses = {k.lower(): v for k, v in SYNONYMS["status"].items()}
        self.first: dt.datetime | None = None  # the earliest and latest registration time of the valid rows
        self.last: dt.datetime | None = None
        # (field, column) of the mapped fields, and every field's empty text: a row's cells are read in one loop.
        self.slots = [(name, columns[name]) for name in TICKET_FIELDS if name in columns]
        self.empty = dict.fromkeys(TICKET_FIELDS, "")
        self.required = [name for name, (_label, required, _syn) in TICKET_FIELDS.items() if required]

    def cell(self, row: list[Any], name: str) -> Any:
        index = self.columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    def validate(self, line: int, row: list[Any]) -> _TicketRow | None:
        errors_before = self.result.error_count

        def error(name: str, message: Any) -> None:
            self.result.add_error(line, str(TICKET_FIELDS[name][0]), message)

        values = self.empty.copy()
        width = len(row)
        for name, index in self.slots:
            if index < width:
                value = row[index]
                values[name] = value.strip() if value.__class__ is str else _text(value)  # CSV cells are str
        for name in TICKET_PLACEHOLDER_FIELDS:  # "-", "N/A", 无 ... as legacy exports write for no value
            if values[name] and values[name].lower() in PLACEHOLDERS:
                values[name] = ""
        for name in self.required:
            if not values[name]:
                error(name, _("This field is required."))
        external_id = values["external_id"]
        if len(external_id) > 64:
            error("external_id", _("At most %(limit)d characters.") % {"limit": 64})
        elif external_id in self.seen:
            error("external_id", _("External id %(id)s is also in line %(line)d.")
                  % {"id": external_id, "line": self.seen[external_id]})
        elif external_id:
            self.seen[external_id] = line
        created_at = parse_datetime(self.cell(row, "created_at")) if values["created_at"] else None
        if values["created_at"] and created_at is None:
            error("created_at", _("“%(value)s” is not a date and time (e.g. 2026-11-02 09:30).")
                  % {"value": values["created_at"]})
        elif created_at is not None and created_at > self.now:
            error("created_at", _("The time is in the future."))
        msisdn = values["msisdn"]
        if not (len(msisdn) == 11 and ascii_digits(msisdn)):  # else already normal
            msisdn = normalize_msisdn(msisdn)
        if values["msisdn"]:
            try:
                validate_msisdn(msisdn)
            except ValidationError as exc:
                error("msisdn", exc.messages[0])
        contact_type = self.contact_types.get(values["contact_type"].lower())
        if values["contact_type"] and contact_type is None:
            error("contact_type", _("Unknown contact type “%(value)s”.") % {"value": values["contact_type"]})
        category = self.categories.get(values["category"]) if values["category"] else None
        if values["category"] and category is None:
            error("category", _("Unknown category “%(value)s”.") % {"value": values["category"]})
        channel = self.channels.get(values["channel"].lower())
        if values["channel"] and channel is None:
            error("channel", _("Unknown channel “%(value)s”.") % {"value": values["channel"]})
        priority = self.priorities.get(values["priority"].lower(), None) if values["priority"] else Priority.NORMAL
        if priority is None:
            error("priority", _("Unknown priority “%(value)s”.") % {"value": values["priority"]})
        if len(values["description"]) > MAX_DESCRIPTION:
            error("description", _("At most %(limit)d characters.") % {"limit": MAX_DESCRIPTION})
        if len(values["title"]) > MAX_TITLE:
            error("title", _("At most %(limit)d characters.") % {"limit": MAX_TITLE})
        if len(values["customer_name"]) > MAX_NAME:  # was cut without a word
            error("customer_name", _("At most %(limit)d characters.") % {"limit": MAX_NAME})
        status = (self.statuses.get(values["status"].lower(), None) if values["status"]
                  else "closed" if values["closed_at"] else "open")
        if status is None:
            error("status", _("Unknown status “%(value)s”.") % {"value": values["status"]})
        closed_at = parse_datetime(self.cell(row, "closed_at")) if values["closed_at"] else None
        if values["closed_at"] and closed_at is None:
            error("closed_at", _("“%(value)s” is not a date and time (e.g. 2026-11-02 09:30).")
                  % {"value": values["closed_at"]})
        elif status == "closed" and closed_at is None:
            error("closed_at", _("A closed work order needs its closing time."))
        elif status == "open" and closed_at is not None:
            # One of the two is wrong: imported open, the closing time would be dropped without a word.
            error("closed_at", _("The status “%(value)s” is not closed, but the work order has a closing time.")
                  % {"value": values["status"]})
        elif closed_at is not None and created_at is not None and closed_at < created_at:
            error("closed_at", _("The work order cannot be closed before it was registered."))
        elif closed_at is not None and closed_at > self.now:
            error("closed_at", _("The time is in the future."))
        if status == "closed" and not values["resolution"]:
            error("resolution", _("Record how the problem was solved."))
        elif len(values["resolution"]) > MAX_DESCRIPTION:
            error("resolution", _("At most %(limit)d characters.") % {"limit": MAX_DESCRIPTION})
        if self.result.error_count != errors_before:
            self.result.error_rows += 1
            return None
        assert created_at is not None and category is not None and contact_type and channel and priority
        self.first = created_at if self.first is None else min(self.first, created_at)
        self.last = created_at if self.last is None else max(self.last, created_at)
        return _TicketRow(line, external_id, created_at, msisdn, contact_type, category, channel,
                          values["description"], values["title"], priority, values["customer_name"],
                          closed_at if status == "closed" else None,
                          values["resolution"] if status == "closed" else "")


def _chunks(rows: Iterator[tuple[int, list[Any]]], size: int = CHUNK) -> Iterator[list[tuple[int, list[Any]]]]:
    chunk: list[tuple[int, list[Any]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Spill:
    """The rows that passed validation, pickled to a temporary file a batch at a time, so that the write reads
    them back (a few microseconds a row) instead of reading, decoding and validating the file a second time."""

    def __init__(self, batch_size: int) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close(), in the import's finally
        self.batch_size = max(1, batch_size)
        self.pending: list[tuple[Any, ...]] = []
        self.categories: dict[int, Category] = {}

    @staticmethod
    def compact(item: _TicketRow) -> tuple[Any, ...]:
        """A validated row as plain values (its category by id), as it is pickled."""
        return (item.line, item.external_id, item.created_at, item.msisdn, item.contact_type, item.category.pk,
                item.channel, item.description, item.title, item.priority, item.customer_name, item.closed_at,
                item.resolution)

    @staticmethod
    def expand(rows: list[tuple[Any, ...]], categories: dict[int, Category]) -> list[_TicketRow]:
        """The rows back from their compact form."""
        return [_TicketRow(r[0], r[1], r[2], r[3], r[4], categories[r[5]], *r[6:]) for r in rows]

    def add(self, item: _TicketRow) -> None:
        self.categories[item.category.pk] = item.category
        self.pending.append(self.compact(item))
        if len(self.pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            pickle.dump(self.pending, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self.pending = []

    def batches(self) -> Iterator[list[_TicketRow]]:
        self._flush()
        self.file.seek(0)
        categories = self.categories
        while True:
            try:
                rows = pickle.load(self.file)  # noqa: S301 - our own temporary file, written just before
            except EOFError:
                return
            yield self.expand(rows, categories)

    def close(self) -> None:
        self.file.close()


def _open(source: str | Path | IO[bytes]) -> IO[bytes]:
    if isinstance(source, str | Path):
        return open(source, "rb")  # closed by the caller
    source.seek(0)
    return source


PARALLEL_MIN_BYTES = 4 << 20  # from this size a file is validated in a forked process while the write goes on


def _can_fork(asked: bool) -> bool:
    """A forked child can be used here: the platform forks and this process is not itself a daemonic worker
    process (which may not have children); unless `asked` explicitly, this process also runs one thread only (a
    web server's other threads would be copied mid-request)."""
    return ("fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon
            and (asked or threading.active_count() == 1))


def _parallel_by_default(handle: IO[bytes]) -> bool:
    try:
        return os.fstat(handle.fileno()).st_size >= PARALLEL_MIN_BYTES
    except (AttributeError, OSError):  # an in-memory file (io.UnsupportedOperation is an OSError)
        return False


class _ValidatingChild:
    """The validation pass in a forked child process, while this process writes what it has validated so far.

    The child inherits the open file (read on from the line after the header, which this process read) and the
    validator (categories and choices read from the database before the fork); it never uses the database. It
    sends the rows that pass, a batch at a time, in the spill file's compact form; a notice at the first row in
    error; and at the end its counts and errors. This process writes
    each batch as it arrives (`batches`), and, all-or-nothing, stops writing at the first error notice and
    rolls the import back once the child has reported every error (`_Abort`). The rows already imported are
    skipped inside the write's transaction (`recheck`), not by the child. So the validation (a fifth of a
    1 M-row import) overlaps the write instead of preceding it; the result is the same as validating first.
    """

    def __init__(self, validator: _TicketValidator, rows: Iterator[tuple[int, list[Any]]], batch_size: int,
                 all_or_nothing: bool) -> None:
        self.categories = {c.pk: c for c in validator.categories.lookup.values() if c is not None}
        self.all_or_nothing = all_or_nothing
        self.waited = 0.0
        self.finished = False  # the child has sent its counts
        context = multiprocessing.get_context("fork")
        self.receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=self._validate, args=(validator, rows, max(1, batch_size), sender),
                                       daemon=True)
        # Every object so far goes to the collector's permanent generation until the child has ended: a
        # collection in the child would otherwise write to each inherited object and so copy its page.
        gc.collect()
        gc.freeze()
        try:
            self.process.start()
        except BaseException:
            gc.unfreeze()
            raise
        finally:
            sender.close()

    @staticmethod
    def _validate(validator: _TicketValidator, rows: Iterator[tuple[int, list[Any]]], batch_size: int,
                  sender: Any) -> None:
        """In the child: validate every row; send the valid ones a batch at a time, then the counts."""
        result = validator.result
        started = time.perf_counter()
        try:
            pending: list[tuple[Any, ...]] = []
            noticed = False
            for line, row in rows:
                result.rows += 1
                item = validator.validate(line, row)
                if item is not None:
                    result.valid += 1
                    pending.append(_Spill.compact(item))
                    if len(pending) >= batch_size:
                        sender.send(("batch", pending))
                        pending = []
                elif not noticed and result.error_count:
                    sender.send(("error",))
                    noticed = True
            if pending:
                sender.send(("batch", pending))
            unreadable = None
        except UnreadableFile as exc:
            unreadable = (exc.line, "", str(exc.message))
        except BaseException:  # including the writer having gone (a broken pipe): then nobody reads this
            with contextlib.suppress(OSError):
                sender.send(("failed", traceback.format_exc()))
            return
        with contextlib.suppress(OSError):
            sender.send(("done", {"rows": result.rows, "valid": result.valid, "errors": result.errors,
                                  "error_count": result.error_count, "error_rows": result.error_rows,
                                  "unreadable": unreadable,
                                  "seconds": time.perf_counter() - started}))

    def _receive(self) -> tuple[Any, ...]:
        started = time.perf_counter()
        try:
            return self.receiver.recv()  # type: ignore[no-any-return]
        except EOFError:
            self.process.join(timeout=10)
            raise RuntimeError(f"the validating process ended early (exit {self.process.exitcode})") from None
        finally:
            self.waited += time.perf_counter() - started

    def batches(self, result: ImportResult) -> Iterator[list[_TicketRow]]:
        """The validated rows as they come; at the end the child's counts and errors go into `result`, and
        `_Abort` is raised when nothing is to be kept (an error, all-or-nothing; an unreadable line; no row)."""
        stopped = False
        while True:
            message = self._receive()
            if message[0] == "batch":
                if not stopped:
                    yield _Spill.expand(message[1], self.categories)
            elif message[0] == "error":
                stopped = stopped or self.all_or_nothing  # the rest is still validated, for the report
            elif message[0] == "done":
                self.finished = True
                break
            else:
                raise RuntimeError(f"the validating process failed:\n{message[1]}")
        counts = message[1]
        result.rows += counts["rows"]
        result.valid += counts["valid"]  # less the rows `recheck` found imported already
        result.errors[:0] = counts["errors"]
        result.error_count += counts["error_count"]
        result.error_rows += counts["error_rows"]
        result.seconds["validation (in parallel)"] = counts["seconds"]
        result.seconds["waiting for validated rows"] = self.waited
        if counts["unreadable"] is not None:  # nothing is imported, even with all_or_nothing off
            result.add_error(*counts["unreadable"])
            raise _Abort
        if (self.all_or_nothing and result.error_count) or result.valid <= 0:
            raise _Abort

    def close(self) -> None:
        """End the child: it has finished, or the write failed and what it validates is not wanted."""
        self.receiver.close()
        if not self.finished:
            self.process.kill()
        self.process.join(timeout=60)
        gc.unfreeze()


def import_tickets(
    *, acting_user: Any, source: str | Path | IO[bytes], name: str = "", mapping: Mapping | None = None,
    system: str = "legacy", dry_run: bool = False, all_or_nothing: bool = True, now: dt.datetime | None = None,
    bulk: bool = True, batch_size: int = BULK_BATCH, parallel: bool | None = None, progress: Progress | None = None,
) -> ImportResult:
    """Import legacy work orders from a CSV / XLSX file (see the module docstring). `bulk=False` runs every row
    through the services instead of the bulk writer (slow; the reference the bulk path is tested against).
    `parallel`: validate in a forked process while this one writes (`_ValidatingChild`); None: for files of
    `PARALLEL_MIN_BYTES` or more, where it can. `progress(step, rows)`, when given, is told how far it got
    ("check": rows validated; "write": work orders written) after each chunk or batch."""
    if not policy.can_create(acting_user):
        raise PermissionDeniedError(_("You may not register work orders."))
    if acting_user.unit is None:
        raise PermissionDeniedError(_("Your account belongs to no unit; ask an administrator."))
    system = (system or "legacy").strip()[:32]
    result = ImportResult(dry_run=dry_run)
    now = now or timezone.now()
    name = name or str(getattr(source, "name", source))
    def opened(handle: IO[bytes]) -> tuple[_TicketValidator, Iterator[tuple[int, list[Any]]]] | None:
        """The validator for the file's columns and its rows still to read; None when the columns are wrong (the
        problems recorded). Raises UnreadableFile."""
        header, rows, result.encoding = read_table(handle, name, TICKET_FIELDS, mapping)
        columns = resolve_columns(header, TICKET_FIELDS, mapping, result)
        if result.error_count:
            return None
        return _TicketValidator(columns, result, now), rows

    def valid_rows(validator: _TicketValidator, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[_TicketRow]:
        """Pass over the file: every row validated, errors recorded; yields rows still to import."""
        for chunk in _chunks(rows):
            checked = []
            for line, row in chunk:
                result.rows += 1
                item = validator.validate(line, row)
                if item is not None:
                    checked.append(item)
            if progress is not None:
                progress("check", result.rows)
            done = _imported(system, [i.external_id for i in checked])
            for item in checked:
                if item.external_id in done:
                    result.skipped += 1
                else:
                    result.valid += 1
                    yield item

    def recheck(batch: list[_TicketRow]) -> list[_TicketRow]:
        """The batch less the rows another import wrote meanwhile (looked up again inside the write's
        transaction: skipped, as on a second run of the file)."""
        started = time.perf_counter()
        done = _imported(system, [i.external_id for i in batch])
        if done:
            result.skipped += len([i for i in batch if i.external_id in done])
            batch = [i for i in batch if i.external_id not in done]
            result.valid -= len(done)
        looked_up[0] += time.perf_counter() - started
        return batch

    def spilled(spill: _Spill) -> Iterator[list[_TicketRow]]:
        """The validated rows again, a batch at a time."""
        started = time.perf_counter()
        for batch in spill.batches():
            reading_back[0] += time.perf_counter() - started
            yield recheck(batch)
            started = time.perf_counter()

    handle = _open(source)
    asked = parallel is not None
    if parallel is None:
        parallel = _parallel_by_default(handle)
    parallel = parallel and bulk and not dry_run and _can_fork(asked)
    spill = None if dry_run or parallel else _Spill(batch_size if bulk else CHUNK)
    child: _ValidatingChild | None = None
    reading_back = [0.0]  # seconds spent reading the validated rows back from the spill file
    looked_up = [0.0]  # and looking their external ids up again
    try:
        started = time.perf_counter()
        try:
            start = opened(handle)
            if start is not None and not parallel:
                for item in valid_rows(*start):
                    if spill is not None:
                        spill.add(item)
        except UnreadableFile as exc:  # reported on its line; nothing is imported, even with all_or_nothing off
            result.add_error(exc.line, "", exc.message)
            return result
        if start is None:
            return result
        validator, rows = start
        if parallel:
            child = _ValidatingChild(validator, rows, batch_size, all_or_nothing)
            batches: Iterator[list[_TicketRow]] = (recheck(batch) for batch in child.batches(result))
            first = last = None
        else:
            result.seconds["validation pass"] = time.perf_counter() - started
            _note_empty(result)
            if spill is None or (all_or_nothing and result.error_count) or not result.valid:
                return result
            batches = spilled(spill)
            first, last = validator.first, validator.last
        try:
            with transaction.atomic():
                # Written first: on SQLite this takes the write lock for the whole import.
                run = ImportRun.objects.create(kind="tickets", filename=name[-200:], created_by_id=acting_user.pk,
                                               created_at=timezone.now())
                if bulk:
                    with references_checked_by_batch() as by_batch:
                        _write_bulk(acting_user, batches, result, system, now, first, last, by_batch, progress)
                else:
                    _write_through_services(acting_user, (i for batch in batches for i in batch), result,
                                            system, all_or_nothing)
                run.rows, run.created, run.skipped, run.errors = (result.rows, result.created, result.skipped,
                                                                  result.error_rows)
                run.save(update_fields=["rows", "created", "skipped", "errors"])
                record_audit(acting_user, "reports.import_tickets", run,
                             data={"file": name[-200:], "created": result.created, "system": system})
                result.applied = True
                committing = time.perf_counter()
            # The commit runs the deferred foreign-key checks of every row written (none when the bulk write
            # checked its references a batch at a time).
            result.seconds.update({"reading rows back": reading_back[0], "external ids looked up again": looked_up[0],
                                   "commit": time.perf_counter() - committing})
        except _Abort:
            result.created = 0
            _note_empty(result)
        if result.applied and not bulk:
            rollups.fold_pending()  # the imported tickets are in the figures when the import reports back
        return result
    finally:
        if child is not None:
            child.close()
        if spill is not None:
            spill.close()
        if isinstance(source, str | Path):
            handle.close()


def _note_empty(result: ImportResult) -> None:
    """A file with a header and no rows (or a wrong sheet, or everything filtered out by Excel) is a problem to
    report, not an import of nothing that looks like success."""
    if not result.rows and not result.error_count:
        result.add_error(2, "", _("The file has no rows below its header: there is nothing to import."))


def _imported(system: str, external_ids: list[str]) -> set[str]:
    """Which of these external ids of `system` are imported already."""
    if not external_ids:
        return set()
    if connection.vendor == "postgresql":
        # One index probe per id. The plain `system = %s AND external_id = ANY(%s)` is planned from statistics
        # that know nothing of the rows this import wrote in its own transaction: PostgreSQL then reads every
        # row of the system and filters (250 ms a batch after 1 M rows, growing with each; this: 11 ms).
        table = connection.ops.quote_name(ExternalRef._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT e.external_id FROM unnest(%s::text[]) AS q(id) CROSS JOIN LATERAL "  # noqa: S608 - our table
                f"(SELECT r.external_id FROM {table} r WHERE r.system = %s AND r.external_id = q.id LIMIT 1) AS e",
                [external_ids, system])
            return {row[0] for row in cursor.fetchall()}
    return set(ExternalRef.objects.filter(system=system, external_id__in=external_ids)
               .values_list("external_id", flat=True))


def _write_bulk(acting_user: Any, batches: Iterator[list[_TicketRow]], result: ImportResult, system: str,
                now: dt.datetime, first: dt.datetime | None, last: dt.datetime | None,
                check_references: bool, progress: Progress | None = None) -> None:
    writer = BulkTicketWriter(acting_user=acting_user, system=system, now=now, first=first, last=last,
                              check_references=check_references)
    for batch in batches:
        result.created += writer.write(batch)
        if progress is not None:
            progress("write", result.created)
    writer.finish()
    result.seconds.update(writer.seconds)


def _write_through_services(acting_user: Any, items: Iterator[_TicketRow], result: ImportResult, system: str,
                            all_or_nothing: bool) -> None:
    for item in items:
        try:
            with transaction.atomic():
                _create_ticket(acting_user, item, system)
            result.created += 1
        except DomainError as exc:
            result.error_rows += 1
            for column, messages in getattr(exc, "errors", {"": [str(exc.message)]}).items():
                for message in messages:
                    result.add_error(item.line, column, message)
            if all_or_nothing:
                raise _Abort from None


class _Abort(Exception):
    """A row failed while writing in all-or-nothing mode: roll everything back."""


def _create_ticket(acting_user: Any, item: _TicketRow, system: str) -> None:
    customer = get_or_create_customer(msisdn=item.msisdn, acting_user=acting_user,
                                      defaults={"name": item.customer_name} if item.customer_name else None)
    ticket = do_create_ticket(
        acting_user=acting_user, customer=customer, contact_type=item.contact_type, category=item.category,
        channel=item.channel, description=item.description, title=item.title, priority=item.priority,
        external_refs={system: item.external_id}, now=item.created_at, imported=True,
    )
    if item.closed_at is not None:
        ticket = do_answer_customer(acting_user=acting_user, ticket=ticket, answer=item.resolution,
                                    resolution=item.resolution, now=item.closed_at)
        do_close_ticket(acting_user=acting_user, ticket=ticket, now=item.closed_at)


# --- customers -----------------------------------------------------------------------------------------


class _AccountManagers:
    """The staff a customer import may make a customer's account manager: active users holding the account manager
    role, in a unit of the customer's region; by username, or by name (display name or full name) when it is unique
    among the region's account managers."""

    def __init__(self) -> None:
        self.by_username: dict[str, tuple[int, str]] = {}
        self.by_name: dict[str, list[tuple[int, str]]] = {}
        self.refused: dict[str, Any] = {}
        rows = (User.objects.filter(is_active=True, groups__name=Role.ACCOUNT_MANAGER)
                .values_list("pk", "username", "display_name", "first_name", "last_name", "unit__region").distinct())
        for pk, username, display_name, first, last, unit_region in rows:
            manager = (pk, unit_region or "")
            self.by_username[username.lower()] = manager
            for staff_name in {display_name.strip().lower(), f"{first} {last}".strip().lower(),
                               f"{last}{first}".strip().lower()} - {""}:
                self.by_name.setdefault(staff_name, []).append(manager)

    def _unknown(self, value: str) -> Any:
        """Why no account manager has this username or name (one query per such value of the file)."""
        if value not in self.refused:
            if User.objects.filter(username__iexact=value).exists():
                self.refused[value] = _("“%(value)s” is not an active account manager.") % {"value": value}
            else:
                self.refused[value] = (_("No account manager has the username or name “%(value)s”.")
                                       % {"value": value})
        return self.refused[value]

    def resolve(self, value: str, region: str) -> tuple[int | None, Any]:
        """(the account manager's id, None) or (None, the problem); (None, None) without a region to check
        against (the row's region is in error)."""
        key = value.lower()
        found = self.by_username.get(key)
        candidates = [found] if found is not None else self.by_name.get(key, [])
        if not candidates:
            return None, self._unknown(value)
        if not region:
            return None, None
        mine = {pk for pk, manager_region in candidates if manager_region == region}
        if not mine:
            return None, (_("“%(value)s” is not an account manager of region %(region)s.")
                          % {"value": value, "region": region})
        if len(mine) > 1:
            return None, (_("Several account managers of region %(region)s are named “%(value)s”: give the "
                            "username.") % {"value": value, "region": region})
        return mine.pop(), None


def import_customers(
    *, acting_user: Any, source: str | Path | IO[bytes], name: str = "", mapping: Mapping | None = None,
    dry_run: bool = False, all_or_nothing: bool = True, progress: Progress | None = None,
) -> ImportResult:
    """Import or update customers by mobile number (idempotent: the same file again changes nothing).
    `progress(step, rows)` as for `import_tickets` ("check", then "write": rows read in the writing pass)."""
    if not policy.is_admin(acting_user) and not acting_user.has_role("supervisor"):
        raise PermissionDeniedError(_("Only supervisors and administrators may import customers."))
    result = ImportResult(dry_run=dry_run)
    name = name or str(getattr(source, "name", source))
    unit = acting_user.unit
    # The regions (city companies and the units under them) and their provinces; the regions this user may import
    # into (an administrator or an HQ user: all; a province: its regions; anyone else: the unit's region).
    regional = list(OrgUnit.objects.filter(level__in=(UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM)))
    provinces = {u.region: u.province for u in regional}
    regions = {code.lower(): code for code in provinces}
    for city in regional:  # a region also by its city company's name, as CRM exports write it (江门, 江门分公司)
        if city.level == UnitLevel.CITY:
            for city_name in (city.name, city.name_en, re.sub(r"(市)?(分公司|公司)$", "", city.name)):
                if city_name:
                    regions.setdefault(city_name.lower(), city.region)
    if policy.is_admin(acting_user) or getattr(unit, "level", None) == UnitLevel.HQ:
        allowed = set(provinces)
    elif getattr(unit, "level", None) == UnitLevel.PROVINCE:
        allowed = {code for code, province in provinces.items() if province == unit.province}
    else:
        allowed = {unit.region} if unit is not None and unit.region in provinces else set()
    own_region = unit.region if unit is not None and unit.region in provinces else ""
    branches: dict[str, list[OrgUnit]] = {}  # a unit by name (several cities have a 客户服务中心) or code
    for branch in regional:
        for key in {branch.name.lower(), branch.code.lower()}:
            branches.setdefault(key, []).append(branch)
    brands, vips = _choice_lookup("brand", Brand), _choice_lookup("vip_level", VipLevel)
    branch_regions = {branch.pk: branch.region for branch in regional}
    managers = _AccountManagers()

    def parse(handle: IO[bytes]) -> Iterator[list[tuple[int, dict[str, Any]]]]:
        header, rows, result.encoding = read_table(handle, name, CUSTOMER_FIELDS, mapping)
        columns = resolve_columns(header, CUSTOMER_FIELDS, mapping, result)
        if result.error_count:
            return
        seen: dict[str, int] = {}
        for chunk in _chunks(rows):
            good = []
            # The regions of the chunk's customers already known: one outside the user's regions is not theirs to
            # change.
            numbers = [normalize_msisdn(_text(row[columns["msisdn"]])) for _l, row in chunk
                       if "msisdn" in columns and columns["msisdn"] < len(row)]
            known = dict(Customer.objects.filter(msisdn__in=numbers).values_list("msisdn", "region"))
            for line, row in chunk:
                result.rows += 1
                before = result.error_count

                def error(field_name: str, message: Any, line: int = line) -> None:
                    result.add_error(line, str(CUSTOMER_FIELDS[field_name][0]), message)

                cell = {f: _text(row[i]) if i < len(row) else "" for f, i in columns.items()}
                for f, value in cell.items():  # "-", "N/A", 无 ... in an optional column: no value, as an empty cell
                    if (not CUSTOMER_FIELDS[f][1] and value.lower() in PLACEHOLDERS
                            and value not in SYNONYMS.get(f, {})):  # 无 is a VIP level (none)
                        cell[f] = ""
                msisdn = normalize_msisdn(cell.get("msisdn", ""))
                try:
                    validate_msisdn(msisdn)
                except ValidationError as exc:
                    error("msisdn", exc.messages[0])
                if msisdn in seen:
                    error("msisdn", _("The number is also in line %(line)d.") % {"line": seen[msisdn]})
                elif msisdn:  # valid or not: a later row of the number is a duplicate either way
                    seen[msisdn] = line
                values: dict[str, Any] = {}
                if cell.get("name"):
                    values["name"] = cell["name"]
                    if len(cell["name"]) > MAX_NAME:  # was cut without a word
                        error("name", _("At most %(limit)d characters.") % {"limit": MAX_NAME})
                if cell.get("brand"):
                    values["brand"] = brands.get(cell["brand"].lower())
                    if values["brand"] is None:
                        error("brand", _("Unknown brand “%(value)s”.") % {"value": cell["brand"]})
                if cell.get("vip_level"):
                    values["vip_level"] = vips.get(cell["vip_level"].lower())
                    if values["vip_level"] is None:
                        error("vip_level", _("Unknown VIP level “%(value)s”.") % {"value": cell["vip_level"]})
                region = ""
                if cell.get("region"):
                    region = regions.get(cell["region"].lower(), "")
                    if not region:
                        error("region", _("Unknown region “%(value)s”.") % {"value": cell["region"]})
                if cell.get("home_branch"):
                    found = branches.get(cell["home_branch"].lower(), [])
                    if region or not cell.get("region"):
                        matching = [b for b in found if b.region == region] if region else found
                        if not found:
                            error("home_branch", _("Unknown unit “%(value)s”.") % {"value": cell["home_branch"]})
                        elif not matching:
                            error("home_branch", _("“%(value)s” is not a unit of region %(region)s.")
                                  % {"value": cell["home_branch"], "region": region})
                        elif len(matching) > 1:
                            error("home_branch", _("Several units are named “%(value)s”: give the unit's code or "
                                                   "the region.") % {"value": cell["home_branch"]})
                        elif not (matching[0].level == UnitLevel.CENTRE
                                  and matching[0].function == UnitFunction.FRONT_LINE):
                            # The branch the customer's work orders are counted under (the reports' branches).
                            error("home_branch", _("“%(value)s” is not a branch (a front-line centre).")
                                  % {"value": cell["home_branch"]})
                        elif not matching[0].is_active:  # closed: no customer is counted under it any more
                            error("home_branch", _("Unit “%(unit)s” is no longer active.")
                                  % {"unit": cell["home_branch"]})
                        else:
                            values["home_branch_id"] = matching[0].pk
                            region = matching[0].region
                if not cell.get("region") and not region:
                    region = known.get(msisdn) or own_region  # a known customer keeps their region
                    if not region:
                        error("region", _("Give the customer's home region (your unit is not in one region)."))
                if cell.get("arpu"):
                    try:
                        # As CRM and Excel exports write amounts: 1,234.50, ¥88.00, 88元.
                        amount = re.sub(r"[,，\s]", "", cell["arpu"]).lstrip("¥￥").removesuffix("元")
                        values["arpu"] = Decimal(amount).quantize(Decimal("0.01"))
                        if values["arpu"] < 0 or values["arpu"] >= Decimal("10000000"):
                            raise InvalidOperation
                    except InvalidOperation:
                        error("arpu", _("“%(value)s” is not an amount.") % {"value": cell["arpu"]})
                if cell.get("account_manager"):
                    manager, problem = managers.resolve(cell["account_manager"], region)
                    if problem is not None:
                        error("account_manager", problem)
                    elif manager is not None:
                        values["account_manager_id"] = manager
                if region and region not in allowed:
                    error("region", _("You may import customers of your own region only (%(regions)s).")
                          % {"regions": ", ".join(sorted(allowed)) or "-"})
                elif msisdn in known and known[msisdn] not in allowed:
                    error("msisdn", _("This customer belongs to region %(region)s, which is not yours.")
                          % {"region": known[msisdn]})
                values["region"] = region
                values["province"] = provinces.get(region, "")
                if result.error_count == before:
                    good.append((line, {"msisdn": msisdn, **values}))
                else:
                    result.error_rows += 1
            result.valid += len(good)
            if progress is not None:
                progress("write" if result is not first else "check", result.rows)
            yield good

    first = result
    handle = _open(source)
    try:
        try:
            for _chunk in parse(handle):
                pass
        except UnreadableFile as exc:  # reported on its line; nothing is imported, even with all_or_nothing off
            result.add_error(exc.line, "", exc.message)
            return result
        _note_empty(result)
        if dry_run or (all_or_nothing and result.error_count) or not result.valid:
            return result
        handle.seek(0)
        result = ImportResult(encoding=first.encoding)  # the second pass finds the same row errors again
        with transaction.atomic():
            for chunk in parse(handle):
                existing = Customer.objects.in_bulk([v["msisdn"] for _l, v in chunk], field_name="msisdn")
                manager_regions = dict(User.objects.filter(
                    pk__in={c.account_manager_id for c in existing.values() if c.account_manager_id is not None})
                    .values_list("pk", "unit__region"))
                new, changed = [], []
                for _line, values in chunk:
                    customer = existing.get(values["msisdn"])
                    if customer is None:
                        new.append(Customer(**values))
                        continue
                    if ("home_branch_id" not in values and customer.home_branch_id in branch_regions
                            and branch_regions[customer.home_branch_id] != values["region"]):
                        # Moved to another region without a branch: the old region's branch is not theirs any more
                        # (they were counted per 10,000 customers of it).
                        values = {**values, "home_branch_id": None}
                    if ("account_manager_id" not in values and customer.account_manager_id is not None
                            and customer.region != values["region"]
                            and manager_regions.get(customer.account_manager_id) != values["region"]):
                        # Moved to another region: the old region's account manager does not serve them any more.
                        values = {**values, "account_manager_id": None}
                    if any(getattr(customer, k) != v for k, v in values.items()):
                        for k, v in values.items():
                            setattr(customer, k, v)
                        changed.append(customer)
                Customer.objects.bulk_create(new, batch_size=CHUNK)
                if changed:
                    Customer.objects.bulk_update(changed, ["name", "brand", "vip_level", "province", "region",
                                                           "home_branch_id", "arpu", "account_manager_id"],
                                                 batch_size=CHUNK)
                    # Their tickets' facts carry the brand: the fold brings them up to date.
                    rollups.note_brand_changes([c.pk for c in changed])
                result.created += len(new)
                result.updated += len(changed)
                result.skipped += len(chunk) - len(new) - len(changed)
            run = ImportRun.objects.create(kind="customers", filename=name[-200:], created_by_id=acting_user.pk,
                                           created_at=timezone.now(), rows=result.rows, created=result.created,
                                           skipped=result.skipped, errors=result.error_rows)
            record_audit(acting_user, "reports.import_customers", run,
                         data={"file": name[-200:], "created": result.created, "updated": result.updated})
            result.applied = True
        return result
    finally:
        if isinstance(source, str | Path):
            handle.close()


def error_report_rows(result: ImportResult) -> tuple[list[str], list[list[Any]]]:
    header = [str(_("Line")), str(_("Column")), str(_("Problem"))]
    return header, [[e.row, e.column, e.message] for e in result.errors]


__all__ = ["ImportResult", "UnreadableFile", "ValidationFailed", "import_customers", "import_tickets",
           "read_table"]

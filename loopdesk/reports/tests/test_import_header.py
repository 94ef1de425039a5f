"""The header of a legacy export below its title, notes and blank lines: found by the columns it names, within the
first 21 lines; when none names them, an error says which lines were searched."""

from __future__ import annotations

import datetime as dt
import io

from django.test import Client
from openpyxl import Workbook

from loopdesk.conftest import World
from loopdesk.reports.imports import import_tickets
from loopdesk.reports.tests.test_imports import HEADER
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.models import ExternalRef

NOW = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
# Title, export time, the query's conditions (several cells), blank lines: eight lines above the header.
ABOVE = ["江门移动投诉工单明细（2026年11月）,,,,,,", "导出时间：2026-12-01 08:00,导出人：张三,,,,,", ",,,,,,",
         "查询条件：,受理时间 2026-11-01 至 2026-11-30,,,,,", "地市：江门,,,,,,", "服务类型：全部,,,,,,",
         "", "说明：本表由旧系统导出,,,,,,"]
ROWS = ["TT-1,2026-11-02 09:05,13900000011,投诉,其它,10086热线,内容",
        "TT-2,不是时间,13900000012,投诉,其它,10086热线,内容"]


def test_the_header_is_found_below_many_title_and_note_lines(world: World) -> None:
    text = "\n".join([*ABOVE, HEADER.strip(), *ROWS]) + "\n"
    result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(text.encode("gbk")), system="x",
                            now=NOW, dry_run=True)
    # The header is line 9; TT-2, the eleventh line of the file, has the bad time (and nothing else is wrong).
    assert [e.row for e in result.errors] == [11] and "不是时间" in result.errors[0].message, result.errors
    workbook = Workbook()
    sheet = workbook.active
    for line in ABOVE:
        sheet.append(line.split(",") if line else [])
    sheet.append(HEADER.strip().split(","))
    sheet.append(ROWS[0].split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = import_tickets(acting_user=world.user("agent"), source=buffer, name="legacy.xlsx", system="x", now=NOW)
    assert result.error_count == 0, result.errors
    assert ExternalRef.objects.filter(external_id="TT-1").exists()


def test_a_file_whose_header_is_not_found_says_which_lines_were_searched(world: World) -> None:
    """25 lines of notes before the header: the first 21 are searched (and line 1 is taken as the header)."""
    notes = [f"备注{i},说明{i},," for i in range(25)]
    text = "\n".join([*notes, HEADER.strip(), *ROWS]) + "\n"
    result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(text.encode("gbk")), system="x",
                            now=NOW, dry_run=True)
    first = result.errors[0]
    assert first.row == 1 and "第 1–21 行" in first.message and "工单编号" in first.message, result.errors
    client = Client()
    client.force_login(world.users["agent"])
    upload = io.BytesIO(text.encode("gbk"))
    upload.name = "legacy.csv"
    page = client.post("/reports/import/", {"step": "upload", "kind": "tickets", "system": "eoms", "file": upload},
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="import-header-note"' in page and "No line among lines 1–21" in page
    # The usual case says nothing.
    good = io.BytesIO((HEADER + ROWS[0] + "\n").encode("gbk"))
    good.name = "good.csv"
    page = client.post("/reports/import/", {"step": "upload", "kind": "tickets", "system": "eoms", "file": good})
    assert 'id="import-header-note"' not in page.content.decode()

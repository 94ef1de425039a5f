"""The import page, step by step: upload → mapping form (header, sample rows, one select per field, pre-filled)
→ dry run with the row-level report → import; the file kept on the server between the steps; nothing written
before the import step; bad mappings refused field by field, in Chinese and English."""

from __future__ import annotations

import io
import re
from pathlib import Path

from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import World
from loopdesk.customers.models import Customer
from loopdesk.reports import stash
from loopdesk.reports.models import ImportRun, ReportFact
from loopdesk.tickets.models import ExternalRef, Ticket, TicketEvent

# Headers the guesses do not know (编号, 时间, 说明) beside ones they do (手机号码, 服务类型, 受理渠道).
HEADER = "编号,时间,手机号码,服务类型,分类,受理渠道,说明,备注\n"
ROWS = [
    "L-1,2026-10-05 09:30,13900000001,投诉,基础通信>信号覆盖>室内无信号,10086热线,家里没信号,无\n",
    "L-2,2026-10-06 10:00,13900000002,咨询,其它,营业厅,询问套餐,无\n",
]
# The columns of HEADER by position.
COL = {name: str(i) for i, name in enumerate(HEADER.strip().split(","))}
MAPPING = {"map-external_id": COL["编号"], "map-created_at": COL["时间"], "map-msisdn": COL["手机号码"],
           "map-contact_type": COL["服务类型"], "map-category": COL["分类"], "map-channel": COL["受理渠道"],
           "map-description": COL["说明"]}


def _client(world: World, who: str, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(world.users[who])
    return client


def _upload(text: str, name: str = "legacy.csv", encoding: str = "gbk") -> io.BytesIO:
    handle = io.BytesIO(text.encode(encoding))
    handle.name = name
    return handle


def _token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def _selected(html: str, field: str) -> str:
    """The value of the selected option of the field's select ("" when none is)."""
    select = re.search(rf'<select id="map-{field}".*?</select>', html, re.S)
    assert select, field
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return chosen.group(1) if chosen else ""


def _writes() -> tuple[int, ...]:
    return (Ticket.objects.count(), TicketEvent.objects.count(), ExternalRef.objects.count(),
            Customer.objects.count(), ReportFact.objects.count(), ImportRun.objects.count(), AuditLog.objects.count())


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.upload")) if directory.exists() else []


def test_upload_map_dry_run_import(world: World, _import_dir: Path) -> None:
    client = _client(world, "agent")
    before = _writes()
    page = client.post("/reports/import/", {"step": "upload", "kind": "tickets", "system": "eoms",
                                            "file": _upload(HEADER + "".join(ROWS))})
    assert page.status_code == 200
    html = page.content.decode()
    token = _token(html)
    # The header and the sample rows are shown; each select lists the file's columns.
    assert "<th>编号</th>" in html and "家里没信号" in html and "L-2" in html
    assert html.count(f'<option value="{COL["备注"]}"') == len(MAPPING) + 6  # every select of 13 ticket fields
    # Pre-filled by the usual headers where they match; the unknown headers are left for the user.
    assert _selected(html, "msisdn") == COL["手机号码"] and _selected(html, "channel") == COL["受理渠道"]
    assert _selected(html, "external_id") == "" and _selected(html, "description") == ""
    assert 'id="map-external_id" name="map-external_id" required' in html  # required fields marked
    assert len(_files(_import_dir)) == 1 and _writes() == before

    # Dry run with the mapping: the row-level report, nothing written, the file still there.
    bad = {**MAPPING, "token": token, "step": "check"}
    dry = client.post("/reports/import/", bad)
    assert dry.status_code == 200, dry.content.decode()[-3000:]
    html = dry.content.decode()
    assert "共 2 行：有效 2 行" in html and "试运行：未导入任何数据" in html
    assert 'name="step" value="import"' in html and _selected(html, "external_id") == COL["编号"]
    assert _writes() == before and len(_files(_import_dir)) == 1

    # Import: the same token, the mapping and the dry run's stamp; the file is then deleted.
    checked = re.search(r'name="checked" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    done = client.post("/reports/import/", {**MAPPING, "token": token, "step": "import", "checked": checked})
    assert done.status_code == 200
    assert Ticket.objects.count() == 2 and not _files(_import_dir)
    ticket = ExternalRef.objects.get(system="eoms", external_id="L-1").ticket
    assert ticket.description == "家里没信号" and ticket.category == world.categories["indoor"]
    assert ImportRun.objects.get().created == 2
    # The token of a finished import is spent.
    again = client.post("/reports/import/", {**MAPPING, "token": token, "step": "import", "checked": checked})
    assert again.status_code == 422 and "重新上传" in again.content.decode()
    assert Ticket.objects.count() == 2


def test_dry_run_reports_rows_in_chinese_and_english_and_all_or_nothing(world: World) -> None:
    rows = [*ROWS, "L-3,明天,12345,投诉,不存在的类目,10086热线,内容,无\n"]
    for language, words in (("zh-hans", ("不是有效的日期时间", "未知的类目")), ("en", ("is not a date and time",
                                                                                   "Unknown category"))):
        client = _client(world, "agent", language)
        token = _token(client.post("/reports/import/", {"step": "upload", "kind": "tickets",
                                                        "file": _upload(HEADER + "".join(rows))}).content.decode())
        dry = client.post("/reports/import/", {**MAPPING, "token": token, "step": "check"})
        html = dry.content.decode()
        assert dry.status_code == 422 and all(w in html for w in words), language
        assert '<td class="num">4</td>' in html  # the row-level report names the file's line
        assert 'value="import"' not in html  # all-or-nothing: no import button
        # Asked to import anyway (a forged post): the import refuses, nothing is written.
        forced = client.post("/reports/import/", {**MAPPING, "token": token, "step": "import", "checked": "x"})
        assert forced.status_code == 422 and Ticket.objects.count() == 0
        # The good rows only, when asked: the dry run offers the import, which writes the two good rows.
        partial = client.post("/reports/import/", {**MAPPING, "token": token, "step": "check", "partial": "1"})
        checked = re.search(r'name="checked" value="([^"]+)"', partial.content.decode())
        assert checked is not None and Ticket.objects.count() == 0
        if language == "en":
            client.post("/reports/import/", {**MAPPING, "token": token, "step": "import", "partial": "1",
                                             "checked": checked.group(1)})
            assert Ticket.objects.count() == 2


def test_a_small_files_problems_download_as_xlsx_and_csv(world: World) -> None:
    """A file small enough to be checked at once offers its problems as a file too, as a background job does."""
    rows = [*ROWS, "L-3,明天,12345,投诉,不存在的类目,10086热线,内容,无\n"]
    client = _client(world, "agent")
    token = _token(client.post("/reports/import/", {"step": "upload", "kind": "tickets",
                                                    "file": _upload(HEADER + "".join(rows))}).content.decode())
    dry = client.post("/reports/import/", {**MAPPING, "token": token, "step": "check"})
    assert dry.status_code == 422
    job = dry.context["problems_job"]
    csv_url = reverse("reports:import_job_problems", args=[job.pk, "csv"])
    assert csv_url in dry.content.decode()
    csv_text = b"".join(client.get(csv_url).streaming_content).decode("utf-8-sig")
    lines = [line for line in csv_text.splitlines() if line.strip()]
    assert len(lines) == 1 + dry.context["result"].error_count and "未知的类目" in csv_text
    xlsx = client.get(reverse("reports:import_job_problems", args=[job.pk, "xlsx"]))
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"
    assert _client(world, "agent2").get(csv_url).status_code == 404  # the importing user's only


def test_bad_mappings_are_refused_field_by_field(world: World) -> None:
    client = _client(world, "agent")
    token = _token(client.post("/reports/import/", {"step": "upload", "kind": "tickets",
                                                    "file": _upload(HEADER + "".join(ROWS))}).content.decode())
    before = _writes()
    cases = {
        # A column chosen for two fields: both are refused.
        "same column twice": ({**MAPPING, "map-title": COL["说明"]}, {"description", "title"}, "也选给了"),
        # A required field left unmapped.
        "required unmapped": ({**MAPPING, "map-external_id": ""}, {"external_id"}, "必填"),
        # A column that is not in the file (a position past its end, or not a position at all).
        "no such column": ({**MAPPING, "map-category": "42"}, {"category"}, "文件中没有"),
        "not a position": ({**MAPPING, "map-category": "投诉类目"}, {"category"}, "文件中没有"),
    }
    for case, (mapping, fields, words) in cases.items():
        response = client.post("/reports/import/", {**mapping, "token": token, "step": "check"})
        html = response.content.decode()
        assert response.status_code == 422, case
        errors = set(re.findall(r'<p class="field-error" id="err-([a-z_]+)"', html))
        assert errors == fields, (case, errors)
        assert words in html, case
        assert 'id="import-result"' not in html, case  # no dry run with a bad mapping
    # A field posted twice (two values for one select).
    data = {**MAPPING, "token": token, "step": "check"}
    data["map-title"] = [COL["备注"], COL["说明"]]
    response = client.post("/reports/import/", data)
    assert response.status_code == 422 and re.findall(r'id="err-([a-z_]+)"', response.content.decode()) == ["title"]
    # In English too.
    english = _client(world, "agent", "en")
    response = english.post("/reports/import/", {**MAPPING, "map-external_id": "", "token": token, "step": "check"})
    assert "is required: choose its column" in response.content.decode()
    # Import with a bad mapping: refused the same way, nothing written.
    response = client.post("/reports/import/", {**MAPPING, "map-msisdn": "", "token": token, "step": "import"})
    assert response.status_code == 422 and _writes() == before


def test_an_import_whose_mapping_changed_since_the_dry_run_is_checked_again_not_imported(world: World) -> None:
    client = _client(world, "agent")
    token = _token(client.post("/reports/import/", {"step": "upload", "kind": "tickets",
                                                    "file": _upload(HEADER + "".join(ROWS))}).content.decode())
    dry = client.post("/reports/import/", {**MAPPING, "token": token, "step": "check"}).content.decode()
    checked = re.search(r'name="checked" value="([^"]+)"', dry).group(1)  # type: ignore[union-attr]
    changed = {**MAPPING, "map-title": COL["备注"], "token": token, "step": "import", "checked": checked}
    response = client.post("/reports/import/", changed)
    assert response.status_code == 200 and "检查" in response.content.decode()
    assert Ticket.objects.count() == 0 and 'value="import"' in response.content.decode()


def test_tokens_belong_to_their_user_and_cancel_deletes_the_file(world: World, _import_dir: Path) -> None:
    agent = _client(world, "agent")
    token = _token(agent.post("/reports/import/", {"step": "upload", "kind": "tickets",
                                                   "file": _upload(HEADER + "".join(ROWS))}).content.decode())
    other = _client(world, "admin")
    response = other.post("/reports/import/", {**MAPPING, "token": token, "step": "import"})
    assert response.status_code == 422 and Ticket.objects.count() == 0
    forged = agent.post("/reports/import/", {**MAPPING, "token": token[:-2] + "xx", "step": "check"})
    assert forged.status_code == 422
    assert len(_files(_import_dir)) == 1
    agent.post("/reports/import/", {"token": token, "step": "cancel"})
    assert not _files(_import_dir)


def test_old_kept_files_are_swept(_import_dir: Path) -> None:
    _import_dir.mkdir(parents=True)
    old, new = _import_dir / "a.upload", _import_dir / "b.upload"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    import os
    import time

    os.utime(old, (time.time() - stash.MAX_AGE - 10,) * 2)
    stash.sweep(_import_dir)
    assert _files(_import_dir) == [new]


def test_customers_through_the_mapping_form_from_xlsx(world: World) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["号码", "客户名", "品牌", "等级"])
    sheet.append([13900000001, "李四", "全球通", "金卡"])
    sheet.append([13900000002, "王五", "动感地带", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "customers.xlsx"
    client = _client(world, "supervisor")
    page = client.post("/reports/import/", {"step": "upload", "kind": "customers", "file": buffer})
    html = page.content.decode()
    token = _token(html)
    assert page.status_code == 200 and "李四" in html
    assert (_selected(html, "msisdn"), _selected(html, "brand"), _selected(html, "name")) == ("0", "2", "")
    mapping = {"map-msisdn": "0", "map-name": "1", "map-brand": "2", "map-vip_level": "3", "token": token}
    dry = client.post("/reports/import/", {**mapping, "step": "check"})
    assert dry.status_code == 200 and Customer.objects.count() == 0
    checked = re.search(r'name="checked" value="([^"]+)"', dry.content.decode()).group(1)  # type: ignore[union-attr]
    done = client.post("/reports/import/", {**mapping, "step": "import", "checked": checked})
    assert done.status_code == 200
    assert Customer.objects.get(msisdn="13900000001").vip_level == "gold"
    assert Customer.objects.get(msisdn="13900000002").brand == "mzone"
    # An agent may not import customers, whatever the token says.
    agent = _client(world, "agent")
    assert agent.post("/reports/import/", {"step": "upload", "kind": "customers",
                                           "file": _upload("手机号码\n13900000003\n")}).status_code == 403


def test_a_nul_character_in_the_source_system_is_no_server_error(world: World) -> None:
    """The upload's source system "eo\\0ms" reached PostgreSQL in the dry run's look-up and the import (a 500)."""
    client = _client(world, "agent")
    token = _token(client.post("/reports/import/", {"step": "upload", "kind": "tickets", "system": "eo\x00ms",
                                                    "file": _upload(HEADER + "".join(ROWS))}).content.decode())
    dry = client.post("/reports/import/", {**MAPPING, "token": token, "step": "check"})
    assert dry.status_code == 200
    checked = re.search(r'name="checked" value="([^"]+)"', dry.content.decode()).group(1)  # type: ignore[union-attr]
    done = client.post("/reports/import/", {**MAPPING, "token": token, "step": "import", "checked": checked})
    assert done.status_code == 200 and ExternalRef.objects.filter(system="eoms").count() == 2


def test_the_problem_report_names_the_fields_in_sentence_case(world: World) -> None:
    """The English problem table and its CSV / XLSX named the fields as used inside sentences ("created at",
    "category"), beside the page's own "Line" / "Column" / "Problem"."""
    rows = [*ROWS, "L-3,明天,12345,投诉,不存在的类目,10086热线,内容,无\n"]
    client = _client(world, "agent", "en")
    token = _token(client.post("/reports/import/", {"step": "upload", "kind": "tickets",
                                                    "file": _upload(HEADER + "".join(rows))}).content.decode())
    dry = client.post("/reports/import/", {**MAPPING, "token": token, "step": "check"})
    html = dry.content.decode()
    assert "<td>Created at</td>" in html and "<td>Category</td>" in html and "<td>created at</td>" not in html
    job = dry.context["problems_job"]
    csv_text = b"".join(client.get(reverse("reports:import_job_problems", args=[job.pk, "csv"]))
                        .streaming_content).decode("utf-8-sig")
    assert "\n4,Created at," in csv_text.replace("\r\n", "\n") and ",created at," not in csv_text

"""`manage.py import_tickets` and `import_customers`: mapping, dry run, good rows, source system, importing user,
the row-level report (printed and as CSV, in the chosen language), exit status."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loopdesk.conftest import World
from loopdesk.customers.models import Customer
from loopdesk.reports.models import ImportRun
from loopdesk.tickets.models import ExternalRef, Ticket

HEADER = "编号,时间,手机号码,服务类型,投诉类目,受理渠道,说明\n"
GOOD = [
    "C-1,2026-10-05 09:30,13900000001,投诉,基础通信>信号覆盖>室内无信号,10086热线,家里没信号\n",
    "C-2,2026-10-06 10:00,13900000002,咨询,其它,营业厅,询问套餐\n",
]
BAD = "C-3,明天,12345,投诉,其它,10086热线,内容\n"
MAP = ["--mapping", "external_id=编号", "--mapping", "created_at=时间", "--mapping", "description=#7"]


def _file(tmp_path: Path, lines: list[str], name: str = "legacy.csv") -> str:
    path = tmp_path / name
    path.write_bytes((HEADER + "".join(lines)).encode("gbk"))
    return str(path)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_tickets_with_mapping_dry_run_then_for_good(world: World, tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD)
    agent = world.users["agent"].username
    out = _run("import_tickets", path, *MAP, "--dry-run", "--as", agent, "--source", "eoms")
    assert "2 rows (gb18030): 2 valid, 0 imported" in out and "dry run" in out
    assert Ticket.objects.count() == 0 and ImportRun.objects.count() == 0
    out = _run("import_tickets", path, *MAP, "--as", agent, "--source", "eoms")
    assert "2 imported" in out
    assert ExternalRef.objects.get(system="eoms", external_id="C-2").ticket.description == "询问套餐"
    again = _run("import_tickets", path, *MAP, "--as", agent, "--source", "eoms")
    assert "0 imported" in again and "2 already imported earlier" in again and Ticket.objects.count() == 2


def test_import_tickets_reports_rows_and_is_all_or_nothing_unless_good_rows(world: World, tmp_path: Path) -> None:
    path = _file(tmp_path, [*GOOD, BAD])
    agent = world.users["agent"].username
    report = tmp_path / "errors.csv"
    with pytest.raises(CommandError, match="nothing was imported"):
        _run("import_tickets", path, *MAP, "--as", agent, "--language", "zh-hans", "--report", str(report))
    assert Ticket.objects.count() == 0
    rows = report.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "行号,列,问题" and any(r.startswith("4,创建时间,") and "不是有效的日期时间" in r for r in rows)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_tickets", path, *MAP, "--as", agent, "--language", "en", stdout=out)
    assert "4\tcreated at\t“明天” is not a date and time" in out.getvalue()
    out = _run("import_tickets", path, *MAP, "--as", agent, "--good-rows")
    assert "2 imported" in out and Ticket.objects.count() == 2


def test_bad_mappings_and_users_are_refused(world: World, tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD)
    agent = world.users["agent"].username
    with pytest.raises(CommandError, match="mapped twice"):
        _run("import_tickets", path, *MAP, "--mapping", "title=说明", "--mapping", "title=编号", "--as", agent)
    out = io.StringIO()
    with pytest.raises(CommandError):  # a column not in the file, a required field left out, an unknown field
        call_command("import_tickets", path, "--mapping", "external_id=工单号", "--mapping", "created_at=",
                     "--mapping", "colour=#2", "--as", agent, "--language", "en", stdout=out)
    text = out.getvalue()
    assert "The file has no column “工单号”" in text and "“created at” is required" in text
    assert "There is no field “colour”" in text
    out = io.StringIO()
    with pytest.raises(CommandError):  # one column for two fields
        call_command("import_tickets", path, *MAP, "--mapping", "title=#7", "--as", agent, "--language", "en",
                     stdout=out)
    assert "Column “说明” is also chosen for “description”" in out.getvalue()
    with pytest.raises(CommandError, match="No active user"):
        _run("import_tickets", path, *MAP, "--as", "nobody")
    with pytest.raises(CommandError, match="may not register"):  # a user who may not create tickets
        _run("import_tickets", path, *MAP, "--as", world.users["specialist"].username, "--language", "en")
    with pytest.raises(CommandError, match="No such file"):
        _run("import_tickets", str(tmp_path / "missing.csv"), "--as", agent)
    assert Ticket.objects.count() == 0


def test_import_customers_command(world: World, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("号码,客户名,品牌\n13900000001,李四,全球通\n13900000002,王五,动感地带\n", encoding="utf-8")
    supervisor = world.users["supervisor"].username
    out = _run("import_customers", str(path), "--mapping", "name=客户名", "--dry-run", "--as", supervisor)
    assert "2 valid" in out and Customer.objects.count() == 0
    out = _run("import_customers", str(path), "--mapping", "name=客户名", "--as", supervisor)
    assert "2 imported" in out
    assert Customer.objects.get(msisdn="13900000001").name == "李四"
    with pytest.raises(CommandError, match="supervisors"):
        _run("import_customers", str(path), "--as", world.users["agent"].username, "--language", "en")

"""Exports (CSV with BOM and XLSX, Chinese headers, scoped, masked), the monthly workbook, and scorecards."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from loopdesk.conftest import T0, World
from loopdesk.reports import exports, rollups, scorecards
from loopdesk.reports import measures as m
from loopdesk.reports.models import AssessmentItem, ScoreMethod, StoredReport
from loopdesk.reports.monthly import Everyone, produce_monthly_report, workbook_sheets
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.policy import visible_tickets

NOV = m.Period.month(2026, 11)


def test_ticket_csv_has_a_bom_chinese_headers_masked_numbers_and_only_visible_tickets(
    world: World, history: list[Ticket]
) -> None:
    user = world.user("it_specialist")
    with translation.override("zh-hans"):
        data = b"".join(exports.csv_stream(exports.ticket_header(), exports.ticket_rows(visible_tickets(user),
                                                                                         page=1)))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == "编号"
    assert len(rows) - 1 == visible_tickets(user).count() == 2
    msisdns = {r[8] for r in rows[1:]}
    assert all("****" in n for n in msisdns)
    assert {r[0] for r in rows[1:]} == set(visible_tickets(user).values_list("number", flat=True))


def test_xlsx_export_of_a_kpi_table(world: World, history: list[Ticket], tmp_path) -> None:
    table = m.table(world.user("supervisor"), NOV, "department")
    path = tmp_path / "t.xlsx"
    with translation.override("zh-hans"):
        exports.write_xlsx(str(path), [("部门", exports.measure_header("department"), exports.measure_rows(table))])
    sheet = load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "部门"
    volume = {r[0]: r[1] for r in rows[1:]}
    assert volume["网络维护中心"] == 5 and volume["信息技术中心"] == 2


def test_monthly_report_is_kept_and_replaced_when_produced_again(world: World, history: list[Ticket],
                                                                settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    first = produce_monthly_report(2026, 11, "JM")
    again = produce_monthly_report(2026, 11, "JM")
    assert StoredReport.objects.count() == 1 and first.pk == again.pk
    workbook = load_workbook(again.file.path, read_only=True)
    with translation.override("zh-hans"):
        overview_title, volume = str(_("Overview")), str(m.MEASURES["volume"][0])
        scorecard_title = exports._sheet_title(str(_("Scorecard: branches")))
    assert not overview_title.isascii() and overview_title in workbook.sheetnames
    assert scorecard_title in workbook.sheetnames
    overview = {r[0]: r[1] for r in workbook[overview_title].iter_rows(values_only=True)}
    assert overview[volume] == 9
    call_command("monthly_report", month="2026-11", verbosity=0)
    assert set(StoredReport.objects.values_list("scope", flat=True)) == {"all", "province:GD", "JM"}


def test_scorecard_scores_every_department_with_the_seed_scheme(world: World, history: list[Ticket]) -> None:
    scheme = scorecards.active_scheme()
    assert scheme is not None and sum(i.weight for i in scheme.items.all()) == 100
    card = scorecards.score(Everyone(), scheme, NOV, "department")
    by_unit = {u.label: u for u in card.units}
    # The call room is scored on the window-service survey of its hotline contact (rated 4: satisfied).
    assert set(by_unit) == {"网络维护中心", "信息技术中心", "话务室"}
    window = by_unit["话务室"].items[3]
    assert (window.value, window.points) == (1.0, 15.0)
    assert by_unit["话务室"].total == 100.0  # its only scored item, scaled to the scheme's 100 points
    netmaint = by_unit["网络维护中心"]
    timeliness = netmaint.items[4]
    assert timeliness.value == 3 / 5  # two of the five replies were late
    assert timeliness.points == round(20 * (3 / 5) / 0.95, 2)
    # The two units at 100 points were scored on 15 and 40 of the 100 points: listed, not ranked (see below).
    assert card.units[0].label == "网络维护中心" and card.units[0].total < 100
    assert [u.total for u in card.units][1:] == [100.0, 100.0] and [u.rank for u in card.units] == [1, None, None]
    # The item's points are a score (得分), not the customer's loyalty points (积分) of the same English word.
    with translation.override("zh-hans"):
        header = scorecards.header(card)
        loyalty = str(_("points"))
    assert loyalty == "积分"
    assert header[3] == f"{scheme.items.all()[0].name} (得分/20)" and loyalty not in "".join(header)


def test_editing_a_weight_changes_the_score(world: World, history: list[Ticket]) -> None:
    scheme = scorecards.active_scheme()
    before = {u.label: u.total for u in scorecards.score(Everyone(), scheme, NOV, "department").units}
    AssessmentItem.objects.filter(scheme=scheme).exclude(method=ScoreMethod.ATTAINMENT, measure="timeliness").delete()
    after = {u.label: u.total for u in scorecards.score(Everyone(), scheme, NOV, "department").units}
    # One item left (20 points): the total is on that item's scale.
    assert after["网络维护中心"] == round(20 * (3 / 5) / 0.95, 2) != before["网络维护中心"]


def test_short_board_is_the_weakest_category_of_last_period() -> None:
    assert scorecards.improvement(0.8, 0.7, 0.05, False) == 1.0
    assert scorecards.improvement(0.7, 0.8, 0.05, False) == 0.0
    assert scorecards.attainment(0.1, 0.05, True) == 0.5


def test_short_board_tie_goes_to_the_lowest_category_id_whatever_the_row_order() -> None:
    from loopdesk.reports import measures as m

    def totals(dispatched: int, overtime: int) -> dict[str, int]:
        t = dict.fromkeys(m.COUNTER_NAMES, 0)
        t.update(dispatched=dispatched, overtime=overtime)
        return t

    weak, weak_too, fine = totals(3, 1), totals(6, 2), totals(4, 0)  # timeliness 2/3, 2/3, 1
    rows = [(7, weak), (3, weak_too), (5, fine), (None, totals(3, 1))]
    now = {(1, 3): totals(4, 1)}
    for order in (rows, rows[::-1], rows[1:] + rows[:1]):
        category, value_now, value_then = scorecards._short_board(order, now, 1, "timeliness", False)
        assert (category, value_now, round(value_then or 0, 3)) == (3, 0.75, 0.667)


# (A summary starting with a tab or a carriage return is stripped when the ticket is registered.)
FORMULAS = ("=HYPERLINK(\"http://example.com\",\"点我\")", "+1 再联系", "-2 号楼", "@SUM(A1:A9)", "=cmd|' /C calc'!A0")


def _tickets_titled(world: World, titles: Iterable[str], **kwargs: Any) -> None:
    """One work order per summary, an hour apart from T0, folded into the rollups."""
    from loopdesk.tickets import services as s

    for i, title in enumerate(titles):
        s.do_create_ticket(acting_user=world.user("agent"), now=T0 + dt.timedelta(hours=i), title=title,
                           **world.ticket_kwargs(**kwargs))
    rollups.fold_pending()


def _formula_tickets(world: World) -> None:
    """Work orders whose summary, and a category whose name, a spreadsheet would run as formulas."""
    from loopdesk.tickets.models import Category

    category = Category.objects.create(code="FORMULA", name="=1+2", name_en="-risky", parent=world.categories["other"])
    _tickets_titled(world, FORMULAS, category=category)


def test_formula_cells_are_escaped_in_csv_and_xlsx(world: World, history: list[Ticket]) -> None:
    _formula_tickets(world)
    client = Client()
    client.force_login(world.users["supervisor"])
    url = "/reports/tickets/?month=2026-11&measure=volume"
    body = b"".join(client.get(url + "&format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    titles = {r[14] for r in rows[1:]}
    assert {"'" + f for f in FORMULAS} <= titles  # the summary column, each with a leading apostrophe
    assert not any(c.startswith(exports.FORMULA_START) for r in rows for c in r)
    assert {r[7] for r in rows[1:] if r[14] in {"'" + f for f in FORMULAS}} == {"'=1+2"}  # the category
    response = client.get(url + "&format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)  # no formula in the workbook (openpyxl writes "=..." as one)
    assert {"'" + f for f in FORMULAS} <= {c.value for c in cells}
    assert not any(isinstance(c.value, str) and c.value.startswith(exports.FORMULA_START) for c in cells)
    # A KPI table grouped by category: the category's name is a row label, escaped the same way.
    table = b"".join(client.get("/reports/table/?month=2026-11&group_by=category&format=csv").streaming_content)
    assert "\n'=1+2," in table.decode("utf-8-sig")
    # Numbers stay numbers (a negative one is not text).
    assert exports.safe_cell(-3) == -3 and exports.safe_cell("3-1") == "3-1" and exports.safe_cell("") == ""
    assert exports.safe_cell("\tcmd") == "'\tcmd" and exports.safe_cell("\r=1") == "'\r=1"


# Summaries with mobile numbers typed into them, and how every export shows them.
NUMBER_SUMMARIES = {
    "客户13800138000反映家中无信号": "客户138****8000反映家中无信号",
    "+86 139 1234 5678 来电，另一号码15912345678也不通": "'+86 139 **** 5678 来电，另一号码159****5678也不通",
    "宽带账号 020123456789012，流水 2026110200001": "宽带账号 020123456789012，流水 2026110200001",
}


def test_mobile_numbers_typed_into_a_summary_are_masked_in_csv_and_xlsx(world: World, history: list[Ticket]) -> None:
    _tickets_titled(world, NUMBER_SUMMARIES)
    client = Client()
    client.force_login(world.users["supervisor"])
    url = "/reports/tickets/?month=2026-11&measure=volume"
    body = b"".join(client.get(url + "&format=csv").streaming_content).decode("utf-8-sig")
    titles = {r[14] for r in list(csv.reader(io.StringIO(body)))[1:]}
    assert set(NUMBER_SUMMARIES.values()) <= titles
    assert "13800138000" not in body and "15912345678" not in body and "1234 5678" not in body
    response = client.get(url + "&format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    values = {c.value for row in sheet.iter_rows() for c in row}
    assert set(NUMBER_SUMMARIES.values()) <= values
    assert not any(isinstance(v, str) and ("13800138000" in v or "15912345678" in v) for v in values)


def test_labels_never_start_with_a_formula_character(db: None) -> None:
    """The COPY export escapes only the columns of free text; the labels it writes as they are must not need it."""
    for language in ("zh-hans", "en"):
        with translation.override(language):
            labels = exports._Labels(language)
            texts = [labels.yes, labels.no, *exports.ticket_header()]
            texts += [label for choices in labels.choices.values() for label in choices.values()]
        assert not [t for t in texts if t.startswith(exports.FORMULA_START)], language


def test_xlsx_ticket_export_is_capped_at_the_sheet_limit_with_a_message(world: World, history: list[Ticket],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit is Excel's 1,048,576 rows; set lower here to show what happens at it."""
    client = Client()
    client.force_login(world.users["supervisor"])
    url = "/reports/tickets/?month=2026-11&measure=volume&format=xlsx"

    def sheet_rows() -> list[tuple]:
        response = client.get(url)
        assert response.status_code == 200
        return list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
                    .iter_rows(values_only=True))

    assert exports.XLSX_MAX_ROWS == 1_048_576
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 10)  # the header and the 9 work orders: exactly full
    rows = sheet_rows()
    assert len(rows) == 10 and all(r[0] and r[0].startswith("JM-") for r in rows[1:])
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 6)
    with translation.override("zh-hans"):
        rows = sheet_rows()
    assert len(rows) == 6 and all(r[0].startswith("JM-") for r in rows[1:5])
    assert "4" in rows[5][0] and "6" in rows[5][0] and "CSV" in rows[5][0] and "Excel" in rows[5][0]
    assert "导出" in rows[5][0]  # in the user's language


@pytest.mark.postgres
def test_postgresql_copy_export_is_byte_for_byte_the_python_export(world: World) -> None:
    from loopdesk.reports.tests.conftest import make_history

    make_history(world)
    _formula_tickets(world)  # escaped alike: free-text columns, category names
    _tickets_titled(world, NUMBER_SUMMARIES)  # mobile numbers in summaries masked alike (regexp_replace in SQL)
    tickets = visible_tickets(world.user("supervisor"))
    for language in ("zh-hans", "en"):
        with translation.override(language):
            fast = b"".join(exports.ticket_csv_copy(tickets, language))
            slow = b"".join(exports.csv_stream(exports.ticket_header(), exports.ticket_rows(tickets, language)))
        assert fast == slow
        assert fast.count(b"\n") == 1 + tickets.count()


def test_monthly_report_command_reads_the_scope_as_a_region_code(world: World, history: list[Ticket], settings,
                                                                   tmp_path) -> None:
    """--scope jm is the region JM (a report kept as "jm" was shown to nobody of JM); an unknown scope is refused."""
    from django.core.management.base import CommandError

    settings.MEDIA_ROOT = tmp_path
    call_command("monthly_report", month="2026-11", scope="jm", verbosity=0)
    assert list(StoredReport.objects.values_list("scope", flat=True)) == ["JM"]
    call_command("monthly_report", month="2026-11", scope="ALL", verbosity=0)
    assert set(StoredReport.objects.values_list("scope", flat=True)) == {"all", "JM"}
    with pytest.raises(CommandError, match="XX"):
        call_command("monthly_report", month="2026-11", scope="XX", verbosity=0)
    assert StoredReport.objects.count() == 2


def test_xlsx_lists_have_their_times_as_date_times(world: World, history: list[Ticket]) -> None:
    """In the workbook a registration time is a date-time cell (Excel sorts and filters it by date), the local time
    to the minute as in the CSV; the CSV keeps its text."""
    client = Client()
    client.force_login(world.users["supervisor"])
    url = "/reports/tickets/?month=2026-11&measure=volume"
    sheet = load_workbook(io.BytesIO(b"".join(client.get(url + "&format=xlsx").streaming_content))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    created = exports.ticket_header().index(capfirst(str(_("created at"))))
    by_number = {t.number: t for t in Ticket.objects.all()}
    for row in rows[1:]:
        expected = by_number[row[0]].created_at.astimezone(SHANGHAI).replace(tzinfo=None, second=0, microsecond=0)
        assert isinstance(row[created], dt.datetime) and row[created] == expected
    body = b"".join(client.get(url + "&format=csv").streaming_content).decode("utf-8-sig")
    first = list(csv.reader(io.StringIO(body)))[1]
    assert first[created] == by_number[first[0]].created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    hops = load_workbook(io.BytesIO(b"".join(client.get(
        "/reports/tickets/?month=2026-11&measure=hops&format=xlsx").streaming_content))).worksheets[0]
    assert all(isinstance(r[4], dt.datetime) for r in list(hops.iter_rows(values_only=True))[1:])


def test_kpi_tables_by_day_week_and_month_export_their_dates_as_date_cells(world: World, history: list[Ticket],
                                                                          settings, tmp_path) -> None:
    """In the workbook a day or a month of a KPI table is a date cell (a month shown as 2026-11), which Excel sorts
    and filters as a date, not text; the CSV keeps the text; the monthly workbook's daily trend too. (A week keeps
    its label, the ISO week and the days covered: `test_period_range.py`.)"""
    client = Client()
    client.force_login(world.users["supervisor"])
    for group_by, fmt in (("day", "yyyy-mm-dd"), ("month", "yyyy-mm")):
        url = f"/reports/table/?month=2026-11&group_by={group_by}"
        rows = m.table(world.user("supervisor"), NOV, group_by)
        expected = [r.key for r in (m.every_day(rows, NOV) if group_by == "day" else rows)]  # every day of it
        sheet = load_workbook(io.BytesIO(b"".join(client.get(url + "&format=xlsx").streaming_content))).worksheets[0]
        cells = [row[0] for row in sheet.iter_rows(min_row=2)]
        assert expected and [c.value.date() for c in cells] == expected, group_by
        assert all(c.is_date and c.number_format == fmt for c in cells), group_by
        body = client.get(url + "&format=csv")
        text = b"".join(body.streaming_content).decode("utf-8-sig")
        first = list(csv.reader(io.StringIO(text)))[1][0]
        assert first == (expected[0].strftime("%Y-%m") if group_by == "month" else expected[0].isoformat())
    settings.MEDIA_ROOT = tmp_path
    workbook = load_workbook(produce_monthly_report(2026, 11, "JM").file.path)
    with translation.override("zh-hans"):
        daily = workbook[str(_("Daily trend"))]
    days = [row[0].value for row in daily.iter_rows(min_row=2)]
    assert days and all(isinstance(d, dt.datetime) for d in days)
    # Every day of the month, a day without work orders at 0 (a chart drawn from the sheet runs day by day).
    assert [d.date() for d in days] == [dt.date(2026, 11, day) for day in range(1, 31)]
    volume = [row[1].value for row in daily.iter_rows(min_row=2)]
    busy = {r.key: r.values["volume"] for r in m.table(Everyone(), NOV, "day", {"region": "JM"})}
    assert volume == [busy.get(dt.date(2026, 11, day), 0) for day in range(1, 31)] and 0 in volume


def test_scorecard_export_headers_say_the_values_are_percentages(world: World, history: list[Ticket]) -> None:
    """The values are written as 71.43 for 71.43 %: the header said only the measure (the KPI table's says (%))."""
    scheme = scorecards.active_scheme()
    assert scheme is not None
    card = scorecards.score(world.user("supervisor"), scheme, m.Period.month(2026, 11), "department")
    with translation.override("zh-hans"):
        header = scorecards.header(card)
    timeliness = scheme.items.get(measure="timeliness")
    assert header[2 + 2 * list(scheme.items.all()).index(timeliness)] == f"{timeliness.name} (工单处理及时率, %)"
    row = next(r for r in scorecards.rows(card) if r[2 + 2 * list(scheme.items.all()).index(timeliness)] != "")
    assert 1 < row[2 + 2 * list(scheme.items.all()).index(timeliness)] <= 100


def test_the_monthly_overview_says_which_values_are_percentages(world: World, history: list[Ticket],
                                                                 settings, tmp_path) -> None:
    """71.43 under a bare "工单处理及时率" (the KPI table's export and the scorecard's say "(%)")."""
    settings.MEDIA_ROOT = tmp_path
    stored = produce_monthly_report(2026, 11, "JM")
    for path, language in ((stored.file.path, "zh-hans"), (stored.file_en.path, "en")):
        workbook = load_workbook(path, read_only=True)
        with translation.override(language):
            overview = {r[0]: r[1] for r in workbook[str(_("Overview"))].iter_rows(values_only=True)}
            timeliness, volume = (str(m.MEASURES[name][0]) for name in ("timeliness", "volume"))
        assert overview[f"{timeliness} (%)"] == pytest.approx(5 / 7 * 100, abs=0.01)
        assert timeliness not in overview and overview[volume] == 9  # a count keeps its bare name


def test_control_characters_in_text_do_not_break_an_xlsx_export(world: World, history: list[Ticket]) -> None:
    """A summary pasted from Word (a vertical tab, \\x0b) or a name with another control character: openpyxl refuses
    them in a worksheet, and the XLSX export was a 500. They are left out of the XLSX cell (the CSV keeps the text
    as it is); tabs and line ends stay."""
    Ticket.objects.filter(pk=history[0].pk).update(title="复制\x0b自Word\x1f\t第二段\n第三段")
    world.categories["indoor"].name = "室内\x07无信号"
    world.categories["indoor"].save()
    client = Client()
    client.force_login(world.users["supervisor"])
    response = client.get("/reports/tickets/?month=2026-11&measure=volume&format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    values = {c.value for row in sheet.iter_rows() for c in row}
    assert "复制自Word\t第二段\n第三段" in values and "室内无信号" in values
    table = client.get("/reports/table/?month=2026-11&group_by=category&format=xlsx")
    assert table.status_code == 200
    rows = load_workbook(io.BytesIO(b"".join(table.streaming_content))).worksheets[0]
    assert "室内无信号" in {c.value for row in rows.iter_rows() for c in row}
    body = b"".join(client.get("/reports/tickets/?month=2026-11&measure=volume&format=csv").streaming_content)
    assert "复制\x0b自Word\x1f" in body.decode("utf-8-sig")


def test_a_unit_scored_on_a_small_share_of_the_weights_does_not_outrank_fully_scored_units(
        world: World, history: list[Ticket]) -> None:
    """The call room has data for the window-service item alone (15 of 100 points): scaled to 100 it ranked first,
    ahead of departments scored on every item. It keeps its scaled total, with the weight it was scored on shown
    next to it, but is not ranked against units scored on at least half of the scheme's weights."""
    scheme = scorecards.active_scheme()
    assert scheme is not None
    card = scorecards.score(Everyone(), scheme, NOV, "department")
    by_unit = {u.label: u for u in card.units}
    call_room, netmaint = by_unit["话务室"], by_unit["网络维护中心"]
    assert call_room.total == 100.0 and call_room.scored_weight == 15.0 and call_room.full_weight == 100.0
    assert call_room.rank is None
    ranked = [u for u in card.units if u.rank is not None]
    # 信息技术中心 has no surveys: 40 of 100 points (timeliness, callbacks, repeats) scaled to 100, not ranked either.
    assert by_unit["信息技术中心"].total == 100.0 and by_unit["信息技术中心"].rank is None
    assert ranked == [netmaint] and netmaint.rank == 1 and netmaint.scored_weight == 60.0 and netmaint.total < 100
    assert card.units[:len(ranked)] == ranked and call_room in card.units[len(ranked):]
    with translation.override("en"):
        header = scorecards.header(card)
    assert header[-2:] == ["Scored weight", "Total"]
    row = next(r for r in scorecards.rows(card) if r[1] == "话务室")
    assert row[0] == "" and row[-2:] == [15.0, 100.0]
    client = Client()
    client.force_login(world.user("supervisor"))
    page = client.get("/reports/scorecard/?month=2026-11&unit_kind=department").content.decode()
    assert "计分 15/100" in page and "60/100" in page


def test_an_item_nobody_can_be_scored_on_does_not_keep_every_unit_from_its_rank(
        world: World, history: list[Ticket]) -> None:
    """An item with an unknown measure (a raw UPDATE) is left out for every unit: the share needed for a rank is
    of the weights that can be scored, else a 60-point broken item left every unit unranked."""
    scheme = scorecards.active_scheme()
    assert scheme is not None
    AssessmentItem.objects.filter(scheme=scheme, measure="repeat_rate").update(measure="no_such_measure", weight=60)
    card = scorecards.score(Everyone(), scheme, NOV, "department")
    assert card.problems
    by_unit = {u.label: u for u in card.units}
    netmaint = by_unit["网络维护中心"]
    assert netmaint.scored_weight == 50.0 and netmaint.full_weight == 90.0 and netmaint.rank == 1
    assert by_unit["话务室"].rank is None


def test_the_english_workbook_names_its_scorecard_sheets_readably(world: World, history: list[Ticket], settings,
                                                                   tmp_path) -> None:
    """Excel refuses ':' in sheet names; it was replaced by '-' and left "Scorecard- branches"."""
    settings.MEDIA_ROOT = tmp_path
    stored = produce_monthly_report(2026, 11, "JM")
    names = load_workbook(stored.file_en.path, read_only=True).sheetnames
    assert "Scorecard - branches" in names and "Scorecard - departments" in names
    assert exports._sheet_title("a:b [c]/d") == "a-b -c--d"


def test_the_english_ticket_and_hop_exports_have_sentence_case_headers(world: World, history: list[Ticket]) -> None:
    """The ticket list's English CSV began "number,created at,region code,…" (the KPI table's: "Work orders,…")."""
    client = Client()
    client.force_login(world.users["supervisor"])
    base = "/reports/tickets/?month=2026-11&format=csv&measure="
    tickets = b"".join(client.get(base + "volume", HTTP_ACCEPT_LANGUAGE="en").streaming_content).decode("utf-8-sig")
    assert tickets.startswith("Number,Created at,Region code,Contact type,")
    hops = b"".join(client.get(base + "hops", HTTP_ACCEPT_LANGUAGE="en").streaming_content).decode("utf-8-sig")
    assert hops[0].isupper() and hops.split(",")[0] == capfirst(hops.split(",")[0])
    chinese = b"".join(client.get(base + "volume", HTTP_ACCEPT_LANGUAGE="zh-hans").streaming_content)
    assert chinese.decode("utf-8-sig").startswith("编号,")


def test_a_rate_whose_name_says_per_cent_is_not_marked_twice(world: World, history: list[Ticket]) -> None:
    """The English KPI exports and the monthly overview headed "Survey satisfaction (% satisfied) (%)" and "Window
    service satisfaction (% satisfied) (%)": a rate's " (%)" was added to a name that says so already."""
    with translation.override("en"):
        header = exports.measure_header("channel", compare=True)
        sheets = {name: list(rows) for name, _header, rows in workbook_sheets(Everyone(), NOV, None)}
    assert "Survey satisfaction (% satisfied)" in header and "Window service satisfaction (% satisfied)" in header
    assert not [h for h in header if h.endswith(") (%)") and "%" in h[:-4]]
    assert "Timeliness rate (%)" in header
    overview = [row[0] for rows in sheets.values() for row in rows if isinstance(row[0], str)]
    assert "Survey satisfaction (% satisfied)" in overview and "Timeliness rate (%)" in overview
    assert not [h for h in overview if h.endswith(") (%)") and "%" in h[:-4]]

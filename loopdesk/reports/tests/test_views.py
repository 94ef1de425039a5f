"""Report pages: dashboard, tables, drill-down lists, scorecards, files and imports, with exports."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation
from openpyxl import Workbook, load_workbook

from loopdesk.conftest import World
from loopdesk.org.choices import Role, UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit, User
from loopdesk.reports import measures as m
from loopdesk.reports import rollups
from loopdesk.reports.models import StoredReport
from loopdesk.reports.monthly import produce_all, produce_monthly_report
from loopdesk.tickets import policy
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket

NOV = "month=2026-11"


def _client(world: World, who: str) -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def test_dashboard_shows_scoped_figures_with_drilldown_links(world: World, history: list[Ticket]) -> None:
    response = _client(world, "supervisor").get("/reports/?" + NOV)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="report-charts"' in html and "vendor/echarts/echarts.min.js" in html
    link = re.search(r'data-measure="volume">.*?<a href="([^"]+)">9</a>', html, re.S)
    assert link is not None
    drill = _client(world, "supervisor").get(link.group(1).replace("&amp;", "&"))
    assert drill.status_code == 200
    assert '<span id="drill-total">9</span>' in drill.content.decode()


def test_drilldown_list_count_and_export_agree_with_the_table(world: World, history: list[Ticket]) -> None:
    client = _client(world, "supervisor")
    rows = m.table(world.user("supervisor"), m.Period.month(2026, 11), "department")
    netmaint = next(r for r in rows if r.key == world.units["netmaint"].pk)
    url = f"/reports/tickets/?{NOV}&measure=overtime&group_by=department&group={netmaint.key}"
    page = client.get(url).content.decode()
    assert f'<span id="drill-total">{netmaint.values["overtime"]}</span>' in page
    csv_body = b"".join(client.get(url + "&format=csv").streaming_content)
    assert csv_body.startswith("\ufeff".encode())
    assert len(csv_body.decode("utf-8-sig").strip().splitlines()) - 1 == netmaint.values["overtime"]


def test_table_exports_as_xlsx_with_chinese_headers(world: World, history: list[Ticket]) -> None:
    response = _client(world, "supervisor").get(f"/reports/table/?{NOV}&group_by=channel&format=xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    with translation.override("zh-hans"):
        expected = (str(m.GROUP_LABELS["channel"]), str(m.MEASURES["volume"][0]))
    assert rows[0][:2] == expected and not expected[1].isascii()  # Chinese headers
    assert sum(r[1] for r in rows[1:]) == 9


def test_scorecard_page_and_export(world: World, history: list[Ticket]) -> None:
    client = _client(world, "supervisor")
    page = client.get(f"/reports/scorecard/?{NOV}&unit_kind=department").content.decode()
    assert "网络维护中心" in page and "工单处理及时率" in page
    body = b"".join(client.get(f"/reports/scorecard/?{NOV}&unit_kind=department&format=csv").streaming_content)
    assert "网络维护中心" in body.decode("utf-8-sig")


def test_stored_reports_are_listed_and_downloaded_within_scope(world: World, history: list[Ticket], settings,
                                                                tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    jm = produce_monthly_report(2026, 11, "JM")
    zh = produce_monthly_report(2026, 11, "ZH")
    client = _client(world, "supervisor")
    assert client.get(f"/reports/files/{jm.pk}/").status_code == 200
    assert client.get(f"/reports/files/{zh.pk}/").status_code == 404
    assert client.get("/reports/files/").status_code == 200


def test_a_province_supervisor_gets_the_regions_reports_under_a_meaningful_name(world: World, history: list[Ticket],
                                                                             settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    jm = produce_monthly_report(2026, 11, "JM")
    produce_monthly_report(2026, 11, "JM")  # again: the storage names the new file differently
    jm.refresh_from_db()
    whole = produce_monthly_report(2026, 11, "all")
    province = User.objects.create_user(username="gd_supervisor", unit=world.units["gd"])
    province.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR)[0])
    client = Client()
    client.force_login(province)
    listing = client.get("/reports/files/").content.decode()
    assert f"/reports/files/{jm.pk}/" in listing
    assert f"/reports/files/{whole.pk}/" not in listing  # other provinces' tickets
    hq = User.objects.create_user(username="hq_supervisor", unit=world.units["hq"])
    hq.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    hq_client = Client()
    hq_client.force_login(hq)
    whole_listing = hq_client.get("/reports/files/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"/reports/files/{whole.pk}/" in whole_listing and "<td>全部地市</td>" in whole_listing
    with translation.override("en"):
        response = client.get(f"/reports/files/{jm.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Monthly%20report%20JM%202026-11.xlsx" in response["Content-Disposition"] \
        or 'Monthly report JM 2026-11.xlsx' in response["Content-Disposition"], response["Content-Disposition"]
    assert client.get(f"/reports/files/{whole.pk}/").status_code == 404
    nobody = User.objects.create_user(username="unitless_supervisor")
    nobody.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    client.force_login(nobody)
    assert client.get(f"/reports/files/{jm.pk}/").status_code in (403, 404)


def _overview_volume(stored: Any) -> int:
    """The overview sheet's number of work orders in a kept workbook."""
    with stored.file.open("rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read()), read_only=True).worksheets[0]
        with translation.override("zh-hans"):
            label = str(m.MEASURES["volume"][0])
        return next(int(row[1]) for row in sheet.iter_rows(values_only=True) if row[0] == label)


def test_each_province_gets_its_own_monthly_workbook(world: World, history: list[Ticket], settings,
                                                      tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    # Another province with a work order of its own in November.
    fj = OrgUnit.objects.create(code="FJ", name="福建公司", name_en="Fujian", parent=world.units["hq"],
                                level=UnitLevel.PROVINCE, function=UnitFunction.MANAGEMENT, province="FJ", region="FJ")
    xm = OrgUnit.objects.create(code="XM", name="厦门分公司", name_en="Xiamen", parent=fj, level=UnitLevel.CITY,
                                function=UnitFunction.FRONT_LINE, province="FJ", region="XM")
    xm_agent = User.objects.create_user(username="xm_agent", unit=xm)
    xm_agent.groups.add(Group.objects.get_or_create(name=Role.HOTLINE_AGENT)[0])
    s.do_create_ticket(acting_user=xm_agent, now=history[0].created_at,
                       **world.ticket_kwargs(customer=world.customer(province="FJ", region="XM", home_branch=None)))
    rollups.fold_pending()
    kept = {r.scope: r for r in produce_all(2026, 11)}
    assert set(kept) == {"all", "province:FJ", "province:GD", "JM", "XM"}
    gd, jm = Ticket.objects.filter(province="GD").count(), Ticket.objects.filter(region="JM").count()
    assert (_overview_volume(kept["province:GD"]), _overview_volume(kept["province:FJ"])) == (gd, 1)
    assert (_overview_volume(kept["all"]), _overview_volume(kept["JM"])) == (gd + 1, jm)
    # The province's supervisor gets the province's workbook and its regions', not another province's.
    province = User.objects.create_user(username="gd_supervisor", unit=world.units["gd"])
    province.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR)[0])
    client = Client()
    client.force_login(province)
    listing = client.get("/reports/files/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"/reports/files/{kept['province:GD'].pk}/" in listing and "<td>GD 全省</td>" in listing
    assert f"/reports/files/{kept['JM'].pk}/" in listing
    assert f"/reports/files/{kept['province:FJ'].pk}/" not in listing
    assert f"/reports/files/{kept['XM'].pk}/" not in listing
    assert client.get(f"/reports/files/{kept['province:FJ'].pk}/").status_code == 404
    with translation.override("en"):
        response = client.get(f"/reports/files/{kept['province:GD'].pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "GD%20province-wide%202026-11.xlsx" in response["Content-Disposition"] \
        or "GD province-wide 2026-11.xlsx" in response["Content-Disposition"], response["Content-Disposition"]
    # A city's supervisor gets its region's only.
    jm_listing = _client(world, "supervisor").get("/reports/files/").content.decode()
    assert f"/reports/files/{kept['JM'].pk}/" in jm_listing
    assert f"/reports/files/{kept['province:GD'].pk}/" not in jm_listing


def test_monthly_report_command_takes_a_province_scope(world: World, history: list[Ticket], settings,
                                                        tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("monthly_report", "--month", "2026-11", "--scope", "Province:gd", stdout=out)
    stored = StoredReport.objects.get(scope="province:GD")
    assert _overview_volume(stored) == Ticket.objects.filter(province="GD").count() and "province:GD" in out.getvalue()
    with pytest.raises(CommandError, match="no such province"):
        call_command("monthly_report", "--month", "2026-11", "--scope", "province:ZZ")


def _guessed_step(client: Client, page: str, step: str, **extra: str) -> Any:
    """Post the import page's mapping form as the upload pre-filled it (the guessed columns) with `step`."""
    data = {"token": re.search(r'name="token" value="([^"]+)"', page).group(1), "step": step}  # type: ignore[union-attr]
    for field, select in re.findall(r'<select id="map-([a-z_]+)".*?>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', select)
        data[f"map-{field}"] = chosen.group(1) if chosen else ""
    return client.post("/reports/import/", {**data, **extra})


def test_import_page_reports_row_errors_and_imports_nothing(world: World) -> None:
    data = "工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容\nA1,明天,139,投诉,其它,热线,内容\n"
    upload = io.BytesIO(data.encode("gbk"))
    upload.name = "legacy.csv"
    client = _client(world, "agent")
    page = client.post("/reports/import/", {"kind": "tickets", "file": upload})
    assert page.status_code == 200
    response = _guessed_step(client, page.content.decode(), "check")
    assert response.status_code == 422
    html = response.content.decode()
    assert "不是有效的日期时间" in html and Ticket.objects.count() == 0
    response = _guessed_step(client, page.content.decode(), "import", checked="forged")
    assert response.status_code == 422 and Ticket.objects.count() == 0


def test_import_page_refuses_staff_who_may_not_import_and_asks_for_a_file(world: World) -> None:
    assert _client(world, "specialist").get("/reports/import/").status_code == 403
    response = _client(world, "agent").post("/reports/import/", {"kind": "tickets"})
    assert response.status_code == 422 and "选择" in response.content.decode()


def test_pages_need_sign_in() -> None:
    assert Client().get("/reports/").status_code == 302


def test_dashboard_says_when_bulk_loaded_tickets_are_missing_from_the_figures(world: World,
                                                                               history: list[Ticket]) -> None:
    from loopdesk.reports.models import ReportFact

    client = _client(world, "supervisor")
    assert "rebuild_rollups" not in client.get("/reports/?" + NOV).content.decode()
    ReportFact.objects.filter(pk=Ticket.objects.order_by("-pk").first().pk).delete()
    assert "rebuild_rollups" in client.get("/reports/?" + NOV).content.decode()


def _upload(raw: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(raw)
    upload.name = name
    return upload


def test_import_page_reports_unreadable_files_on_their_line_not_a_500(world: World) -> None:
    client = _client(world, "agent")
    header = "工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容\n"
    good = "A1,2026-10-05 09:30,13900000001,投诉,其它,短信,内容\n"
    truncated = io.BytesIO()
    Workbook().save(truncated)
    cases = {
        "bytes.csv": ((header + good).encode() + b"A2,2026-10-05 09:30,13900000002,\x80\xff\n", 3, "不是 UTF-8"),
        "broken.xlsx": (truncated.getvalue()[:1000], 1, "XLSX 工作簿"),
        "long.csv": ((header + 'A3,2026-10-05 09:30,13900000003,投诉,其它,短信,"' + "长" * 140_000).encode(), 2,
                     "引号未闭合"),
    }
    for name, (raw, line, words) in cases.items():
        # Read at the upload (the header and the first rows): reported there, on its line, nothing kept.
        response = client.post("/reports/import/", {"kind": "tickets", "file": _upload(raw, name)})
        assert response.status_code == 422, name
        html = response.content.decode()
        assert words in html and f'<td class="num">{line}</td>' in html, name
        assert "未导入任何数据" in html and 'name="token"' not in html, name
    assert Ticket.objects.count() == 0
    bom = "\ufeff" + (header + good).replace(",", "\t")
    page = client.post("/reports/import/", {"kind": "tickets", "file": _upload(bom.encode("utf-16-le"), "u.txt")})
    dry = _guessed_step(client, page.content.decode(), "check")
    assert dry.status_code == 200 and Ticket.objects.count() == 0
    checked = re.search(r'name="checked" value="([^"]+)"', dry.content.decode()).group(1)  # type: ignore[union-attr]
    response = _guessed_step(client, page.content.decode(), "import", checked=checked)
    assert response.status_code == 200 and Ticket.objects.count() == 1


def test_import_page_reports_a_bad_line_past_the_sample_at_the_dry_run(world: World) -> None:
    client = _client(world, "agent")
    header = "工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容\n"
    rows = "".join(f"A{i},2026-10-05 09:30,1390000000{i},投诉,其它,短信,内容\n" for i in range(7))
    raw = (header + rows).encode() + b"A9,2026-10-05 09:30,13900000009,\x80\xff\n"
    page = client.post("/reports/import/", {"kind": "tickets", "file": _upload(raw, "late.csv")})
    assert page.status_code == 200  # the first rows read well
    for partial in ("", "1"):
        response = _guessed_step(client, page.content.decode(), "check", partial=partial)
        html = response.content.decode()
        assert response.status_code == 422 and '<td class="num">9</td>' in html and "不是 UTF-8" in html
        assert 'value="import"' not in html
    assert Ticket.objects.count() == 0


def test_a_group_without_a_value_is_named_none_in_the_table_and_its_export(world: World,
                                                                           history: list[Ticket]) -> None:
    """The window survey of the history has no contact type (it rates a call, not a work order): its row is named."""
    with translation.override("en"):
        rows = m.table(world.user("supervisor"), m.Period.month(2026, 11), "contact_type")
    empty = [r for r in rows if r.key == ""]
    assert len(empty) == 1
    with translation.override("zh-hans"):
        assert m.group_labels("contact_type", [""])[""] == "（无）"
    assert empty[0].label == "(none)"
    client = _client(world, "supervisor")
    page = client.get(f"/reports/table/?{NOV}&group_by=tier", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "(none)" in page
    body = b"".join(client.get(f"/reports/table/?{NOV}&group_by=brand&format=csv").streaming_content)
    labels = [line.split(",")[0] for line in body.decode("utf-8-sig").splitlines()[1:]]
    assert "" not in labels and "None" not in labels


def test_a_period_at_the_end_of_the_calendar_is_refused_not_a_server_error(world: World,
                                                                           history: list[Ticket]) -> None:
    """Year 1 has no year before, year 9999 no month after its December: the pages fall back to this month (as for
    any period they cannot read) instead of failing with an OverflowError."""
    client = _client(world, "supervisor")
    for query in ("month=0001-01", "start=0001-01-01&end=0001-01-31", "start=9999-12-01&end=9999-12-31",
                  "month=9999-12"):
        for page in ("/reports/?", "/reports/table/?group_by=month&compare=1&", "/reports/scorecard/?",
                     "/reports/tickets/?measure=volume&"):
            assert client.get(page + query).status_code == 200, page + query


def test_the_kpi_table_has_the_overtime_and_problem_rates_by_group(world: World, history: list[Ticket]) -> None:
    """Overtime and problem rates by dimension (issue: counts and rates), on the page and in the export."""
    client = _client(world, "supervisor")
    with translation.override("zh-hans"):
        labels = [str(m.MEASURES[name][0]) for name in ("overtime_rate", "problem_rate")]
    body = b"".join(client.get(f"/reports/table/?{NOV}&group_by=department&format=csv").streaming_content)
    lines = body.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert [f"{label} (%)" in header for label in labels] == [True, True]
    netmaint = next(line.split(",") for line in lines[1:] if line.startswith("网络维护中心"))
    rows = m.table(world.user("supervisor"), m.Period.month(2026, 11), "department")
    values = next(r for r in rows if r.key == world.units["netmaint"].pk).values
    assert values["overtime_rate"]
    assert float(netmaint[header.index(f"{labels[0]} (%)")]) == round(values["overtime_rate"] * 100, 2)
    page = client.get(f"/reports/table/?{NOV}&group_by=department").content.decode()
    assert labels[0] in page and labels[1] in page


def test_the_drill_down_list_names_categories_and_units_in_the_users_language(world: World,
                                                                              history: list[Ticket]) -> None:
    world.categories["indoor"].name_en = "No indoor signal"
    world.categories["indoor"].save(update_fields=["name_en"])
    world.units["call"].name_en = "Call room"  # the answered work orders are back with the first responder
    world.units["call"].save(update_fields=["name_en"])
    client = _client(world, "supervisor")
    url = f"/reports/tickets/?{NOV}&measure=volume"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<td>No indoor signal</td>" in english and "<td>Call room</td>" in english
    assert "室内无信号" not in english and "话务室" not in english
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<td>室内无信号</td>" in chinese and "<td>话务室</td>" in chinese


def test_tables_and_scorecards_name_units_and_categories_in_the_users_language(world: World,
                                                                               history: list[Ticket]) -> None:
    world.units["netmaint"].name_en = "Network maintenance"
    world.units["netmaint"].save(update_fields=["name_en"])
    world.categories["basic"].name_en = "Basic communication"
    world.categories["basic"].save(update_fields=["name_en"])
    client = _client(world, "supervisor")
    table = client.get(f"/reports/table/?{NOV}&group_by=department", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Network maintenance" in table and "网络维护中心" not in table
    export = b"".join(client.get(f"/reports/table/?{NOV}&group_by=category_root&format=csv",
                                 HTTP_ACCEPT_LANGUAGE="en").streaming_content).decode("utf-8-sig")
    assert "\nBasic communication," in export and "基础通信" not in export
    card = client.get(f"/reports/scorecard/?{NOV}&unit_kind=department", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Network maintenance" in card
    chinese = client.get(f"/reports/table/?{NOV}&group_by=department", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "网络维护中心" in chinese.content.decode()


def test_changes_are_coloured_by_whether_they_are_improvements(world: World) -> None:
    """November has one more repeat complaint than October: the repeat rate going up is shown as worse (it was
    coloured as good news, as every rise was), the timeliness rate unchanged, the volume neither."""
    from loopdesk.reports.tests.conftest import make_full_history

    make_full_history(world)
    client = _client(world, "supervisor")
    cards = {c["name"]: c for c in client.get(f"/reports/?{NOV}").context["cards"]}
    assert cards["repeat_rate"]["mom"]["up"] and cards["repeat_rate"]["mom"]["worse"]
    assert not cards["repeat_rate"]["mom"]["better"]
    assert cards["volume"]["mom"]["up"] and not (cards["volume"]["mom"]["better"] or cards["volume"]["mom"]["worse"])
    html = client.get(f"/reports/?{NOV}").content.decode()
    card = html.split('data-measure="repeat_rate"', 1)[1].split("</div>\n  </div>", 1)[0]
    assert 'class="worse"' in card and 'class="better"' not in card
    table = client.get(f"/reports/table/?{NOV}&group_by=contact_type&compare=1").content.decode()
    assert 'class="worse"' in table


def test_a_drill_down_on_a_unit_or_category_id_past_the_databases_integers_is_not_found(
        world: World, history: list[Ticket]) -> None:
    """group=99999999999999999999 (a tampered or mistyped link) on a department, branch or category list was a 500
    (OverflowError naming the group); it is a 404 like any unknown group."""
    client = Client()
    client.force_login(world.users["supervisor"])
    for group_by in ("department", "branch", "category", "category_root", "category_mid"):
        for measure in ("volume", "hops"):
            response = client.get(f"/reports/tickets/?month=2026-11&measure={measure}&group_by={group_by}"
                                  "&group=99999999999999999999999")
            assert response.status_code == 404, (group_by, measure)
    unit = world.units["netmaint"].pk
    assert client.get(f"/reports/tickets/?month=2026-11&measure=volume&group_by=department&group={unit}"
                      ).status_code == 200


def test_the_daily_trend_runs_day_by_day_with_the_quiet_days_at_zero(world: World, history: list[Ticket]) -> None:
    """The trend's axis has every day of the month: a day without work orders is a 0 bar without a link, not left
    out (the chart joined the days around it as if they were next to each other)."""
    client = Client()
    client.force_login(world.users["supervisor"])
    trend = client.get("/reports/?month=2026-11").context["charts"]["trend"]
    assert trend["days"] == [f"2026-11-{day:02d}" for day in range(1, 31)]
    busy = {r.label: r for r in m.table(world.user("supervisor"), m.Period.month(2026, 11), "day")}
    assert 0 < len(busy) < 30
    for label, volume, url in zip(trend["days"], trend["volume"], trend["urls"]["volume"], strict=True):
        if label in busy:
            assert volume == busy[label].values["volume"] and (url is not None) == bool(volume)
        else:
            assert volume == 0 and url is None


def _filter_bar_submit(html: str, **changes: str) -> dict[str, str]:
    """What a browser sends when the filter bar's Show is pressed (its inputs and selected options), with changes."""
    form = re.search(r'<form class="card report-filters".*?</form>', html, re.S)
    assert form is not None
    sent: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", form.group(0)):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            sent[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form.group(0), re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        sent[name] = chosen.group(1) if chosen else ""
    sent.update(changes)
    return sent


def test_the_filter_bar_keeps_the_pages_grouping_and_the_region(world: World, history: list[Ticket]) -> None:
    client = _client(world, "supervisor")
    # Scorecard of departments, region filter from a link: Show with another month stays on departments of JM.
    page = client.get(f"/reports/scorecard/?{NOV}&region=JM&unit_kind=department").content.decode()
    sent = _filter_bar_submit(page, month="2026-10")
    assert (sent.get("unit_kind"), sent.get("region")) == ("department", "JM")
    again = client.get("/reports/scorecard/", sent).content.decode()
    assert re.search(r'href="\?[^"]*unit_kind=department" aria-current="page"', again)
    # The KPI table grouped by channel with the comparison: Show keeps both.
    page = client.get(f"/reports/table/?{NOV}&group_by=channel&compare=1").content.decode()
    sent = _filter_bar_submit(page, month="2026-10")
    assert (sent.get("group_by"), sent.get("compare")) == ("channel", "1")
    again = client.get("/reports/table/", sent).content.decode()
    assert re.search(r'group_by=channel" aria-current="page"', again) and 'aria-pressed="true"' in again


@pytest.mark.parametrize("query", ["start=2026-11-30&end=2026-11-01", "start=2026-11-31&end=2026-12-05",
                                   "month=2026-13", "start=2026-11-01"])
def test_a_period_that_cannot_be_read_says_so(world: World, history: list[Ticket], query: str) -> None:
    """A range whose start is after its end, a date or month that does not exist: the pages showed this month's
    figures without a word, as if they were the period asked for."""
    client = _client(world, "supervisor")
    for page in ("/reports/", "/reports/table/", "/reports/scorecard/"):
        html = client.get(f"{page}?{query}").content.decode()
        assert 'id="period-unread"' in html and "无法识别所选时段" in html, page
    with translation.override("en"):
        html = client.get(f"/reports/?{query}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="period-unread"' in html
    for fine in ("", NOV, "start=2026-11-01&end=2026-11-15"):
        assert 'id="period-unread"' not in client.get(f"/reports/?{fine}").content.decode()


def test_every_kept_report_can_be_reached_from_the_reports_page(world: World, settings, tmp_path) -> None:
    """A plain first 120: the company's administrator never saw the older months (nor, at a company's size, most
    regions of the latest); the list goes on page by page, newest month first."""
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.utils import timezone

    settings.MEDIA_ROOT = tmp_path
    kept = []
    for month in range(1, 13):
        for number in range(11):
            report = StoredReport(period=dt.date(2025, month, 1), scope=f"R{number:02d}", size=1,
                                  created_at=timezone.now())
            report.file.save(f"r-{month}-{number}.xlsx", ContentFile(b"x"), save=True)
            kept.append(report.pk)
    client = _client(world, "admin")
    seen: list[int] = []
    url = "/reports/files/"
    for _turn in range(5):
        html = client.get(url).content.decode()
        seen += [int(pk) for pk in re.findall(r'href="/reports/files/(\d+)/"', html)]
        more = re.search(r'href="(\?[^"]*page=\d+)" rel="next"', html)
        if more is None:
            break
        url = "/reports/files/" + more.group(1).replace("&amp;", "&")
    assert sorted(seen) == sorted(kept) and len(seen) == len(set(seen))
    first = client.get("/reports/files/").content.decode()
    assert first.index(">2025-12<") < first.index(">2025-11<")


def test_a_region_filter_is_read_in_any_case(world: World, history: list[Ticket]) -> None:
    """?region=jm (typed, or from a link that kept the case) showed no work order at all and the company's scheme."""
    client = _client(world, "admin")
    volume = re.compile(r'data-measure="volume">.*?<a href="[^"]+">(\d+)</a>', re.S)
    upper = volume.search(client.get(f"/reports/?{NOV}&region=JM").content.decode())
    lower = volume.search(client.get(f"/reports/?{NOV}&region=jm").content.decode())
    assert upper is not None and lower is not None and int(upper.group(1)) > 0
    assert lower.group(1) == upper.group(1)


def test_a_scorecard_export_of_some_days_is_named_for_them(world: World, history: list[Ticket]) -> None:
    client = _client(world, "supervisor")
    month = client.get(f"/reports/scorecard/?{NOV}&unit_kind=branch&format=csv")
    assert 'filename="scorecard-branch-202611.csv"' in month["Content-Disposition"]
    days = client.get("/reports/scorecard/?start=2026-11-05&end=2026-11-20&unit_kind=branch&format=csv")
    assert 'filename="scorecard-branch-20261105-20261120.csv"' in days["Content-Disposition"]


@pytest.mark.parametrize(("who", "shown"), [("supervisor", True), ("head", True), ("auditor", True), ("admin", True),
                                             ("dispatcher", True), ("agent", False), ("specialist", False),
                                             ("clerk", False), ("manager", False)])
def test_the_main_navigation_leads_to_the_reports(world: World, who: str, shown: bool) -> None:
    """No page linked to /reports/: the KPI dashboard, tables, scorecards and monthly reports were reached only by
    typing the address. Supervisors, department heads and auditors (and administrators) get 'Reports' (报表)."""
    html = _client(world, who).get("/").content.decode()
    nav = html[html.index('<nav class="mainnav"'):html.index("</nav>", html.index('<nav class="mainnav"'))]
    assert ('href="/reports/"' in nav and "报表" in nav) is shown
    if shown:
        page = _client(world, who).get("/reports/?" + NOV).content.decode()
        assert '<a href="/reports/" aria-current="page" id="nav-reports">' in page


def test_assessment_schemes_and_items_are_named_in_the_users_language(world: World, history: list[Ticket]) -> None:
    from loopdesk.reports.scorecards import active_scheme

    scheme = active_scheme()
    assert scheme is not None and scheme.name_en  # the seeded scheme comes with English names
    items = list(scheme.items.all())
    assert all(item.name_en for item in items)
    untranslated = items[-1]  # an item an administrator named in Chinese only: shown in Chinese in both languages
    untranslated.name_en = ""
    untranslated.save(update_fields=["name_en"])
    client = _client(world, "supervisor")
    url = f"/reports/scorecard/?{NOV}&unit_kind=department"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert scheme.name_en in english and scheme.name not in english
    for item in items[:-1]:  # each item's column heading (the method's label quotes the Chinese term: 短板改善)
        assert f"<th>{item.name_en}<br>" in english and f"<th>{item.name}<br>" not in english
    assert f"<th>{untranslated.name}<br>" in english
    export = b"".join(client.get(url + "&format=csv", HTTP_ACCEPT_LANGUAGE="en").streaming_content).decode("utf-8-sig")
    header = export.splitlines()[0]
    assert f"{items[0].name_en} (" in header and items[0].name not in header
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert scheme.name in chinese and all(f"<th>{item.name}<br>" in chinese for item in items)
    assert not any(item.name_en in chinese for item in items[:-1])


def test_a_drill_down_export_is_named_for_its_period(world: World, history: list[Ticket]) -> None:
    """tickets-volume-20261101.csv read as the list of 1 November (it was November's), a range's as its first day."""
    client = _client(world, "supervisor")
    for query, span in ((NOV, "202611"), ("start=2026-11-05&end=2026-11-20", "20261105-20261120")):
        for measure, stem in (("volume", "tickets"), ("hops", "hops")):
            for fmt in ("csv", "xlsx"):
                response = client.get(f"/reports/tickets/?{query}&measure={measure}&format={fmt}")
                assert response.status_code == 200
                assert f'filename="{stem}-{measure}-{span}.{fmt}"' in response["Content-Disposition"], (query, fmt)


def test_a_nul_character_in_a_filter_or_group_is_no_server_error(world: World, history: list[Ticket]) -> None:
    """?brand=%00 (a scanner, a broken link) was a 500 on PostgreSQL, whose text cannot hold NUL: a region with it
    matches nothing; a brand, channel or tier with it is none of the filter bar's choices, dropped with its problem
    next to its field (the figures of "All", as the field shows) and its export refused (400, not a 500); a
    drill-down group with it is unknown (404)."""
    client = _client(world, "supervisor")
    volume = re.compile(r'data-measure="volume">.*?>(\d+)<', re.S)
    for query, shown in (("brand=%00", "9"), ("region=J%00", "0"), ("channel=hot%00line", "9"), ("tier=%00", "9")):
        page = client.get(f"/reports/?{NOV}&{query}")
        assert page.status_code == 200, query
        found = volume.search(page.content.decode())
        assert found is not None and found.group(1) == shown, query
        assert ('class="field-error" id="f-' in page.content.decode()) == (shown == "9"), query
        export = client.get(f"/reports/table/?{NOV}&group_by=brand&{query}&format=csv").status_code
        assert export == (400 if shown == "9" else 200), query
        assert client.get(f"/reports/scorecard/?{NOV}&{query}").status_code == 200
    drill = client.get(f"/reports/tickets/?{NOV}&measure=volume&group_by=brand&group=szx%00")
    assert drill.status_code == 404


REPORT_PAGES = ("/reports/?" + NOV, "/reports/table/?" + NOV, "/reports/table/?" + NOV + "&format=csv",
                "/reports/tickets/?" + NOV + "&measure=volume", "/reports/tickets/?" + NOV + "&measure=hops",
                "/reports/scorecard/?" + NOV, "/reports/files/")


@pytest.mark.parametrize(("who", "allowed"), [("supervisor", True), ("head", True), ("auditor", True),
                                               ("admin", True), ("dispatcher", True), ("agent", False),
                                               ("specialist", False), ("clerk", False), ("manager", False)])
def test_report_pages_are_for_those_the_navigation_offers_them_to(world: World, history: list[Ticket], who: str,
                                                                  allowed: bool) -> None:
    """Agents and specialist handlers opened every report page by typing its address (figures of their own work
    orders), though the navigation offered them none: they are refused (403), a stored report too; the report tabs
    on the import page, which agents may use, are not offered to them either."""
    client = _client(world, who)
    for url in REPORT_PAGES:
        assert client.get(url).status_code == (200 if allowed else 403), url
    produce_monthly_report(2026, 11, "JM")
    stored = StoredReport.objects.get(scope="JM")
    # (A department head sees figures of their work orders only, not their region's workbook: 404 as before.)
    assert (client.get(f"/reports/files/{stored.pk}/").status_code == 403) is not allowed
    if not allowed:
        assert "读取报表" in client.get("/reports/").content.decode()
    if policy.can_create(world.users[who]):
        nav = client.get("/reports/import/").content.decode()
        assert ('href="/reports/scorecard/' in nav) is allowed


def test_the_monthly_reports_page_tells_a_head_why_it_lists_none(world: World, history: list[Ticket]) -> None:
    """A department head gets no region workbook (their figures are those of their work orders): the list said "No
    reports yet." as if none had been produced."""
    produce_monthly_report(2026, 11, "JM")
    head = _client(world, "head").get("/reports/files/").content.decode()
    assert "月报涵盖整个地市" in head and "暂无" not in head.split('id="files-empty"')[1][:80]
    assert "月报涵盖整个地市" not in _client(world, "supervisor").get("/reports/files/").content.decode()
    StoredReport.objects.all().delete()
    assert "月报涵盖整个地市" not in _client(world, "supervisor").get("/reports/files/").content.decode()


@pytest.mark.parametrize(("language", "words"), [("en", ("Not satisfied at callback", "Unreachable at callback")),
                                                 ("zh-hans", ("回访不满意量", "回访联系不上量"))])
def test_the_callback_verdict_lists_are_named(world: World, history: list[Ticket], language: str,
                                              words: tuple[str, str]) -> None:
    """The lists of the work orders not satisfied and unreachable at the callback (drill-down measures without a
    column of their own) were headed with the measure's key, "dissatisfied" / "unreachable", in Chinese too."""
    client = _client(world, "supervisor")
    for measure, word in zip(("dissatisfied", "unreachable"), words, strict=True):
        page = client.get(f"/reports/tickets/?{NOV}&measure={measure}", HTTP_ACCEPT_LANGUAGE=language).content
        assert f"<h1>{word}</h1>" in page.decode(), measure
        assert f">{measure}<" not in page.decode()


@pytest.mark.parametrize(("language", "one", "many"), [
    ("en", '<span id="drill-total">1</span> work order<', '<span id="drill-total">9</span> work orders<'),
    ("zh-hans", '<span id="drill-total">1</span> 张工单<', '<span id="drill-total">9</span> 张工单<')])
def test_a_drill_down_list_counts_its_work_orders_in_words(world: World, history: list[Ticket], language: str,
                                                          one: str, many: str) -> None:
    """The English list of one work order read "1 work orders" (and of one hop "1 hops")."""
    client = _client(world, "supervisor")
    single = client.get(f"/reports/tickets/?{NOV}&measure=fcr", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert one in single
    every = client.get(f"/reports/tickets/?{NOV}&measure=volume", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert many in every
    hop = client.get(f"/reports/tickets/?{NOV}&measure=hops_returned", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert ('<span id="drill-total">1</span> hop ' if language == "en" else
            '<span id="drill-total">1</span> 个环节') in hop

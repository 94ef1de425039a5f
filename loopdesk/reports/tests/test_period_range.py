"""The filter bar's From / To: a range of days honoured by every page, export and drill-down; problems next to their
fields, in the user's language."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from loopdesk.conftest import World
from loopdesk.reports import measures as m
from loopdesk.reports.tests.test_views import _filter_bar_submit
from loopdesk.tickets.models import Ticket


def _client(world: World, who: str = "supervisor") -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def test_the_filter_bar_has_from_and_to_and_the_range_reaches_every_number(world: World,
                                                                            history: list[Ticket]) -> None:
    client = _client(world)
    page = client.get("/reports/?month=2026-11").content.decode()
    assert 'name="start"' in page and 'name="end"' in page and 'type="date"' in page
    sent = _filter_bar_submit(page, start="2026-11-03", end="2026-11-04")
    html = client.get("/reports/", sent).content.decode()
    expected = m.totals(world.user("supervisor"), m.Period(m.dt.date(2026, 11, 3), m.dt.date(2026, 11, 4)))[None]
    assert 0 < expected["created"] < len(history)
    assert 'id="period-unread"' not in html
    assert 'value="2026-11-03"' in html and 'value="2026-11-04"' in html
    assert re.search(r'id="f-month" type="month" name="month" value=""', html)  # the range gives the period
    link = re.search(r'data-measure="volume">.*?<a href="([^"]+)">(\d+)</a>', html, re.S)
    assert link is not None and int(link.group(2)) == expected["created"]
    url = link.group(1).replace("&amp;", "&")
    assert "start=2026-11-03" in url and "end=2026-11-04" in url
    drill = client.get(url).content.decode()
    assert f'<span id="drill-total">{expected["created"]}</span>' in drill
    csv_body = b"".join(client.get(url + "&format=csv").streaming_content).decode("utf-8-sig")
    assert len(csv_body.strip().splitlines()) - 1 == expected["created"]
    # The table and its export use the range too; choosing a month again (From / To emptied) shows the month.
    table = client.get("/reports/table/", {**sent, "group_by": "channel", "format": "csv"})
    body = b"".join(table.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert sum(int(line.split(",")[1]) for line in body[1:]) == expected["created"]
    again = client.get("/reports/", {**sent, "start": "", "end": "", "month": "2026-11"}).content.decode()
    assert re.search(r'data-measure="volume">.*?<a href="[^"]+">9</a>', again, re.S)


@pytest.mark.parametrize(("query", "field", "zh", "en"), [
    ("start=2026-11-30&end=2026-11-01", "end", "结束日期早于开始日期", "The end date is before the start date."),
    ("start=2026-11-31&end=2026-12-05", "start", "请输入存在的日期", "Enter a date that exists, as YYYY-MM-DD."),
    ("start=2026-11-01", "end", "请同时填写结束日期", "Enter the end date too, or leave both empty."),
    ("end=2026-11-01", "start", "请同时填写开始日期", "Enter the start date too, or leave both empty."),
    ("start=2024-01-01&end=2026-11-01", "end", "最长 366 天", "A period is at most 366 days"),
    ("start=0001-01-01&end=0001-01-02", "start", "1900", "Enter a date between 1900 and 2999."),
    ("month=2026-13", "month", "请输入存在的月份", "Enter a month that exists, as YYYY-MM."),
])
def test_a_range_that_cannot_be_used_is_an_error_on_its_field(world: World, history: list[Ticket], query: str,
                                                               field: str, zh: str, en: str) -> None:
    client = _client(world)
    for page in ("/reports/", "/reports/table/", "/reports/scorecard/"):
        html = client.get(f"{page}?{query}").content.decode()
        error = re.search(rf'<span class="field-error" id="f-{field}-error">([^<]*)</span>', html)
        assert error is not None and zh in error.group(1), page
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', html)
    html = client.get(f"/reports/?{query}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    error = re.search(rf'<span class="field-error" id="f-{field}-error">([^<]*)</span>', html)
    assert error is not None and en in error.group(1)
    # An export of it is refused with the problem, not a file of this month named as the period asked for.
    for page in ("/reports/table/?group_by=channel&", "/reports/tickets/?measure=volume&",
                 "/reports/scorecard/?"):
        response = client.get(f"{page}{query}&format=csv")
        assert response.status_code == 400 and zh in response.content.decode(), page
    assert 'id="period-unread"' in client.get(f"/reports/tickets/?measure=volume&{query}").content.decode()


def test_weeks_and_part_months_are_named_by_the_days_they_cover(world: World, history: list[Ticket]) -> None:
    """November 2026 starts on a Sunday: its first week row counts 1 November only, and was labelled 2026-10-26
    (its Monday, outside the month); a range from a Wednesday likewise. Page, CSV and XLSX say the days covered."""
    import io

    from openpyxl import load_workbook

    supervisor = world.user("supervisor")
    november = m.Period.month(2026, 11)
    labels = m.group_labels("week", [m.dt.date(2026, 10, 26), m.dt.date(2026, 11, 30)], period=november)
    assert labels == {m.dt.date(2026, 10, 26): "2026-W44 (2026-11-01 – 2026-11-01)",
                      m.dt.date(2026, 11, 30): "2026-W49 (2026-11-30 – 2026-11-30)"}
    rows = m.table(supervisor, november, "week")
    assert rows[0].label == "2026-W45 (2026-11-02 – 2026-11-08)"
    client = _client(world)
    query = "start=2026-11-04&end=2026-11-20&group_by=week"
    html = client.get(f"/reports/table/?{query}").content.decode()
    assert "2026-W45 (2026-11-04 – 2026-11-08)" in html and ">2026-11-02<" not in html
    link = re.search(r'<a href="([^"]*measure=volume[^"]*group=2026-11-02[^"]*)">(\d+)</a>', html)
    assert link is not None
    drill = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert f'<span id="drill-total">{link.group(2)}</span>' in drill
    assert "2026-W45 (2026-11-04 – 2026-11-08)" in drill  # the list's heading names the same days
    csv_rows = b"".join(client.get(f"/reports/table/?{query}&format=csv").streaming_content).decode("utf-8-sig")
    assert csv_rows.splitlines()[1].startswith("2026-W45 (2026-11-04 – 2026-11-08),")
    book = load_workbook(io.BytesIO(b"".join(client.get(f"/reports/table/?{query}&format=xlsx").streaming_content)))
    assert book.worksheets[0]["A2"].value == "2026-W45 (2026-11-04 – 2026-11-08)"
    # A month the range covers in part is named with its days; a whole month stays 2026-11.
    part = m.table(supervisor, m.Period(m.dt.date(2026, 11, 4), m.dt.date(2026, 11, 20)), "month")
    assert [r.label for r in part] == ["2026-11 (2026-11-04 – 2026-11-20)"]
    assert [r.label for r in m.table(supervisor, m.Period.month(2026, 11), "month")] == ["2026-11"]


@pytest.mark.parametrize(("query", "previous", "year"), [
    ("start=2026-11-04&end=2026-11-20", "2026-10-18 – 2026-11-03", "2025-11-04 – 2025-11-20"),
    ("month=2026-11", "2026-10-01 – 2026-10-31", "2025-11-01 – 2025-11-30"),
])
def test_the_periods_compared_with_are_named(world: World, history: list[Ticket], query: str, previous: str,
                                             year: str) -> None:
    """MoM of a From / To range compares with the days just before it, not a month: the pages say which days."""
    for path in ("/reports/?", "/reports/table/?group_by=channel&compare=1&", "/reports/scorecard/?"):
        url = path + query
        for language, words in (("zh-hans", ("环比对照期", "同比对照期")), ("en", ("MoM against", "YoY against"))):
            html = _client(world).get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            found = re.search(r'id="period-compared"[^>]*>(.*?)</', html, re.S)
            assert found is not None, (url, language)
            text = found.group(1)
            assert words[0] in text and previous in text and words[1] in text and year in text, (url, text)


def test_a_table_by_day_has_every_day_of_the_period(world: World, history: list[Ticket]) -> None:
    """As the dashboard's trend and the monthly workbook's daily sheet: a quiet day is a row of 0 work orders, not
    left out (a daily table taken into Excel joined the days around it)."""
    client = _client(world)
    query = {"start": "2026-10-30", "end": "2026-11-10", "group_by": "day"}
    page = client.get("/reports/table/", query)
    labels = [row["label"] for row in page.context["rows"]]
    assert labels == [f"2026-10-{d}" for d in (30, 31)] + [f"2026-11-{d:02d}" for d in range(1, 11)]
    body = b"".join(client.get("/reports/table/", {**query, "format": "csv"}).streaming_content)
    lines = body.decode("utf-8-sig").strip().splitlines()[1:]
    assert len(lines) == 12 and lines[0].startswith("2026-10-30,0,")
    assert sum(int(line.split(",")[1]) for line in lines) == len(history)

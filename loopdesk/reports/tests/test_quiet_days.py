"""A quiet day in a table by day: 0.0 complaints per 10,000 customers when there are customers, not "no figure"."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.test import Client
from django.utils import translation

from loopdesk.conftest import World
from loopdesk.reports import measures as m
from loopdesk.reports import monthly
from loopdesk.reports.exports import TABLE_MEASURES

PER_10K = TABLE_MEASURES.index("per_10k")


def _per_10k_cells(world: World) -> tuple[list[str], list[object]]:
    client = Client()
    client.force_login(world.users["supervisor"])
    page = client.get("/reports/table/", {"start": "2026-11-01", "end": "2026-11-03", "group_by": "day"})
    on_page = [row["cells"][PER_10K]["text"] for row in page.context["rows"]]
    with translation.override("en"):
        sheets = monthly.workbook_sheets(world.user("supervisor"),
                                         m.Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)), None)
    _title, _header, daily = next(sheet for sheet in sheets if sheet[0] == "Daily trend")
    return on_page, [row[1 + PER_10K] for row in daily]


def test_a_quiet_day_has_no_complaints_per_10000_customers_when_there_are_customers(world: World) -> None:
    cache.clear()
    on_page, in_workbook = _per_10k_cells(world)  # no customers: no figure
    assert on_page == ["—"] * 3 and set(in_workbook) == {""}
    world.customer()
    cache.clear()
    on_page, in_workbook = _per_10k_cells(world)
    assert on_page == ["0.0"] * 3
    assert len(in_workbook) == 30 and set(in_workbook) == {0.0}

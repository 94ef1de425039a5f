"""Property: over From / To ranges (within a month, across months, a whole year, starting mid-week), with and
without filters, every count of every grouping drills down to exactly as many rows (tickets, or hops for the hop
counts), for a region-wide user (rollups) and a narrow one (facts)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from loopdesk.conftest import World
from loopdesk.reports import measures as m
from loopdesk.tickets.models import Ticket

RANGES = [
    m.Period(dt.date(2026, 11, 4), dt.date(2026, 11, 20)),   # within a month, Wednesday to Friday
    m.Period(dt.date(2026, 10, 7), dt.date(2026, 11, 12)),   # across months: two part months, weeks cut at both ends
    m.Period(dt.date(2025, 11, 2), dt.date(2026, 11, 1)),    # a year (366 days at most), months cut at both ends
    m.Period(dt.date(2026, 11, 3), dt.date(2026, 11, 3)),    # one day
]
GROUPINGS = (None, *m.GROUPS)


def _expected(values: dict, measure: str, counters: dict) -> int:
    if measure == "dissatisfied":  # no measure of its own: its counter (callbacks completed are on the answer day)
        return counters["cb_dissatisfied"]
    return values[measure]


def _filters(world: World) -> list[dict]:
    return [{}, {"category": world.categories["billing"].pk}, {"category": world.categories["coverage"].pk},
            {"channel": "hotline"},
            {"department": world.units["netmaint"].pk, "tier": "regular"}]


@pytest.mark.parametrize("period", RANGES, ids=lambda p: f"{p.start}-{p.end}")
def test_every_count_of_a_range_drills_down_to_as_many_rows(world: World, full_history: list[Ticket],
                                                           period: m.Period) -> None:
    measures = [name for name in m.DRILLABLE if name != "unreachable"]
    rng = random.Random(period.start.toordinal())
    checked = 0
    for who in ("supervisor", "agent"):
        user = world.user(who)
        for filters in _filters(world):
            # Every grouping without filters; with a filter a random few, so the test stays quick.
            groupings = GROUPINGS if not filters else rng.sample(GROUPINGS, 4)
            for group_by in groupings:
                rows = (m.table(user, period, group_by, filters) if group_by
                        else [m.TableRow(None, "", m.report(user, period, filters).values, {})])
                sums = m.totals(user, period, filters, group_by)
                for row in rows:
                    for measure in measures:
                        want = _expected(row.values, measure, sums[row.key])
                        got = m.drilldown(user, measure, period, filters, group_by, row.key).count()
                        assert got == want, (who, filters, group_by, row.key, measure)
                        if m.is_hop_measure(measure):
                            hops = m.hop_drilldown(user, measure, period, filters, group_by, row.key).count()
                            assert hops == want, (who, filters, group_by, row.key, measure)
                        checked += want
    assert checked > 0

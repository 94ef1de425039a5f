"""The scorecard sums only the counters its items' measures are derived from, in one query per period and
channel set (by unit and top category): every score must equal the measures of the full totals, for a
region-wide user (rollups), a narrow user (facts), a filter and a period that is not a month (daily cube)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from loopdesk.conftest import World
from loopdesk.reports import measures as m
from loopdesk.reports import scorecards
from loopdesk.reports.models import AssessmentItem, ScoreMethod
from loopdesk.reports.rollups import COUNTER_NAMES
from loopdesk.tickets.models import Ticket

NOV = m.Period.month(2026, 11)


@pytest.mark.parametrize("seed", range(20))
def test_every_rate_is_derived_from_its_listed_counters(seed: int) -> None:
    assert set(scorecards.RATE_MEASURES) <= set(m.MEASURE_COUNTERS)
    rng = random.Random(seed)
    full = {name: rng.randint(0, 50) for name in COUNTER_NAMES}
    for measure, counters in m.MEASURE_COUNTERS.items():
        partial = dict.fromkeys(COUNTER_NAMES, 0) | {name: full[name] for name in counters}
        assert m.derive(partial)[measure] == m.derive(full)[measure], measure


def _expected(viewer: Any, card: scorecards.Scorecard, filters: dict[str, Any] | None) -> None:
    """Check every item of every unit against the measures of the full totals (every counter summed)."""
    previous = card.period.previous()

    def full(p: m.Period, item: AssessmentItem, group: Any) -> dict[Any, m.Totals]:
        f = dict(filters or {})
        if scorecards.item_channels(item):
            f["channel"] = scorecards.item_channels(item)
        return m.totals(viewer, p, f, group)

    units = set()
    for item in card.items:
        units |= set(full(card.period, item, card.unit_kind))
    assert {u.unit_id for u in card.units} == units - {0}
    checked = 0
    for unit in card.units:
        for item, got in zip(card.items, unit.items, strict=True):
            now = full(card.period, item, card.unit_kind).get(unit.unit_id)
            before = full(previous, item, card.unit_kind).get(unit.unit_id)
            if item.method == ScoreMethod.SHORT_BOARD:
                cube = full(previous, item, (card.unit_kind, "category_root"))
                derived = {c: m.derive(t)[item.measure] for (u, c), t in cube.items() if u == unit.unit_id}
                rates = {c: float(v) for c, v in derived.items() if v is not None}
                if not rates:
                    assert (got.category, got.value, got.previous) == (None, None, None)
                    continue
                assert got.previous == rates[got.category]
                assert got.previous == min(rates.values())  # survey satisfaction: higher is better
                now_cube = full(card.period, item, (card.unit_kind, "category_root"))
                now_t = now_cube.get((unit.unit_id, got.category))
                assert got.value == (m.derive(now_t)[item.measure] if now_t else None)
            else:
                assert got.value == (m.derive(now)[item.measure] if now else None), (item.name, unit.label)
                assert got.previous == (m.derive(before)[item.measure] if before else None), (item.name, unit.label)
            checked += got.value is not None
    assert checked > 0


@pytest.mark.parametrize("viewer_key, unit_kind, filters, period", [
    ("supervisor", "department", None, NOV),
    ("supervisor", "branch", None, NOV),
    ("supervisor", "department", {"contact_type": "complaint"}, NOV),
    ("supervisor", "department", {"channel": "hotline"}, NOV),
    ("supervisor", "department", None, m.Period(dt.date(2026, 11, 3), dt.date(2026, 11, 27))),
    ("agent", "department", None, NOV),
])
def test_every_score_equals_the_measures_of_the_full_totals(world: World, full_history: list[Ticket], viewer_key: str,
                                                             unit_kind: str, filters: dict[str, Any] | None,
                                                             period: m.Period) -> None:
    scheme = scorecards.active_scheme()
    assert scheme is not None
    viewer = world.user(viewer_key)
    card = scorecards.score(viewer, scheme, period, unit_kind, filters)
    assert card.units
    _expected(viewer, card, filters)


def test_units_with_equal_totals_share_their_rank() -> None:
    from loopdesk.reports.scorecards import UnitScore, rank_units

    units = [UnitScore(1, "乙", [], 80.0), UnitScore(2, "甲", [], 95.5), UnitScore(3, "丙", [], 80.0),
             UnitScore(4, "丁", [], 60.0), UnitScore(5, "戊", [], 95.5)]
    rank_units(units)
    assert {u.unit_id: u.rank for u in units} == {2: 1, 5: 1, 1: 3, 3: 3, 4: 5}
    assert [u.rank for u in units] == [1, 1, 3, 3, 5]

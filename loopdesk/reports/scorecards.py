"""Scorecards: an assessment scheme (editable items and weights) scores every branch or department for a period.

Methods (seed 000's KPI scheme: satisfaction attainment and improvement, short-board improvement,
window-service satisfaction, plus the work-order KPIs):
- attainment: weight × min(1, value / target) (for "lower is better" measures: min(1, target / value));
- improvement: weight × clamp(gain / target, 0, 1), gain = value − last period's (reversed when lower is better);
- short board (短板改善): the same improvement, on the unit's weakest top category of last period.
An item without data for a unit (no callbacks, say) is left out and the unit's total is scaled to the
weights it was scored on, so a unit is not punished for a measure that does not apply to it. The scored weight is
shown next to the total, and a unit scored on less than half of the scheme's weights (MIN_RANKED_SHARE: the call
room, rated by window surveys alone) is not ranked against the units scored on most of the scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext_lazy as _

from loopdesk.org.choices import UnitLevel
from loopdesk.reports import measures as m
from loopdesk.reports.models import AssessmentItem, AssessmentScheme, ScoreMethod
from loopdesk.tickets.policy import is_admin

RATE_MEASURES = ("satisfaction", "timeliness", "fcr_rate", "repeat_rate", "return_rate", "callback_rate",
                 "overtime_rate", "problem_rate", "survey_satisfaction", "survey_response_rate", "window_satisfaction",
                 "window_response_rate", "hop_timeliness")
LOWER_IS_BETTER = frozenset({"repeat_rate", "return_rate", "overtime_rate", "problem_rate"})
# A unit whose scored items carry less than this share of the scheme's weights keeps its (scaled) total but gets no
# rank: 15 points of window-service surveys scaled to 100 must not outrank a unit scored on every item.
MIN_RANKED_SHARE = 0.5
UNIT_KINDS = {"branch": _("Branches"), "department": _("Departments")}

# Seed 000: the group's 2007 customer-service KPIs (satisfaction attainment/improvement, short boards,
# window-service satisfaction) and the work-order KPIs of domain.md §7; 100 points. "Lead over competitors"
# needs survey data on competitors that the platform does not hold, so it is not an item.
DEFAULT_SCHEME = (
    ("综合满意度达标", "Satisfaction attainment", "survey_satisfaction", ScoreMethod.ATTAINMENT, 0.90, 20, ""),
    ("综合满意度改善", "Satisfaction improvement", "survey_satisfaction", ScoreMethod.IMPROVEMENT, 0.02, 10, ""),
    ("短板改善", "Short-board improvement", "survey_satisfaction", ScoreMethod.SHORT_BOARD, 0.05, 15, ""),
    ("窗口服务满意度", "Window-service satisfaction", "window_satisfaction", ScoreMethod.ATTAINMENT, 0.90, 15,
     "hall,hotline"),
    ("工单处理及时率", "Work-order timeliness", "timeliness", ScoreMethod.ATTAINMENT, 0.95, 20, ""),
    ("回访完成率", "Callback completion", "callback_rate", ScoreMethod.ATTAINMENT, 0.90, 10, ""),
    ("重复投诉率", "Repeat-complaint rate", "repeat_rate", ScoreMethod.ATTAINMENT, 0.05, 10, ""),
)
DEFAULT_SCHEME_NAME = ("客户服务考核（种子000）", "Customer-service assessment (seed 000)")


def create_default_scheme() -> AssessmentScheme:
    with transaction.atomic():
        scheme = AssessmentScheme.objects.create(
            name=DEFAULT_SCHEME_NAME[0], name_en=DEFAULT_SCHEME_NAME[1],
            description="满意度达标/改善、短板改善、窗口服务满意度、工单及时率等。")
        for position, (name, name_en, measure, method, target, weight, channels) in enumerate(DEFAULT_SCHEME):
            AssessmentItem.objects.create(scheme=scheme, position=position, name=name, name_en=name_en,
                                          measure=measure, method=method, target=target, weight=weight,
                                          channels=channels)
    return scheme


def active_scheme(region: str = "") -> AssessmentScheme | None:
    """The region's own active scheme, else the company's (the newest active one of each)."""
    schemes = AssessmentScheme.objects.filter(is_active=True).order_by("-updated_at", "-id")
    own = schemes.filter(region=region).first() if region else None
    return own or schemes.filter(region="").first()


def scheme_region(viewer: Any, filters: dict[str, Any] | None = None) -> str:
    """The region whose scheme scores what the viewer sees: the region filtered on, else a city-level user's own
    region; "" (the company's scheme) for a province or the whole company."""
    region = str((filters or {}).get("region") or "")
    unit = getattr(viewer, "unit", None)
    if not region and unit is not None and unit.level not in (UnitLevel.HQ, UnitLevel.PROVINCE):
        region = unit.region
    return region


def scheme_for(viewer: Any, filters: dict[str, Any] | None = None) -> AssessmentScheme | None:
    return active_scheme(scheme_region(viewer, filters))


def may_edit_scheme(user: Any, scheme: AssessmentScheme | None) -> bool:
    """Administrators and province (or group) level users edit any scheme; a city company's users only their own
    region's (the company's scheme scores every other region too). The admin's permissions come on top."""
    if not getattr(user, "is_authenticated", False):
        return False
    unit = user.unit
    if is_admin(user) or (unit is not None and unit.level in (UnitLevel.HQ, UnitLevel.PROVINCE)):
        return True
    return bool(scheme is not None and unit is not None and scheme.region and scheme.region == unit.region)


@dataclass
class ItemScore:
    value: float | None
    previous: float | None
    points: float | None
    category: Any = None  # short board: the category it was measured on
    url: str | None = None  # the numerator's drill-down list (set by the scorecard page)
    category_label: str = ""  # short board: the category's name in the page's language (set by the scorecard page)

    @property
    def percent(self) -> str:
        """The value as the page shows it, to a tenth of a point as the dashboard and the export do (94.6 %, not
        a rounded 95 % that looks like a target of 95 % met while the item lost points)."""
        return "" if self.value is None else f"{self.value * 100:.1f}%"

    @property
    def previous_percent(self) -> str:
        return "" if self.previous is None else f"{self.previous * 100:.1f}%"


@dataclass
class UnitScore:
    unit_id: int
    label: str
    items: list[ItemScore]
    total: float | None = 0.0  # None: no item could be scored (no data for any of them), not 0 points
    rank: int | None = 0  # None for a unit without a total or scored on too little: listed after the ranked ones
    scored_weight: float = 0.0  # the weights of the items it was scored on
    full_weight: float = 0.0  # the scheme's weights (0: unknown, the unit is ranked)

    @property
    def rankable(self) -> bool:
        return self.total is not None and (
            self.full_weight <= 0 or self.scored_weight >= MIN_RANKED_SHARE * self.full_weight)

    @property
    def weight_label(self) -> str:
        return f"{self.scored_weight:g}/{self.full_weight:g}"


@dataclass
class Scorecard:
    scheme: AssessmentScheme
    items: list[AssessmentItem]
    period: m.Period
    unit_kind: str
    units: list[UnitScore] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # items that could not be scored (an unknown measure)


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def attainment(value: float | None, target: float, lower_better: bool) -> float | None:
    if value is None:
        return None
    if lower_better:
        return 1.0 if value <= 0 else _clamp(target / value)
    return _clamp(value / target) if target > 0 else 1.0


def improvement(value: float | None, previous: float | None, target: float, lower_better: bool) -> float | None:
    if value is None or previous is None:
        return None
    gain = (previous - value) if lower_better else (value - previous)
    return _clamp(gain / target) if target > 0 else float(gain >= 0)


def item_channels(item: AssessmentItem) -> list[str]:
    return [c.strip() for c in item.channels.split(",") if c.strip()]


def score(viewer: Any, scheme: AssessmentScheme, period: m.Period, unit_kind: str,
          filters: dict[str, Any] | None = None) -> Scorecard:
    """Score every unit of `unit_kind` ("branch" or "department") for `period` on the scheme's items."""
    items = list(scheme.items.all())
    previous = period.previous()
    unknown = {item.pk for item in items if item.measure not in RATE_MEASURES}
    # The counters each channel set's items are derived from: only those are summed (all of them for a rate
    # without a known list). One query per period and channel set, by unit and top category (short boards);
    # a unit's totals are the sums over its categories.
    needed: dict[tuple[str, ...], set[str]] = {}
    for item in items:
        if item.pk not in unknown:
            needed.setdefault(tuple(item_channels(item)), set()).update(
                m.MEASURE_COUNTERS.get(item.measure, m.COUNTER_NAMES))
    by_category: dict[tuple, dict[Any, m.Totals]] = {}
    by_unit: dict[tuple, dict[Any, m.Totals]] = {}
    per_unit: dict[tuple, dict[Any, list[tuple[Any, m.Totals]]]] = {}
    derived: dict[tuple, dict[str, float | int | None] | None] = {}

    def load(p: m.Period, channels: tuple[str, ...]) -> tuple:
        key = (p, channels)
        if key not in by_category:
            f = dict(filters or {})
            if channels:
                # The item's channels within the page's channel filter (none of them: the item has no data).
                chosen = f.get("channel")
                if chosen:
                    allowed = set(chosen) if isinstance(chosen, list | tuple | set | frozenset) else {chosen}
                    f["channel"] = [c for c in channels if c in allowed]
                else:
                    f["channel"] = list(channels)
            counters = sorted(needed.get(channels) or m.COUNTER_NAMES)
            cube = m.totals(viewer, p, f, (unit_kind, "category_root"), counters=counters)
            units: dict[Any, m.Totals] = {}
            rows: dict[Any, list[tuple[Any, m.Totals]]] = {}
            for (unit_id, category), t in cube.items():
                into = units.setdefault(unit_id, m._empty())
                for name in counters:
                    into[name] += t[name]
                rows.setdefault(unit_id, []).append((category, t))
            by_category[key], by_unit[key], per_unit[key] = cube, units, rows
        return key

    def values(p: m.Period, channels: tuple[str, ...], by_cat: bool) -> dict[Any, m.Totals]:
        key = load(p, channels)
        return by_category[key] if by_cat else by_unit[key]

    def measures(p: m.Period, channels: tuple[str, ...], unit: Any) -> dict[str, float | int | None] | None:
        key = load(p, channels)
        if (key, unit) not in derived:
            t = by_unit[key].get(unit)
            derived[(key, unit)] = m.derive(t) if t else None
        return derived[(key, unit)]

    units: set[int] = set()
    for item in items:
        units |= set(values(period, tuple(item_channels(item)), False))
    units.discard(0)
    labels = m.group_labels(unit_kind, units)
    card = Scorecard(scheme=scheme, items=items, period=period, unit_kind=unit_kind)
    # A measure the admin's choices would refuse (a row from before them, a raw UPDATE): the item is reported
    # and left out, as an item without data is, instead of failing the page.
    card.problems = [str(_("Item “%(item)s” has an unknown measure “%(measure)s” and is left out of the scores.")
                         % {"item": item.display_name(get_language()), "measure": item.measure})
                     for item in items if item.pk in unknown]
    scorable = sum(item.weight for item in items if item.pk not in unknown)
    for unit in units:
        scored: list[ItemScore] = []
        for item in items:
            if item.pk in unknown:
                scored.append(ItemScore(None, None, None))
                continue
            lower = item.measure in LOWER_IS_BETTER
            channels = tuple(item_channels(item))
            now_m = measures(period, channels, unit)
            before_m = measures(previous, channels, unit)
            value = now_m[item.measure] if now_m else None
            before = before_m[item.measure] if before_m else None
            category = None
            if item.method == ScoreMethod.ATTAINMENT:
                fraction = attainment(value, item.target, lower)
            elif item.method == ScoreMethod.IMPROVEMENT:
                fraction = improvement(value, before, item.target, lower)
            else:
                category, value, before = _short_board(
                    per_unit[load(previous, channels)].get(unit, []), values(period, channels, True), unit,
                    item.measure, lower)
                fraction = improvement(value, before, item.target, lower)
            points = None if fraction is None else round(fraction * item.weight, 2)
            scored.append(ItemScore(value, before, points, category))
        weights = sum(item.weight for item, s in zip(items, scored, strict=True) if s.points is not None)
        got = sum(s.points for s in scored if s.points is not None)
        full = sum(item.weight for item in items)
        total = round(got * full / weights, 2) if weights else None
        # The share needed for a rank is of the weights that can be scored at all (not an unknown measure's).
        card.units.append(UnitScore(unit, labels.get(unit, str(unit)), scored, total, scored_weight=float(weights),
                                    full_weight=float(scorable)))
    rank_units(card.units)
    return card


def rank_units(units: list[UnitScore]) -> None:
    """Sort by total (best first; equal totals by name) and rank them; equal totals share a rank and the next one
    skips (1, 2, 2, 4), so that the order of the names never decides which of two equal units ranks higher.
    A unit without a total (no item had data for it) gets no rank and comes last, instead of ranking as 0 points
    together with a unit that scored nothing; a unit scored on less than MIN_RANKED_SHARE of the weights keeps its
    total but gets no rank either, and comes after the ranked units (before those without a total)."""
    units.sort(key=lambda u: (u.total is None, not u.rankable, -(u.total or 0.0), u.label))
    for position, unit_score in enumerate(units, start=1):
        if not unit_score.rankable:
            unit_score.rank = None
            continue
        tied = position > 1 and unit_score.total == units[position - 2].total
        unit_score.rank = units[position - 2].rank if tied else position


def _short_board(before: list[tuple[Any, m.Totals]], now: dict[Any, m.Totals], unit: int, measure: str,
                 lower: bool) -> tuple[Any, float | None, float | None]:
    """The unit's weakest top category last period (`before`: the unit's (category, totals) then, in any
    order), with its value then and now. Equally weak categories: the one with the lowest id, so the choice never
    depends on the order the database returned the rows in."""
    worst: tuple[float, Any, float] | None = None
    for category, totals in before:
        value = m.derive(totals)[measure]
        if value is None:
            continue
        badness = value if lower else -value
        if worst is None or badness > worst[0] or (badness == worst[0] and _id_key(category) < _id_key(worst[1])):
            worst = (badness, category, value)
    if worst is None:
        return None, None, None
    category = worst[1]
    now_t = now.get((unit, category))
    return category, (m.derive(now_t)[measure] if now_t else None), worst[2]


def _id_key(category: Any) -> tuple[bool, Any]:
    """Sort key of a category id; no category (None) after every id."""
    return (category is None, category if category is not None else 0)


def header(card: Scorecard) -> list[str]:
    cols = [str(_("Rank")), str(UNIT_KINDS[card.unit_kind])]
    points = pgettext("score of an assessment item", "points")  # not the customer's loyalty points (积分)
    for item in card.items:
        # The value column holds percentages (71.43 for 71.43 %): its header says so, as the KPI table's does.
        name = item.display_name(get_language())
        cols += [f"{name} ({_value_label(item)}, %)", f"{name} ({points}/{item.weight:g})"]
    cols += [str(_("Scored weight")), str(_("Total"))]
    return cols


def _value_label(item: AssessmentItem) -> str:
    return str(m.MEASURES[item.measure][0]) if item.measure in m.MEASURES else item.measure


def rows(card: Scorecard) -> list[list[Any]]:
    out = []
    for unit in card.units:
        row: list[Any] = ["" if unit.rank is None else unit.rank, unit.label]
        for s in unit.items:
            row += ["" if s.value is None else round(s.value * 100, 2), "" if s.points is None else s.points]
        row += [unit.scored_weight if unit.total is not None else "", "" if unit.total is None else unit.total]
        out.append(row)
    return out

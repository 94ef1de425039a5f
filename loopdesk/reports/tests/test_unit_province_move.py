"""A unit moved to another province takes its window surveys' figures along at once (no rebuild): a room moved to a
city of the other province, and a whole city moved under the other province's company."""

from __future__ import annotations

from loopdesk.conftest import World
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.reports import measures as m
from loopdesk.reports import rollups
from loopdesk.reports.models import SurveyFact
from loopdesk.reports.monthly import Everyone
from loopdesk.tickets.models import Ticket


def _window_by_province() -> dict[str, int]:
    facts = dict(SurveyFact.objects.values_list("survey_id", "province"))
    provinces: dict[str, int] = {}
    for province in facts.values():
        provinces[province] = provinces.get(province, 0) + 1
    return provinces


def test_window_surveys_follow_a_unit_into_another_province(world: World, history: list[Ticket]) -> None:
    assert _window_by_province() == {"GD": 1}  # the hotline survey rated on the call room (JM, GD)
    fj = OrgUnit.objects.create(code="FJ", name="福建公司", parent=world.units["hq"], level=UnitLevel.PROVINCE,
                                function=UnitFunction.MANAGEMENT, province="FJ", region="FJ")
    jm = OrgUnit.objects.get(pk=world.units["jm"].pk)
    jm.parent, jm.province = fj, "FJ"
    jm.save()  # as the unit admin does; the city's subtree takes the province
    rollups.fold_pending()
    assert _window_by_province() == {"FJ": 1}
    assert rollups.check().ok
    gd = m.totals(Everyone(), m.Period.month(2026, 11), {"province": "GD"}, counters=["ws_sent"])[None]
    fj_totals = m.totals(Everyone(), m.Period.month(2026, 11), {"province": "FJ"}, counters=["ws_sent"])[None]
    assert (gd["ws_sent"], fj_totals["ws_sent"]) == (0, 1)

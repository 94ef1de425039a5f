"""The dashboard's bar charts by unit, as drawn in a real browser (Playwright driving Debian's Chromium): every
bar is named, however many departments there are."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser

from loopdesk.conftest import T0, World
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.reports import rollups
from loopdesk.tickets import services as s
from loopdesk.workbench.tests.test_browser import browser, sign_in

__all__ = ["browser"]  # the module-scoped Chromium fixture

DRAWN_TEXTS = """(id) => echarts.getInstanceByDom(document.getElementById(id)).getZr().storage.getDisplayList()
    .map((el) => el.style && el.style.text).filter(Boolean)"""


def test_every_department_bar_is_named(world: World, live_server: Any, browser: Browser) -> None:
    # Sixteen departments, one dispatched work order each: ECharts drew only every other department's name.
    names = [f"dept{i:02d}" for i in range(16)]
    for i, name in enumerate(names):
        unit = OrgUnit.objects.create(code=name.upper(), name=name, name_en=name, parent=world.units["net"],
                                      level=UnitLevel.ROOM, function=UnitFunction.SPECIALIST, province="GD",
                                      region="JM")
        ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
        s.do_dispatch_ticket(acting_user=world.user("agent"), ticket=ticket, to_unit=unit, now=T0.replace(minute=i))
    rollups.fold_pending()
    world.users["supervisor"].language = "en"
    world.users["supervisor"].save(update_fields=["language"])
    page = sign_in(browser, live_server.url, "supervisor", "pw-supervisor", "en")
    page.goto(f"{live_server.url}/reports/?month=2026-11")
    page.wait_for_function("typeof echarts !== 'undefined' && "
                           "echarts.getInstanceByDom(document.getElementById('chart-departments'))")
    page.wait_for_timeout(500)  # the first frame
    drawn = page.evaluate(DRAWN_TEXTS, "chart-departments")
    assert [n for n in names if n not in drawn] == []
    page.context.close()

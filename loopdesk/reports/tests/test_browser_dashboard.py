"""The dashboard's charts as a supervisor sees them in a real browser (Playwright driving Debian's Chromium):
rates in the tooltips are percentages, and a period without work orders says so on every chart."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from loopdesk.workbench.tests.test_browser import browser, shot, sign_in

__all__ = ["browser"]  # the module-scoped Chromium fixture

CHARTS = ("chart-trend", "chart-categories", "chart-departments", "chart-branches")


def _titles(page: Page) -> dict[str, str]:
    """The text each chart shows over its plot (ECharts draws on a canvas: read from the chart's options)."""
    return page.evaluate("""(ids) => Object.fromEntries(ids.map((id) => {
        const title = echarts.getInstanceByDom(document.getElementById(id)).getOption().title;
        return [id, title && title.length ? title[0].text || "" : ""];
    }))""", list(CHARTS))


def test_dashboard_charts_show_percentages_and_say_when_a_period_is_empty(world: Any, live_server: Any,
                                                                          browser: Browser, history: Any) -> None:
    for language, nothing in (("zh-hans", "本期无数据。"), ("en", "No data for this period.")):
        world.users["supervisor"].language = language
        world.users["supervisor"].save(update_fields=["language"])
        page = sign_in(browser, live_server.url, "supervisor", "pw-supervisor", language)
        page.goto(f"{live_server.url}/reports/?month=2026-11")
        page.wait_for_function("typeof echarts !== 'undefined' && "
                               "echarts.getInstanceByDom(document.getElementById('chart-departments'))")
        assert _titles(page) == dict.fromkeys(CHARTS, "")
        # The timeliness bar of a department: its tooltip reads 60% (was a bare 60 beside a % axis).
        chart = page.locator("#chart-departments")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box is not None
        chart.hover(position={"x": 10, "y": 10})
        chart.hover(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
        tooltip = page.locator("#chart-departments div").filter(has_text="%").last
        expect(tooltip).to_be_visible()
        assert "%" in tooltip.inner_text()
        shot(page, f"{language}_dashboard_tooltip")
        # January 2025: no work orders at all; every chart says so instead of empty axes and a grey ring.
        page.goto(f"{live_server.url}/reports/?month=2025-01")
        page.wait_for_function("typeof echarts !== 'undefined' && "
                               "echarts.getInstanceByDom(document.getElementById('chart-branches'))")
        assert _titles(page) == dict.fromkeys(CHARTS, nothing)
        shot(page, f"{language}_dashboard_empty_period")
        page.context.close()

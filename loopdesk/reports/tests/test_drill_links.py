"""Every rate links to the list of its numerator: the dashboard charts' timeliness and satisfaction points, the
KPI cards and table cells of rates, the timeliness short board (the work orders not timely) and the scorecard
cells; each list has as many work orders as the numerator it stands for."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from django.test import Client

from loopdesk.conftest import World
from loopdesk.reports import measures as m
from loopdesk.tickets.models import Ticket

NOV = m.Period.month(2026, 11)


def _client(world: World) -> Client:
    client = Client()
    client.force_login(world.users["supervisor"])
    return client


def _listed(client: Client, url: str) -> int:
    response = client.get(url.replace("&amp;", "&"))
    assert response.status_code == 200, url
    found = re.search(r'<span id="drill-total">(\d+)</span>', response.content.decode())
    assert found is not None, url
    return int(found.group(1))


def _param(url: str, name: str) -> str:
    return parse_qs(urlsplit(url.replace("&amp;", "&")).query)[name][0]


def test_dashboard_chart_links_open_the_numerators(world: World, full_history: list[Ticket]) -> None:
    user, client = world.user("supervisor"), _client(world)
    response = client.get("/reports/?month=2026-11")
    charts, cards = response.context["charts"], response.context["cards"]
    checked = 0
    # Departments: timeliness bars open the timely work orders, satisfaction bars the satisfied surveys.
    departments = {r.key: r for r in m.table(user, NOV, "department") if r.key}
    d = charts["departments"]
    assert len(d["urls"]["timeliness"]) == len(d["urls"]["satisfaction"]) == len(d["names"]) == len(departments)
    for timely_url, satisfied_url in zip(d["urls"]["timeliness"], d["urls"]["satisfaction"], strict=True):
        row = departments[int(_param(timely_url, "group"))]
        assert _param(timely_url, "measure") == "timely" and _param(satisfied_url, "measure") == "survey_satisfied"
        assert _listed(client, timely_url) == row.values["timely"]
        assert _listed(client, satisfied_url) == row.values["survey_satisfied"]
        checked += row.values["timely"] + row.values["survey_satisfied"]
    # Branch ranking (timeliness): the timely work orders of the branch.
    branches = {r.key: r for r in m.table(user, NOV, "branch")}
    for url in charts["branches"]["urls"]["timeliness"]:
        assert _listed(client, url) == branches[int(_param(url, "group"))].values["timely"]
        checked += 1
    # Trend: a bar opens the day's work orders, a timeliness point the day's timely ones.
    days = {r.label: r for r in m.table(user, NOV, "day")}
    t = charts["trend"]
    for label, volume_url, timely_url in zip(t["days"], t["urls"]["volume"], t["urls"]["timeliness"], strict=True):
        if label not in days:  # a day without figures: on the axis, nothing to open
            assert volume_url is None and timely_url is None
            continue
        row = days[label].values
        assert (volume_url is not None) == bool(row["volume"]) and (timely_url is not None) == bool(row["dispatched"])
        if row["volume"]:
            assert _listed(client, volume_url) == row["volume"]
            checked += 1
        if row["dispatched"]:
            assert _listed(client, timely_url) == row["timely"]
            checked += 1
    assert checked > 10
    # KPI cards: a rate opens its numerator (timeliness: 5 timely of 7 dispatched), a count itself.
    values = m.report(user, NOV).values
    by_name = {c["name"]: c for c in cards}
    for name, numerator in (("timeliness", "timely"), ("repeat_rate", "repeat"), ("return_rate", "hops_returned"),
                            ("callback_rate", "callbacks"), ("fcr_rate", "fcr"), ("satisfaction", "satisfied"),
                            ("survey_satisfaction", "survey_satisfied"), ("volume", "volume")):
        url = by_name[name]["url"]
        assert _param(url, "measure") == numerator
        assert _listed(client, url) == values[numerator], name
    assert values["timely"] == 5 and values["callbacks"] == 4
    assert by_name["window_satisfaction"]["url"] is None  # window surveys rate contacts, not work orders
    # The timeliness short board opens the work orders that are not timely: overtime and problem ones.
    board = response.context["short_boards"]["departments"]
    netmaint = next(i for i in board["items"] if _param(i["url"], "group") == str(world.units["netmaint"].pk))
    assert _param(netmaint["url"], "measure") == "untimely" and _listed(client, netmaint["url"]) == 2


def test_table_rate_cells_open_their_numerators(world: World, full_history: list[Ticket]) -> None:
    user, client = world.user("supervisor"), _client(world)
    response = client.get("/reports/table/?month=2026-11&group_by=department")
    columns = [name for name, _label in response.context["columns"]]
    rows = {r.label: r for r in m.table(user, NOV, "department")}
    checked = 0
    for row in response.context["rows"]:
        for name, cell in zip(columns, row["cells"], strict=True):
            numerator = m.NUMERATOR.get(name)
            if numerator is None or cell["url"] is None:
                continue
            assert _param(cell["url"], "measure") == numerator
            assert _listed(client, cell["url"]) == rows[row["label"]].values[numerator]
            checked += 1
    assert checked >= 5


def test_scorecard_cells_open_their_items_numerators(world: World, full_history: list[Ticket]) -> None:
    user, client = world.user("supervisor"), _client(world)
    for unit_kind in ("department", "branch"):
        response = client.get(f"/reports/scorecard/?month=2026-11&unit_kind={unit_kind}")
        card = response.context["card"]
        checked = 0
        for unit in card.units:
            for item, cell in zip(card.items, unit.items, strict=True):
                if cell.url is None:
                    assert cell.value is None or item.measure not in m.NUMERATOR or "," in item.channels
                    continue
                numerator = m.NUMERATOR[item.measure]
                filters = {}
                if cell.category is not None:
                    filters["category"] = cell.category
                rows = m.totals(user, NOV, filters, unit_kind)
                expected = m.derive(rows[unit.unit_id])[numerator]
                assert _param(cell.url, "measure") == numerator
                assert _listed(client, cell.url) == expected, (unit_kind, unit.label, item.name)
                assert cell.url.replace("&", "&amp;") in response.content.decode()
                checked += 1
        assert checked >= 3, unit_kind


def test_scorecard_short_board_links_stay_within_the_category_filter(world: World,
                                                                     full_history: list[Ticket]) -> None:
    """Filtered on a second-level category, a short board is measured on its top category within the filter: the
    cell's list keeps the filter (the top category alone would list the work orders of the other subcategories)."""
    user, client = world.user("supervisor"), _client(world)
    coverage = world.categories["coverage"]
    checked = 0
    for unit_kind in ("department", "branch"):
        response = client.get(f"/reports/scorecard/?month=2026-11&unit_kind={unit_kind}&category={coverage.pk}")
        card = response.context["card"]
        for unit in card.units:
            for item, cell in zip(card.items, unit.items, strict=True):
                if cell.url is None or cell.category is None:
                    continue
                assert cell.category == world.categories["basic"].pk
                numerator = m.NUMERATOR[item.measure]
                expected = m.derive(m.totals(user, NOV, {"category": coverage.pk}, unit_kind)[unit.unit_id])[numerator]
                assert _param(cell.url, "category") == str(coverage.pk)
                assert _listed(client, cell.url) == expected, (unit_kind, unit.label, item.name)
                checked += 1
    assert checked >= 1


def test_handling_times_mean_scores_and_the_rate_per_customers_open_what_they_are_measured_over(
        world: World, full_history: list[Ticket]) -> None:
    """Dispatch → reply opens the replied work orders, registration → answer the answered ones, the mean survey
    score the answered surveys, complaints per 10,000 customers the complaints (these cards and cells had no list)."""
    user, client = world.user("supervisor"), _client(world)
    values = m.report(user, NOV).values
    cards = {c["name"]: c for c in client.get("/reports/?month=2026-11").context["cards"]}
    expected = {"reply_median": "replied", "e2e_p90": "answered", "survey_mean": "survey_responses",
                "per_10k": "complaints"}
    for name, basis in expected.items():
        url = cards[name]["url"]
        assert url is not None and _param(url, "measure") == basis, name
        assert values[basis] and _listed(client, url) == values[basis], name
    response = client.get("/reports/table/?month=2026-11&group_by=department")
    columns = [name for name, _label in response.context["columns"]]
    rows = {r.label: r for r in m.table(user, NOV, "department")}
    checked = 0
    for row in response.context["rows"]:
        for name, cell in zip(columns, row["cells"], strict=True):
            basis = {"reply_mean": "replied", "reply_p90": "replied", "e2e_median": "answered",
                     "survey_mean": "survey_responses"}.get(name)
            if basis and rows[row["label"]].values[name] is not None:
                assert cell["url"] is not None and _param(cell["url"], "measure") == basis, name
                assert _listed(client, cell["url"]) == rows[row["label"]].values[basis]
                checked += 1
    assert checked >= 4

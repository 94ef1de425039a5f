"""Editing the assessment scheme: supervisors may (permissions from seed_reference, also for an existing role
group), the measure is a choice (a typo is refused by the admin), and a scheme row with an unknown measure is
reported on the scorecard page instead of failing it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.test import Client

from loopdesk.conftest import World, post_admin_change, staff_client
from loopdesk.core.reference import SUPERVISOR_PERMISSIONS, _seed_groups
from loopdesk.org.choices import Role
from loopdesk.reports import measures as m
from loopdesk.reports import scorecards
from loopdesk.reports.models import AssessmentItem, AssessmentScheme
from loopdesk.tickets.models import Ticket

NOV = m.Period.month(2026, 11)
SCHEME_PERMS = {"reports.add_assessmentscheme", "reports.change_assessmentscheme", "reports.view_assessmentscheme",
                "reports.add_assessmentitem", "reports.change_assessmentitem", "reports.view_assessmentitem",
                "reports.delete_assessmentitem"}


def _supervisor_client(world: World) -> Client:
    _seed_groups(Counter())  # what seed_reference grants the role groups (run on install and every upgrade)
    user = world.users["supervisor"]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def _admin_client(world: World) -> Client:
    """Signed in as the world's administrator, made a superuser (edits every scheme)."""
    return staff_client(world, "admin", superuser=True)


def _jm_scheme(client: Client) -> AssessmentScheme:
    """Jiangmen's own scheme, copied from the company's with the admin's action (a city company's supervisor edits
    its own region's scheme, not the company's, which scores every other region too)."""
    company = scorecards.active_scheme()
    assert company is not None and company.region == ""
    response = client.post("/admin/reports/assessmentscheme/", {"action": "copy_for_my_region",
                                                                 "_selected_action": [company.pk]})
    assert response.status_code == 302, response.content.decode()[:2000]
    scheme = scorecards.active_scheme("JM")
    assert scheme is not None and scheme.region == "JM" and scheme.pk != company.pk
    assert [(i.name, i.weight) for i in scheme.items.all()] == [(i.name, i.weight) for i in company.items.all()]
    return scheme


def _form(scheme: AssessmentScheme, **changes: dict[str, Any]) -> dict[str, Any]:
    """The admin change form of the scheme as the browser posts it; `changes` by item name."""
    items = list(scheme.items.order_by("position", "id"))
    data: dict[str, Any] = {
        "name": scheme.name, "description": scheme.description, "is_active": "on" if scheme.is_active else "",
        "items-TOTAL_FORMS": str(len(items)), "items-INITIAL_FORMS": str(len(items)), "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000", "_save": "Save",
    }
    for i, item in enumerate(items):
        values = {"id": item.pk, "scheme": scheme.pk, "position": item.position, "name": item.name,
                  "measure": item.measure, "method": item.method, "target": item.target, "weight": item.weight,
                  "channels": item.channels}
        values.update(changes.get(item.name, {}))
        data.update({f"items-{i}-{k}": v for k, v in values.items()})
    return data


def test_supervisors_get_the_scheme_permissions_also_on_an_existing_database(world: World) -> None:
    assert set(SUPERVISOR_PERMISSIONS) >= SCHEME_PERMS
    group = Group.objects.get(name=Role.SUPERVISOR)  # an existing role group without them (an older seed)
    group.permissions.set(Permission.objects.filter(codename="view_orgunit"))
    _seed_groups(Counter())
    user = world.user("supervisor")
    assert user.get_all_permissions() >= SCHEME_PERMS
    assert not world.user("agent").has_perm("reports.change_assessmentscheme")


def test_a_supervisor_changes_a_weight_in_the_admin_and_the_score_changes(world: World,
                                                                           history: list[Ticket]) -> None:
    client = _supervisor_client(world)
    scheme = _jm_scheme(client)
    assert scheme is not None
    page = client.get("/reports/scorecard/?month=2026-11&unit_kind=department").content.decode()
    url = f"/admin/reports/assessmentscheme/{scheme.pk}/change/"
    assert url in page  # the page's link, now usable
    assert client.get(url).status_code == 200
    supervisor = world.user("supervisor")
    timely = [i.name for i in scheme.items.all()].index("工单处理及时率")
    before = {u.unit_id: u for u in scorecards.score(supervisor, scheme, NOV, "department").units}
    netmaint = world.units["netmaint"].pk
    fraction = before[netmaint].items[timely].points / 20  # seeded weight 20
    assert 0 < fraction < 1
    response = post_admin_change(client, url, _form(scheme, 工单处理及时率={"weight": 60}))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AssessmentItem.objects.get(scheme=scheme, name="工单处理及时率").weight == 60
    card = scorecards.score(supervisor, scheme, NOV, "department")
    after = {u.unit_id: u for u in card.units}
    assert after[netmaint].items[timely].points == round(fraction * 60, 2)
    assert after[netmaint].total != before[netmaint].total
    assert "60" in scorecards.header(card)[2 + 2 * 4 + 1]  # "工单处理及时率 (分/60)"


def test_the_admin_refuses_an_unknown_measure(world: World) -> None:
    client = _supervisor_client(world)
    scheme = _jm_scheme(client)
    assert scheme is not None
    response = post_admin_change(client, f"/admin/reports/assessmentscheme/{scheme.pk}/change/",
                                 _form(scheme, 工单处理及时率={"measure": "timelyness"}))
    assert response.status_code == 200 and "timelyness" in response.content.decode()  # the form again, with errors
    assert AssessmentItem.objects.get(scheme=scheme, name="工单处理及时率").measure == "timeliness"


def test_an_unknown_measure_stored_anyway_is_reported_not_a_500(world: World, history: list[Ticket]) -> None:
    scheme = scorecards.active_scheme()
    assert scheme is not None
    AssessmentItem.objects.filter(scheme=scheme, name="回访完成率").update(measure="callback_rte")  # a raw UPDATE
    supervisor = world.user("supervisor")
    card = scorecards.score(supervisor, scheme, NOV, "department")
    assert len(card.problems) == 1 and "callback_rte" in card.problems[0]
    position = [i.name for i in card.items].index("回访完成率")
    assert all(u.items[position].points is None for u in card.units) and card.units
    client = Client()
    client.force_login(world.users["supervisor"])
    response = client.get("/reports/scorecard/?month=2026-11&unit_kind=department")
    assert response.status_code == 200 and "callback_rte" in response.content.decode()
    export = client.get("/reports/scorecard/?month=2026-11&unit_kind=department&format=csv")
    assert export.status_code == 200
    # Without the permission the page does not offer the admin link.
    assert "/admin/reports/assessmentscheme/" not in response.content.decode()


def test_an_item_limited_to_channels_stays_within_the_pages_channel_filter(world: World,
                                                                           history: list[Ticket]) -> None:
    """The window-service item (hall, hotline) filtered on the hall: the hall's surveys only (the history's window
    survey is a hotline one), not both channels whatever the filter."""
    scheme = scorecards.active_scheme()
    assert scheme is not None
    supervisor = world.user("supervisor")
    window = [i.name for i in scheme.items.all()].index("窗口服务满意度")
    unfiltered = scorecards.score(supervisor, scheme, NOV, "branch")
    assert any(u.items[window].value is not None for u in unfiltered.units)
    hall = scorecards.score(supervisor, scheme, NOV, "branch", {"channel": "hall"})
    assert all(u.items[window].value is None for u in hall.units)
    hotline = scorecards.score(supervisor, scheme, NOV, "branch", {"channel": "hotline"})
    assert [u.items[window].value for u in hotline.units if u.items[window].value is not None] == \
        [u.items[window].value for u in unfiltered.units if u.items[window].value is not None]


def test_the_admin_refuses_an_item_that_cannot_be_scored_with_errors_on_its_fields(world: World) -> None:
    """A target of 90 for 90 % (never reached), a target of 0 or a negative weight, an unknown channel: each
    refused on its own field, in the user's language, and nothing is saved."""
    client = _supervisor_client(world)
    scheme = _jm_scheme(client)
    assert scheme is not None
    url = f"/admin/reports/assessmentscheme/{scheme.pk}/change/"
    cases = [
        ({"target": 90}, "target"),
        ({"target": 0}, "target"),
        ({"weight": -5}, "weight"),
        ({"channels": "hall,halls"}, "channels"),
    ]
    for change, field in cases:
        response = post_admin_change(client, url, _form(scheme, 工单处理及时率=change), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, (change, response.status_code)
        formset = next(f for f in response.context["inline_admin_formsets"])
        errors = [form.errors for form in formset.formset.forms if form.errors]
        assert len(errors) == 1 and list(errors[0]) == [field], (change, errors)
    item = AssessmentItem.objects.get(scheme=scheme, name="工单处理及时率")
    assert (item.target, item.weight, item.channels) == (0.95, 20, "")
    with_channels = post_admin_change(client, url, _form(scheme, 工单处理及时率={"channels": " hall , hotline "}))
    assert with_channels.status_code == 302
    assert AssessmentItem.objects.get(scheme=scheme, name="工单处理及时率").channels == "hall,hotline"
    chinese = post_admin_change(client, url, _form(scheme, 工单处理及时率={"weight": 0}),
                                HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "权重即该项的分值，须大于 0。" in chinese.content.decode()


def test_a_city_supervisor_adapts_its_regions_scheme_not_the_companys(world: World, history: list[Ticket]) -> None:
    """Jiangmen's supervisor reads the company's scheme (it scores every region without its own), copies it for
    Jiangmen and edits the copy; Zhuhai is still scored on the company's."""
    client = _supervisor_client(world)
    company = scorecards.active_scheme()
    assert company is not None
    page = client.get("/reports/scorecard/?month=2026-11&unit_kind=department").content.decode()
    assert f"/admin/reports/assessmentscheme/{company.pk}/change/" not in page and "为 JM 调整" in page
    change = f"/admin/reports/assessmentscheme/{company.pk}/change/"
    assert client.get(change).status_code == 200  # read only: the view permission
    refused = client.post(change, _form(company, 工单处理及时率={"weight": 60}))
    assert refused.status_code == 403
    assert AssessmentItem.objects.get(scheme=company, name="工单处理及时率").weight == 20
    own = _jm_scheme(client)
    assert post_admin_change(client, f"/admin/reports/assessmentscheme/{own.pk}/change/",
                             _form(own, 工单处理及时率={"weight": 60})).status_code == 302
    supervisor = world.user("supervisor")
    assert scorecards.scheme_for(supervisor) == own
    assert scorecards.scheme_for(supervisor, {"region": "ZH"}) == company
    assert scorecards.scheme_for(world.user("zh_agent")) == company
    page = client.get("/reports/scorecard/?month=2026-11&unit_kind=department").content.decode()
    assert f"/admin/reports/assessmentscheme/{own.pk}/change/" in page and "(JM)" in page
    # An administrator edits the company's scheme.
    admin_user = world.users["admin"]
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    admin_client = Client()
    admin_client.force_login(admin_user)
    assert post_admin_change(admin_client, change, _form(company, 工单处理及时率={"weight": 25})).status_code == 302
    assert AssessmentItem.objects.get(scheme=company, name="工单处理及时率").weight == 25


def test_a_unit_with_no_data_for_any_item_has_no_total_and_no_rank(world: World, history: list[Ticket]) -> None:
    """A scheme of the window-service item alone: the branches without window surveys were listed with 0 points
    and ranked with (or above) a unit that really scored nothing; they have no total ('—') and come last."""
    scheme = scorecards.active_scheme()
    assert scheme is not None
    scheme.items.exclude(name="窗口服务满意度").delete()
    card = scorecards.score(world.user("supervisor"), scheme, NOV, "branch")
    scored = [u for u in card.units if u.items[0].points is not None]
    unscored = [u for u in card.units if u.items[0].points is None]
    assert scored and unscored
    assert card.units == scored + unscored
    assert all(u.total is None and u.rank is None for u in unscored)
    assert all(isinstance(u.rank, int) for u in scored)
    rows = scorecards.rows(card)
    assert all(row[0] == "" and row[-1] == "" for row in rows[len(scored):])
    client = Client()
    client.force_login(world.users["supervisor"])
    html = client.get("/reports/scorecard/?month=2026-11&unit_kind=branch").content.decode()
    label = unscored[0].label
    at = html.index(f'<th scope="row">{label}</th>')
    row = html[html.rindex("<tr>", 0, at):html.index("</tr>", at)]
    assert '<td class="num">—</td>' in row and "<strong>" not in row


def test_the_scorecard_page_shows_values_to_a_tenth_of_a_point(world: World, history: list[Ticket]) -> None:
    """A timeliness of 94.6 % against a target of 95 % read '95%' (rounded to a whole point) beside lost points."""
    scheme = scorecards.active_scheme()
    assert scheme is not None
    AssessmentItem.objects.create(scheme=scheme, position=99, name="及时率测试", measure="timeliness",
                                  method="attainment", target=0.95, weight=5)
    card = scorecards.score(world.user("supervisor"), scheme, NOV, "branch")
    values = [s.value for u in card.units for s in u.items if s.value is not None]
    odd = [v for v in values if round(v * 100, 1) != round(v * 100)]
    assert odd  # the history has a rate that is not a whole percentage
    client = Client()
    client.force_login(world.users["supervisor"])
    html = client.get("/reports/scorecard/?month=2026-11&unit_kind=branch").content.decode()
    for v in odd:
        assert f"{v * 100:.1f}%</" in html


def test_a_schemes_region_is_read_as_the_units_spell_it_and_must_exist(world: World, history: list[Ticket]) -> None:
    """An administrator's scheme for ' jm' was kept as 'jm' and never used (Jiangmen is 'JM'), one for a code no
    unit has was kept silently: the region is read in upper case, an unknown one refused on its field."""
    company = scorecards.active_scheme()
    assert company is not None
    client = _admin_client(world)
    url = f"/admin/reports/assessmentscheme/{company.pk}/change/"
    refused = post_admin_change(client, url, {**_form(company), "region": "ZZ"})
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert "ZZ" in str(errors["region"]) and "地市代码" in str(errors["region"])
    company.refresh_from_db()
    assert company.region == ""
    saved = post_admin_change(client, url, {**_form(company), "region": " jm"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    company.refresh_from_db()
    assert company.region == "JM"
    assert scorecards.scheme_for(world.user("supervisor")) == company  # Jiangmen's supervisor is scored on it


def test_a_short_board_cell_names_its_category_and_last_periods_value(world: World, full_history: Any) -> None:
    """The short-board item showed a percentage of an unnamed category (the unit's weakest of last period), and
    an improvement item's value without the value it improved on."""
    scheme = scorecards.active_scheme()
    assert scheme is not None
    card = scorecards.score(world.user("supervisor"), scheme, NOV, "branch")
    board = [i.name for i in card.items].index("短板改善")
    cells = [(u, u.items[board]) for u in card.units if u.items[board].category is not None]
    assert cells
    unit, cell = cells[0]
    client = Client()
    client.force_login(world.users["supervisor"])
    user = world.users["supervisor"]
    for language, last in (("zh-hans", "上期"), ("en", "Last period")):
        user.language = language
        user.save(update_fields=["language"])
        html = client.get("/reports/scorecard/?month=2026-11&unit_kind=branch").content.decode()
        name = m.group_labels("category_root", [cell.category], language)[cell.category]
        label = m.group_labels("branch", [unit.unit_id], language)[unit.unit_id]
        at = html.index(f'<th scope="row">{label}</th>')
        row = html[at:html.index("</tr>", at)]
        assert f'<span class="short-board-category">{name}</span>' in row
        assert cell.previous is not None and f"{last} {cell.previous * 100:.1f}%" in row


def test_copying_for_a_region_that_has_its_own_scheme_is_refused(world: World, history: list[Ticket]) -> None:
    """A second 'Copy for my region' made a second active scheme of the region: whichever was edited last scored
    it, so fixing a weight in the first copy silently switched the region's scorecards to that one."""
    client = _supervisor_client(world)
    own = _jm_scheme(client)
    company = scorecards.active_scheme()
    assert company is not None and company.region == ""
    response = client.post("/admin/reports/assessmentscheme/", {"action": "copy_for_my_region",
                                                                 "_selected_action": [company.pk]}, follow=True)
    assert AssessmentScheme.objects.filter(region="JM").count() == 1
    assert "已有本地市的考核办法" in response.content.decode() and own.name in response.content.decode()
    assert scorecards.active_scheme("JM") == own


def test_a_region_or_the_company_has_one_active_scheme(world: World, history: list[Ticket]) -> None:
    """A second active scheme (of the company, or of a region) was saved; the last edited scored every unit, so an
    edit to the other switched the scorecards to it. Refused on 'active'; an inactive one is kept. A city
    company's first own scheme is still accepted."""
    company = scorecards.active_scheme()
    assert company is not None
    client = _admin_client(world)
    form = {"name": "新办法", "description": "", "region": "", "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000", "_save": "Save"}
    refused = client.post("/admin/reports/assessmentscheme/add/", {**form, "is_active": "on"})
    assert refused.status_code == 200
    assert company.name in str(refused.context["adminform"].form.errors["is_active"])
    assert AssessmentScheme.objects.count() == 1
    kept = client.post("/admin/reports/assessmentscheme/add/", form)
    assert kept.status_code == 302 and AssessmentScheme.objects.filter(is_active=False).count() == 1
    # Jiangmen's supervisor adds the region's own active scheme: the company's does not stand in the way.
    supervisor = _supervisor_client(world)
    own = supervisor.post("/admin/reports/assessmentscheme/add/", {**form, "name": "江门办法", "is_active": "on"})
    assert own.status_code == 302, own.content.decode()[:3000]
    assert scorecards.active_scheme("JM").name == "江门办法"  # type: ignore[union-attr]
    again = supervisor.post("/admin/reports/assessmentscheme/add/", {**form, "name": "江门二", "is_active": "on"})
    assert again.status_code == 200 and "江门办法" in str(again.context["adminform"].form.errors["is_active"])


def test_the_page_shows_totals_as_they_were_ranked(world: World, history: list[Ticket], monkeypatch: Any) -> None:
    """Totals are kept and ranked to the hundredth (as the export shows them) but the page showed tenths: 85.04
    ranked first and 84.96 second, both shown as 85.0, a tie that did not share its rank."""
    real = scorecards.score

    def with_close_totals(*args: Any, **kwargs: Any) -> scorecards.Scorecard:
        card = real(*args, **kwargs)
        assert len(card.units) >= 2
        for unit, total in zip(card.units, (84.96, 85.04), strict=False):
            unit.total = total
        scorecards.rank_units(card.units)
        return card

    monkeypatch.setattr(scorecards, "score", with_close_totals)
    client = Client()
    client.force_login(world.users["supervisor"])
    html = client.get("/reports/scorecard/?month=2026-11&unit_kind=branch").content.decode()
    assert "<strong>85.04</strong>" in html and "<strong>84.96</strong>" in html

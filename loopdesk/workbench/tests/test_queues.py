"""Queues: who sees what, filters with field errors, keyset pages by due time, bulk dispatch, bounded queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Category, Ticket
from loopdesk.tickets.services import do_create_ticket


def _create(world: Any, n: int, **kwargs: Any) -> list[Ticket]:
    agent = world.user("agent")
    return [do_create_ticket(acting_user=agent, **world.ticket_kwargs(**kwargs), dispatch=True) for _ in range(n)]


def test_unit_queue_holds_the_units_tickets_only(world: Any, client_for: Any) -> None:
    mine = _create(world, 2)
    billing = _create(world, 1, category=world.categories["dispute"])
    page = client_for("specialist").get("/queues/unit/").content.decode()
    assert all(t.number in page for t in mine)
    assert billing[0].number not in page


def test_keyset_pages_walk_every_ticket_once_in_due_order(world: Any, client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("loopdesk.workbench.views.queues.PAGE_SIZE", 2)
    tickets = _create(world, 5)
    client = client_for("specialist")
    seen: list[str] = []
    url = "/queues/unit/?sort=due"
    for _ in range(5):
        response = client.get(url)
        seen += [t.number for t in response.context["rows"]]
        cursor = response.context["next_cursor"]
        if not cursor:
            break
        url = f"/queues/unit/?sort=due&after={cursor}"
    expected = [t.number for t in sorted(tickets, key=lambda t: (t.due_at, t.pk))]
    assert seen == expected


def test_filters_narrow_the_queue_and_bad_dates_show_a_field_error(world: Any, client_for: Any) -> None:
    _create(world, 2)
    calls = _create(world, 1, category=world.categories["calls"])
    client = client_for("specialist")
    response = client.get(f"/queues/unit/?category={world.categories['calls'].pk}")
    assert [t.number for t in response.context["rows"]] == [calls[0].number]
    response = client.get(f"/queues/unit/?category={world.categories['basic'].pk}")
    assert len(response.context["rows"]) == 3
    response = client.get("/queues/unit/?created_from=2026-11-10&created_to=2026-11-01")
    assert response.status_code == 200
    assert response.context["form"].errors["created_to"]
    response = client.get("/queues/unit/?created_from=not-a-date")
    assert response.status_code == 200 and response.context["form"].errors["created_from"]
    assert client.get("/queues/unit/?after=garbage").status_code == 200


def test_bulk_dispatch_moves_what_it_may_and_reports_the_rest(world: Any, client_for: Any) -> None:
    # "Other" has no routing rule: these wait with second-line support (综援室).
    waiting = _create(world, 2, category=world.categories["other"])
    assert {t.handler_unit_id for t in waiting} == {world.units["l2"].pk}
    client = client_for("dispatcher")
    page = client.get("/queues/dispatch/").content.decode()
    assert all(t.number in page for t in waiting)
    response = client.post("/queues/bulk-dispatch/", {
        "ids": [t.pk for t in waiting], "to_unit": world.units["netmaint"].pk, "note": "网络问题",
        "next": "/queues/dispatch/", **{f"version_{t.pk}": t.version for t in waiting},
    })
    assert response.status_code == 302 and response["Location"] == "/queues/dispatch/"
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in waiting]).values_list("handler_unit", "status")) == {
        (world.units["netmaint"].pk, Status.DISPATCHED)}


def test_bulk_dispatch_without_selection_changes_nothing(world: Any, client_for: Any) -> None:
    response = client_for("dispatcher").post("/queues/bulk-dispatch/", {"to_unit": world.units["netmaint"].pk},
                                             follow=True)
    assert "Select at least one work order." in response.content.decode()


def test_unknown_queue_is_a_404(world: Any, client_for: Any) -> None:
    assert client_for("agent").get("/queues/everything/").status_code == 404


def test_queue_queries_do_not_grow_with_rows(world: Any, client_for: Any) -> None:
    client = client_for("dispatcher")
    rows: list[int] = []

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/queues/dispatch/")
        rows.append(len(response.context["rows"]))
        return len(ctx.captured_queries)

    _create(world, 1, category=world.categories["other"])
    few = queries()
    _create(world, 6, category=world.categories["other"])
    assert queries() == few
    assert rows == [1, 7]
    # Nor with the size of the category tree (the filter's type-ahead options come from one query).
    for i in range(10):
        Category.objects.create(code=f"EXTRA{i}", name=f"类目{i}", parent=world.categories["other"])
    assert queries() == few


def test_my_queue_holds_what_i_handle_or_first_responded_to_once_each(world: Any, client_for: Any) -> None:
    from loopdesk.tickets.services import do_accept_ticket

    agent = world.user("agent")
    kept = do_create_ticket(acting_user=agent, **world.ticket_kwargs())  # first responder and handler: once
    dispatched = _create(world, 1)[0]
    accepted = do_accept_ticket(acting_user=world.user("specialist"), ticket=_create(world, 1)[0])
    other = do_create_ticket(acting_user=world.user("zh_agent"), **world.ticket_kwargs())
    agent_rows = client_for("agent").get("/queues/mine/").context["rows"]
    assert sorted(t.pk for t in agent_rows) == sorted([kept.pk, dispatched.pk, accepted.pk])
    specialist = client_for("specialist").get("/queues/mine/")
    assert [t.pk for t in specialist.context["rows"]] == [accepted.pk]
    assert specialist.context["total"] == 1 and other.pk not in [t.pk for t in agent_rows]


TABS = {"HX-Request": "true", "HX-Target": "queue-tabs"}  # the tabs' counts, asked for once the page has loaded


TOTAL = {"HX-Request": "true", "HX-Target": "queue-total"}  # a long list's count, asked for by its heading


def test_counts_past_the_cap_show_as_more_than(world: Any, client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("loopdesk.workbench.queues.COUNT_CAP", 2)
    monkeypatch.setattr("loopdesk.workbench.views.queues.PAGE_SIZE", 2)  # more than a page: the heading counts
    _create(world, 3)
    client = client_for("specialist")
    response = client.get("/queues/unit/")
    page = response.content.decode()
    # A longer list than a page: "2+ work orders" (a page's worth) until its heading has fetched the count.
    assert response.context["total"] is None and 'id="queue-total"' in page and 'hx-trigger="load"' in page
    assert '<h2 id="queue-total" hx-get="/queues/unit/"' in page and ">2+ " in page
    assert len(response.context["rows"]) == 2 and response.context["next_cursor"]  # the list itself is not capped
    # (the heading reads "2+ work orders" or "2+ 张工单": checked without depending on the active language)
    heading = client.get("/queues/unit/", headers=TOTAL)
    assert heading.context["total"] == 3 and heading.context["total_more"]
    assert heading.content.decode().startswith('<h2 id="queue-total">2+ ')
    assert '<span class="count">2+</span>' in client.get("/queues/unit/", headers=TABS).content.decode()
    monkeypatch.setattr("loopdesk.workbench.queues.COUNT_CAP", 3)
    heading = client.get("/queues/unit/", headers=TOTAL).content.decode()
    assert heading.startswith('<h2 id="queue-total">3 ') and "3+" not in heading
    tabs = client.get("/queues/unit/", headers=TABS).content.decode()
    assert '<span class="count">3</span>' in tabs and "3+" not in tabs


def test_heading_count_of_a_long_list_is_what_its_pages_show(world: Any, client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("loopdesk.workbench.views.queues.PAGE_SIZE", 2)
    _create(world, 4)
    _create(world, 1, category=world.categories["calls"])
    client = client_for("specialist")
    for query in ("", f"category={world.categories['basic'].pk}", f"category={world.categories['indoor'].pk}"):
        url, shown = f"/queues/unit/?{query}", 0
        while url:
            response = client.get(url)
            shown += len(response.context["rows"])
            cursor = response.context["next_cursor"]
            url = f"/queues/unit/?{query}&after={cursor}" if cursor else ""
        # The heading's request carries the page's query string (filters, and a cursor, which it ignores).
        heading = client.get(f"/queues/unit/?{query}&after=x", headers=TOTAL).context["total"]
        assert heading == shown and shown in (5, 4)


def test_heading_counts_a_list_on_one_page_without_a_count_query(world: Any, client_for: Any) -> None:
    _create(world, 3)
    client = client_for("specialist")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/queues/unit/")
    assert response.context["total"] == 3 and not response.context["next_cursor"]
    assert '<h2 id="queue-total">3 ' in response.content.decode()
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"] and "tickets_ticket" in q["sql"]]
    # Filtered to nothing: zero, and the tab still shows the queue's own count.
    response = client.get(f"/queues/unit/?category={world.categories['dispute'].pk}")
    assert response.context["total"] == 0 and response.context["rows"] == []


def test_bulk_assign_sends_to_the_handler_and_refuses_one_outside_the_unit(world: Any, client_for: Any) -> None:
    waiting = _create(world, 2, category=world.categories["other"])
    specialist = world.user("specialist")
    client = client_for("dispatcher")
    page = client.get("/queues/dispatch/").content.decode()
    assert f'<option value="{specialist.pk}">' in page  # offered, grouped under the handler's unit
    # A handler outside the chosen unit: refused per ticket by the service, nothing moves.
    outsider = world.user("it_specialist")
    shown = {f"version_{t.pk}": t.version for t in waiting}
    client.post("/queues/bulk-dispatch/", {"ids": [t.pk for t in waiting], "to_unit": specialist.unit_id,
                                           "to_user": outsider.pk, "next": "/queues/dispatch/", **shown})
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in waiting]).values_list("handler_user", flat=True)) == {None}
    # "Assign to" alone: dispatched to the handler's own unit, with the handler named.
    client.post("/queues/bulk-dispatch/", {"ids": [t.pk for t in waiting], "to_user": specialist.pk,
                                           "next": "/queues/dispatch/", **shown})
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in waiting]).values_list(
        "handler_unit", "handler_user", "status")) == {(specialist.unit_id, specialist.pk, Status.DISPATCHED)}


def test_at_risk_holds_what_is_mine_to_chase_not_what_passed_through_my_unit(world: Any) -> None:
    import datetime as dt

    from loopdesk.tickets.policy import visible_tickets
    from loopdesk.tickets.services import do_accept_ticket, do_transfer_ticket
    from loopdesk.workbench.queues import queue_queryset

    specialist = world.user("specialist")
    stays = _create(world, 1)[0]
    passed = do_accept_ticket(acting_user=specialist, ticket=_create(world, 1)[0])
    passed = do_transfer_ticket(acting_user=specialist, ticket=passed, to_unit=world.units["it"], note="计费问题")
    later = max(stays.due_at, passed.due_at) + dt.timedelta(days=1)
    assert visible_tickets(specialist).filter(pk=passed.pk).exists()  # still visible: it passed through
    risk = set(queue_queryset(specialist, "risk", now=later).values_list("pk", flat=True))
    assert stays.pk in risk and passed.pk not in risk
    agent_risk = set(queue_queryset(world.user("agent"), "risk", now=later).values_list("pk", flat=True))
    assert {stays.pk, passed.pk} <= agent_risk  # the first responder chases both
    supervisor_risk = queue_queryset(world.user("supervisor"), "risk", now=later)
    assert {stays.pk, passed.pk} <= set(supervisor_risk.values_list("pk", flat=True))


def test_dispatch_tab_only_for_those_who_dispatch_and_counts_come_after_the_page(world: Any, client_for: Any) -> None:
    from loopdesk.tickets.services import do_accept_ticket

    tickets = _create(world, 3)
    do_accept_ticket(acting_user=world.user("specialist"), ticket=tickets[0])  # mine too
    specialist_tabs = [q.key for q, _n in client_for("specialist").get("/queues/unit/").context["queues"]]
    dispatcher_tabs = [q.key for q, _n in client_for("dispatcher").get("/queues/unit/").context["queues"]]
    assert "dispatch" not in specialist_tabs and "dispatch" in dispatcher_tabs
    client = client_for("specialist")
    with CaptureQueriesContext(connection) as full:
        page = client.get("/queues/unit/").content.decode()
    # The page computes no tab counts: the tabs ask for them once loaded.
    assert 'id="queue-tabs"' in page and 'hx-trigger="load"' in page and '<span class="count">' not in page
    response = client.get("/queues/unit/", headers=TABS)
    tabs = response.content.decode()
    assert response.templates[0].name == "workbench/partials/queue_tabs.html"
    assert 'hx-trigger' not in tabs and "HX-Target" in response["Vary"]
    # Each tab's count is the number of rows its own list shows.
    for key in specialist_tabs:
        shown = len(client.get(f"/queues/{key}/").context["rows"])
        assert f'href="/queues/{key}/"' in tabs
        assert tabs.split(f'href="/queues/{key}/"')[1].split("</a>")[0].endswith(f'<span class="count">{shown}</span>')
    assert '<span class="count">3</span>' in tabs and '<span class="count">1</span>' in tabs
    # A refresh of the list (a filter changed) computes no more than the page did.
    with CaptureQueriesContext(connection) as refresh:
        response = client.get("/queues/unit/", headers={"HX-Request": "true", "HX-Target": "queue-results"})
    assert response.templates[0].name == "workbench/partials/queue_results.html"
    assert len(refresh.captured_queries) <= len(full.captured_queries)
    # The counts' queries do not grow with rows.
    def count_queries() -> int:
        client.get("/queues/unit/", headers=TABS)
        with CaptureQueriesContext(connection) as ctx:
            client.get("/queues/unit/", headers=TABS)
        return len(ctx.captured_queries)

    few = count_queries()
    _create(world, 4)
    assert count_queries() == few


def test_rows_show_each_column_escaped(world: Any, client_for: Any) -> None:
    from loopdesk.tickets.services import do_accept_ticket

    specialist = world.user("specialist")
    specialist.display_name = '<b onclick="x">专员</b>'
    specialist.save(update_fields=["display_name"])
    ticket = do_accept_ticket(acting_user=specialist, ticket=_create(world, 1)[0])
    Ticket.objects.filter(pk=ticket.pk).update(is_repeat=True, tier="vip")
    page = client_for("specialist").get("/queues/unit/").content.decode()
    row = page.split('<tr class="row-in_progress">')[1].split("</tr>")[0]
    assert f'<a href="/tickets/{ticket.pk}/" class="num">{ticket.number}</a>' in row
    assert 'class="tag tag-warn"' in row and '<span class="tag tag-vip">VIP</span>' in row
    assert "&lt;b onclick=&quot;x&quot;&gt;专员&lt;/b&gt;" in row and "<b " not in row
    assert ticket.customer.masked_msisdn in row and ticket.customer.msisdn not in row
    assert 'class="badge sla-' in row and '<time class="countdown" datetime="' in row


def test_home_counts_full_sections_after_the_page(world: Any, client_for: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("loopdesk.workbench.views.home.SECTION_ROWS", 2)
    _create(world, 3)  # dispatched to the specialist's unit: "waiting for your unit to accept", 3 of them
    client = client_for("specialist")
    response = client.get("/")
    page = response.content.decode()
    waiting = next(n for n, s in enumerate(response.context["sections"], start=1) if s.link.endswith("dispatched"))
    assert response.context["sections"][waiting - 1].count is None  # full: counted after the page
    assert f'<span class="count" id="sec-count-{waiting}">2+</span>' in page
    assert f'hx-get="/?counts={response.context["pending"]}"' in page and 'hx-trigger="load"' in page
    assert str(waiting) in response.context["pending"].split(",")

    def counts() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as ctx:
            html = client.get(f"/?counts={waiting},99,x", headers={"HX-Request": "true", "HX-Target": "home-counts"})
        return html.content.decode(), len(ctx.captured_queries)

    html, few = counts()
    assert f'<span class="count" id="sec-count-{waiting}" hx-swap-oob="true">3</span>' in html
    assert html.count("hx-swap-oob") == 1  # unknown numbers left out
    _create(world, 3)
    html, more = counts()
    assert f'id="sec-count-{waiting}" hx-swap-oob="true">6</span>' in html and more == few


@pytest.mark.parametrize("field", ["to_unit", "to_user"])
@pytest.mark.parametrize("value", ["abc", "-1", "１２", "99999999999999999999999"])
def test_bulk_dispatch_with_a_garbled_target_is_an_error_in_the_users_language(
        world: Any, client_for: Any, field: str, value: str) -> None:
    waiting = _create(world, 1, category=world.categories["other"])
    before = list(Ticket.objects.filter(pk=waiting[0].pk).values_list("handler_unit", "status", "version"))
    response = client_for("dispatcher", language="zh-hans").post("/queues/bulk-dispatch/", {
        "ids": [waiting[0].pk], field: value, "next": "/queues/dispatch/"}, follow=True)
    assert response.status_code == 200
    expected = "请选择有效的单位。" if field == "to_unit" else "请选择有效的处理人。"
    assert expected in response.content.decode()
    assert list(Ticket.objects.filter(pk=waiting[0].pk).values_list("handler_unit", "status", "version")) == before


def test_a_queue_exports_every_page_with_its_filters_as_csv_and_xlsx(world: Any, client_for: Any,
                                                                     monkeypatch: Any) -> None:
    import io

    import openpyxl

    monkeypatch.setattr("loopdesk.workbench.views.queues.PAGE_SIZE", 2)
    mine = _create(world, 3)
    calls = _create(world, 1, category=world.categories["calls"])
    elsewhere = _create(world, 1, category=world.categories["dispute"])  # another unit's
    client = client_for("specialist", language="zh-hans")
    page = client.get("/queues/unit/").content.decode()
    assert "导出整个列表" in page and "format=csv" in page
    response = client.get("/queues/unit/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="unit-' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].split(",")[:2] == ["编号", "创建时间"]
    numbers = {line.split(",")[0] for line in lines[1:]}
    assert numbers == {t.number for t in mine + calls}  # every page, and only this unit's
    assert elsewhere[0].number not in text
    msisdn = mine[0].customer.msisdn
    assert msisdn not in text and f"{msisdn[:3]}****{msisdn[-4:]}" in text  # masked
    response = client.get(f"/queues/unit/?category={world.categories['calls'].pk}&format=xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [calls[0].number]  # the filter applies


def test_a_queue_export_with_a_bad_filter_shows_the_error_and_downloads_nothing(world: Any,
                                                                               client_for: Any) -> None:
    _create(world, 1)
    response = client_for("specialist").get("/queues/unit/?created_from=not-a-date&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert response.context["form"].errors["created_from"]


def test_bulk_dispatch_sends_the_versions_shown_and_reports_a_ticket_changed_meanwhile(
        world: Any, client_for: Any) -> None:
    from loopdesk.tickets.services import do_transfer_ticket

    waiting = _create(world, 2, category=world.categories["other"])
    client = client_for("dispatcher")
    page = client.get("/queues/dispatch/").content.decode()
    for t in waiting:
        assert f'name="version_{t.pk}" value="{t.version}"' in page
    shown = {f"version_{t.pk}": t.version for t in waiting}
    # Meanwhile a colleague sends the first one to network optimisation.
    do_transfer_ticket(acting_user=world.user("dispatcher"), ticket=waiting[0], to_unit=world.units["netopt"],
                       note="覆盖问题")
    response = client.post("/queues/bulk-dispatch/", {
        "ids": [t.pk for t in waiting], "to_unit": world.units["netmaint"].pk, "note": "网络问题",
        "next": "/queues/dispatch/", **shown}, follow=True)
    handlers = dict(Ticket.objects.filter(pk__in=[t.pk for t in waiting]).values_list("pk", "handler_unit"))
    assert handlers == {waiting[0].pk: world.units["netopt"].pk, waiting[1].pk: world.units["netmaint"].pk}
    text = [str(m) for m in response.context["messages"]]
    assert any(waiting[0].number in m and "changed by someone else" in m for m in text), text


def test_bulk_dispatch_without_the_versions_moves_nothing_and_asks_to_reload(world: Any, client_for: Any) -> None:
    waiting = _create(world, 1, category=world.categories["other"])
    response = client_for("dispatcher").post("/queues/bulk-dispatch/", {
        "ids": [waiting[0].pk], "to_unit": world.units["netmaint"].pk, "next": "/queues/dispatch/"}, follow=True)
    assert Ticket.objects.get(pk=waiting[0].pk).handler_unit_id == world.units["l2"].pk
    assert any("reload the page" in str(m) for m in response.context["messages"])


def test_the_repeat_complaint_tag_is_translated(world: Any, client_for: Any) -> None:
    customer = world.customer()
    first, again = (do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(customer=customer),
                                     dispatch=True) for _ in range(2))
    assert again.is_repeat and not first.is_repeat
    page = client_for("specialist", "zh-hans").get("/queues/unit/").content.decode()
    assert 'title="重复投诉">重复</span>' in page
    assert ">repeat<" not in page


@pytest.mark.parametrize("key", ["auditor", "specialist"])
def test_bulk_dispatch_is_refused_to_roles_without_the_bulk_form(world: Any, client_for: Any, key: str) -> None:
    waiting = _create(world, 1, category=world.categories["other"])
    response = client_for(key).post("/queues/bulk-dispatch/", {
        "ids": [waiting[0].pk], "to_unit": world.units["netmaint"].pk, "next": "/queues/dispatch/",
        f"version_{waiting[0].pk}": waiting[0].version})
    assert response.status_code == 403
    assert Ticket.objects.get(pk=waiting[0].pk).handler_unit_id == world.units["l2"].pk


def test_a_queue_xlsx_has_its_times_as_date_times(world: Any, client_for: Any) -> None:
    """As the reports' ticket lists (docs/reports.md): Excel sorts and filters date-time cells as dates; the queue's
    XLSX wrote its times as text ("2026-11-02 09:30")."""
    import datetime as dt
    import io

    import openpyxl

    from loopdesk.sla.calendars import SHANGHAI

    made = _create(world, 1)
    response = client_for("specialist", language="zh-hans").get("/queues/unit/?format=xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
                .iter_rows(values_only=True))
    created = made[0].created_at.astimezone(SHANGHAI).replace(tzinfo=None, second=0, microsecond=0)
    assert rows[1][0] == made[0].number and rows[1][1] == created and isinstance(rows[1][1], dt.datetime)


def test_a_province_or_hq_supervisor_bulk_dispatches_to_the_cities_units(world: Any, client_for: Any) -> None:
    # The bulk form offered the units of the user's own region code: GD / HQ, which no city's department carries,
    # so a province's or HQ's supervisor could only leave the unit to the routing rules.
    from loopdesk.conftest import _staff
    from loopdesk.org.choices import Role

    _staff(world, "gd_sup", "gd", Role.SUPERVISOR)
    _staff(world, "hq_sup", "hq", Role.SUPERVISOR)
    netmaint, specialist = world.units["netmaint"], world.user("specialist")
    for key in ("gd_sup", "hq_sup"):
        context = client_for(key).get("/queues/dispatch/").context
        units = dict(context["bulk_units"])
        assert netmaint.pk in units and "JM" in units[netmaint.pk], key  # named with its city: several have one
        assert specialist.pk in [pk for _unit, people in context["bulk_handlers"] for pk, _name in people], key
    city = client_for("dispatcher").get("/queues/dispatch/").context
    assert netmaint.pk in dict(city["bulk_units"]) and "JM" not in dict(city["bulk_units"])[netmaint.pk]
    waiting = _create(world, 1, category=world.categories["other"])
    client_for("gd_sup").post("/queues/bulk-dispatch/", {
        "ids": [t.pk for t in waiting], "to_unit": netmaint.pk, "next": "/queues/dispatch/",
        **{f"version_{t.pk}": t.version for t in waiting}})
    assert Ticket.objects.get(pk=waiting[0].pk).handler_unit_id == netmaint.pk

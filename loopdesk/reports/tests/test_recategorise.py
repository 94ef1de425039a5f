"""A category moved under another top category: its work orders' stored top category and their KPI facts follow."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World, post_admin_change
from loopdesk.reports import rollups
from loopdesk.reports.models import ReportFact, RollupPending
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket


def test_moving_a_category_under_another_top_category_moves_its_tickets_and_their_figures(
    world: World, client
) -> None:
    agent = world.user("agent")
    coverage, billing = world.categories["coverage"], world.categories["billing"]
    basic = world.categories["basic"]
    moved = [s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs()) for _ in range(2)]  # 室内无信号
    stays = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs(category=world.categories["calls"]))
    rollups.fold_pending()
    assert set(ReportFact.objects.values_list("category_root_id", flat=True)) == {basic.pk}
    admin = world.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = post_admin_change(client, f"/admin/tickets/category/{coverage.pk}/change/", {
        "code": coverage.code, "name": coverage.name, "name_en": coverage.name_en, "parent": billing.pk,
        "position": 0, "keywords": "", "is_active": "on"})
    assert page.status_code == 302, page.content.decode()[:3000]
    assert {t.category_root_id for t in Ticket.objects.filter(pk__in=[t.pk for t in moved])} == {billing.pk}
    assert Ticket.objects.get(pk=stays.pk).category_root_id == basic.pk
    assert RollupPending.objects.filter(ticket_id__in=[t.pk for t in moved]).count() == 2
    assert not rollups.check().ok  # the facts are behind until the fold
    rollups.fold_pending()
    assert sorted(ReportFact.objects.values_list("category_root_id", flat=True)) == sorted(
        [billing.pk, billing.pk, basic.pk])
    assert rollups.check().ok
    # a repeat is the same customer with the same top category: 室内无信号 is a billing matter now
    again = s.do_create_ticket(acting_user=agent, now=T0 + dt.timedelta(days=1),
                               **world.ticket_kwargs(category=world.categories["billing"], customer=moved[0].customer))
    assert again.is_repeat

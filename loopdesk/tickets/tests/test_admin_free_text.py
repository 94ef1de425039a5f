"""The admin's work-order pages show the free text as typed to readers who may reveal customers, and with any mobile
number in it masked (138****5678) to those who may not (an auditor), as the customer's own number is
(docs/access.md: personal data)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from loopdesk.conftest import World, staff_client
from loopdesk.tickets import services as s
from loopdesk.tickets.models import TicketEvent

TYPED = "13912345678"
MASKED = "139****5678"


def test_an_auditor_reads_numbers_typed_into_a_work_orders_texts_masked_in_the_admin(world: World) -> None:
    Group.objects.get(name="auditor").permissions.add(
        *Permission.objects.filter(content_type__app_label="tickets", codename__startswith="view_"))
    t = s.do_create_ticket(acting_user=world.user("agent"), title=f"客户{TYPED}无信号",
                           **world.ticket_kwargs(description=f"请回拨 {TYPED}，白天不方便"))
    s.do_add_note(acting_user=world.user("agent"), ticket=t, text=f"客户另留号码 150-1234-5678 / {TYPED}")
    note = TicketEvent.objects.filter(ticket=t).exclude(note="").latest("seq")

    auditor = staff_client(world, "auditor")
    for url in (f"/admin/tickets/ticket/{t.pk}/change/", f"/admin/tickets/ticketevent/{note.pk}/change/"):
        page = auditor.get(url).content.decode()
        assert MASKED in page and "150-****-5678" in page, url
        assert TYPED not in page and "1234-5678" not in page, url
    assert "请回拨 139****5678，白天不方便" in auditor.get(f"/admin/tickets/ticket/{t.pk}/change/").content.decode()

    admin = staff_client(world, "admin", superuser=True)  # may reveal: the texts as typed
    page = admin.get(f"/admin/tickets/ticket/{t.pk}/change/").content.decode()
    assert f"客户{TYPED}无信号" in page and f"请回拨 {TYPED}" in page and "150-1234-5678" in page

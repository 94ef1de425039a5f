"""The Chinese admin titled rows of several models with Django's English default ('Survey object (1)',
'CallbackTask object (4)', 'CustomerMessage object (16)', 'StaffAlert object (3)', 'TicketSequence object (2)',
'TicketUnitAccess object (10)') and a work order's timeline entries with their stored code ('11#7 close'): in page
titles, breadcrumbs, history pages and the action checkboxes. Each is named in the reader's language now."""

from __future__ import annotations

import datetime as dt

from django.db.models import Model

from loopdesk.conftest import T0, World, staff_client
from loopdesk.followup.models import CallbackTask, StaffAlert
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys.models import Survey
from loopdesk.tickets import services
from loopdesk.tickets.models import TicketEvent, TicketSequence, TicketUnitAccess


def _url(obj: Model) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


def test_admin_pages_name_rows_in_the_readers_language(world: World) -> None:
    ticket = world.replied_ticket(answered=True)
    ticket = services.do_callback(acting_user=world.user("agent"), ticket=ticket, verdict="satisfied",
                                  now=T0 + dt.timedelta(hours=4))
    services.do_close_ticket(acting_user=world.user("agent"), ticket=ticket, now=T0 + dt.timedelta(hours=5))
    # On PostgreSQL the numbers come from database sequences and these rows only from imports: made here.
    TicketSequence.objects.get_or_create(region=ticket.region, day=ticket.created_at.date(),
                                         defaults={"last_value": 1})
    rows: list[Model] = [Survey.objects.get(ticket=ticket), CallbackTask.objects.get(ticket=ticket),
                         CustomerMessage.objects.filter(ticket_id=ticket.pk).first(),
                         StaffAlert.objects.filter(ticket=ticket).first(), TicketSequence.objects.first(),
                         TicketUnitAccess.objects.filter(ticket=ticket).first()]
    assert all(row is not None for row in rows)
    close = TicketEvent.objects.get(ticket=ticket, kind="close")
    zh = staff_client(world, "admin", language="zh-hans", superuser=True)
    en = staff_client(world, "admin", language="en", superuser=True)
    for row in rows:
        text = zh.get(_url(row)).content.decode()
        assert f"{type(row).__name__} object ({row.pk})" not in text, type(row).__name__
        assert f"{row._meta.verbose_name}" in text or type(row) is TicketSequence
    assert f"<title>{ticket.region} " in zh.get(_url(rows[4])).content.decode()
    assert f"满意度调查 #{rows[0].pk}" in zh.get(_url(rows[0])).content.decode()
    assert f"satisfaction survey #{rows[0].pk}" in en.get(_url(rows[0])).content.decode()
    for client, closed, code in ((zh, "已关闭", " close"), (en, "Closed", " close")):
        text = client.get(_url(close)).content.decode()
        assert f"{ticket.pk}#{close.seq} {closed}" in text
        assert f"{ticket.pk}#{close.seq}{code}" not in text

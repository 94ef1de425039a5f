"""The bulk import gives the complaint a row repeats its timeline entry, as `do_create_ticket` does."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from loopdesk.conftest import T0, World
from loopdesk.reports.imports import import_tickets
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.models import ExternalRef, TicketEvent

ROWS = ("工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容\n"
        "R-1,2026-10-05 09:30,13900000001,投诉,基础通信>信号覆盖>室内无信号,10086热线,家里没信号\n"
        "R-2,2026-10-07 10:00,13900000001,投诉,基础通信>信号覆盖>室内无信号,营业厅,还是没信号\n"
        "R-3,2026-10-08 10:00,13900000001,投诉,基础通信>信号覆盖>室内无信号,营业厅,又没信号\n")


@pytest.mark.parametrize("batch_size", [1, 5000])
def test_the_complaint_repeated_gets_a_link_entry_naming_the_new_one(world: World, batch_size: int) -> None:
    result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(ROWS.encode()), system="r", now=T0,
                            batch_size=batch_size, parallel=False)
    assert result.created == 3, result.errors
    first, second, third = (ExternalRef.objects.get(system="r", external_id=f"R-{i}").ticket for i in (1, 2, 3))
    links = [(e.seq, e.data, e.created_at, e.actor_id) for e in TicketEvent.objects.filter(ticket=second, kind="link")]
    assert links == [(3, {"kind": "repeat", "other": third.number, "inverse": True},
                      dt.datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI), world.users["agent"].pk)]
    on_first = TicketEvent.objects.filter(ticket=first, kind="link").values_list("data", flat=True)
    assert list(on_first) == [{"kind": "repeat", "other": second.number, "inverse": True}]
    assert (second.last_event_seq, second.updated_at) == (3, dt.datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI))
    assert third.last_event_seq == TicketEvent.objects.filter(ticket=third).count() == 2  # create, repeat

"""Blank lines above the header (or above a title) are skipped, as blank lines between a title and the header are;
problems keep the file's own line numbers."""

from __future__ import annotations

import io

from django.utils import translation
from openpyxl import Workbook

from loopdesk.conftest import T0, World
from loopdesk.customers.models import Customer
from loopdesk.reports.imports import import_customers, import_tickets
from loopdesk.tickets.models import ExternalRef

HEADER = "工单编号,受理时间,手机号码,服务类型,投诉类目,受理渠道,投诉内容\n"
ROWS = ("B-1,2026-10-05 09:30,13900000001,投诉,其它,10086热线,内容\n"
        "B-2,不是时间,13900000002,投诉,其它,10086热线,内容\n")


def test_blank_lines_before_the_header_are_skipped_and_lines_keep_their_numbers(world: World) -> None:
    agent = world.user("agent")
    cases = [(b"\r\n\r\n" + (HEADER + ROWS).encode("gbk"), 5),                 # blank lines, then the header
             (b"\xef\xbb\xbf\n,,\n" + (HEADER + ROWS).encode(), 5),             # a BOM, a line of empty cells
             (b"\n\n" + ("投诉工单明细\n" + HEADER + ROWS).encode(), 6)]  # blank lines, a title, the header
    for data, line in cases:
        with translation.override("en"):
            result = import_tickets(acting_user=agent, source=io.BytesIO(data), system="x", now=T0, dry_run=True)
        assert [e.row for e in result.errors] == [line], (data[:12], result.errors)  # B-2's own line
    tsv = b"\n\n" + (HEADER + ROWS).replace(",", "\t").encode()
    result = import_tickets(acting_user=agent, source=io.BytesIO(tsv), system="x", now=T0, dry_run=True)
    assert [e.row for e in result.errors] == [5], result.errors  # tab-separated, told by its header line
    customers = import_customers(acting_user=world.user("supervisor"),
                                 source=io.BytesIO("\n\n手机号码,品牌\n13900000003,全球通\n1390000000x,\n".encode()),
                                 all_or_nothing=False)
    assert ([e.row for e in customers.errors], customers.created) == ([5], 1)
    assert Customer.objects.filter(msisdn="13900000003").exists()


def test_an_xlsx_with_blank_rows_above_its_header(world: World) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([None])
    sheet.append(["", None])
    for line in (HEADER + ROWS).splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = import_tickets(acting_user=world.user("agent"), source=buffer, name="legacy.xlsx", system="x", now=T0,
                            all_or_nothing=False)
    assert [e.row for e in result.errors] == [5], result.errors
    assert ExternalRef.objects.filter(external_id="B-1").exists()


def test_placeholders_for_no_value_in_optional_ticket_columns(world: World) -> None:
    """An open legacy ticket exported with "-" as its closing time (or "--" as its priority, N/A as its status, 无 as
    the customer's name) is read as having none, not refused as "not a date"; a closed one still needs its time."""
    data = (HEADER.strip() + ",优先级,工单状态,结案时间,客户姓名,处理结果\n"
            "P-1,2026-10-05 09:30,13900000001,投诉,其它,10086热线,内容,--,处理中,-,无,-\n"
            "P-2,2026-10-05 09:31,13900000002,投诉,其它,10086热线,内容,,N/A,—,,\n"
            "P-3,2026-10-05 09:32,13900000003,投诉,其它,10086热线,内容,,已结案,-,,已处理\n")
    with translation.override("en"):
        result = import_tickets(acting_user=world.user("agent"), source=io.BytesIO(data.encode()), system="p",
                                now=T0, all_or_nothing=False)
    assert [(e.row, e.column) for e in result.errors] == [(4, "closed at")], result.errors
    ticket = ExternalRef.objects.get(system="p", external_id="P-1").ticket
    assert (ticket.status, ticket.priority, ticket.closed_at) == ("new", "normal", None)
    assert ExternalRef.objects.get(system="p", external_id="P-2").ticket.is_open
    assert Customer.objects.get(msisdn="13900000001").name == ""

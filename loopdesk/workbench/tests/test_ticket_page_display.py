"""What the ticket page shows: every SLA clock with its time, the first responder and current handler, and
parent/child, duplicate, related and repeat links read from either side."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone

from loopdesk.conftest import World
from loopdesk.tickets.choices import LinkKind
from loopdesk.tickets.models import Ticket, TicketLink
from loopdesk.tickets.services import do_create_ticket, do_link_tickets, do_reject_ticket


def _dispatched(world: World, **kwargs: Any) -> Ticket:
    return do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["netmaint"],
                            **world.ticket_kwargs(**kwargs))


def _clock(html: str, clock_id: str) -> str:
    match = re.search(rf'id="{clock_id}"><div class="label">[^<]*</div><div class="value">([^<]*)</div>', html)
    assert match, clock_id
    return match.group(1).strip()


def _local(value: dt.datetime, fmt: str) -> str:
    return f"{timezone.localtime(value):{fmt}}"


def test_sla_clocks_show_each_limit_of_the_ticket(world: World, client_for: Any) -> None:
    customer = world.customer(vip_level="gold")  # the VIP policy: first response, department reply, resolution
    ticket = _dispatched(world, customer=customer)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.first_response_due_at and ticket.hop_due_at and ticket.overtime_at and ticket.problem_at
    html = client_for("agent").get(f"/tickets/{ticket.pk}/").content.decode()
    assert _clock(html, "clock-committed") == _local(ticket.committed_at, "%Y-%m-%d %H:%M")
    assert _clock(html, "clock-first-response").startswith(_local(ticket.first_response_due_at, "%m-%d %H:%M"))
    assert _clock(html, "clock-hop") == _local(ticket.hop_due_at, "%m-%d %H:%M")
    assert _clock(html, "clock-overtime") == _local(ticket.overtime_at, "%m-%d %H:%M")
    assert _clock(html, "clock-problem") == _local(ticket.problem_at, "%m-%d %H:%M")
    if ticket.resolution_due_at:
        assert _clock(html, "clock-resolution") == _local(ticket.resolution_due_at, "%m-%d %H:%M")
    assert "SLA policy: VIP" in html[html.index('id="sla-h"'):]
    assert 'id="clock-callback"' not in html  # only once the customer is answered


def test_first_responder_and_current_handler_are_shown(world: World, client_for: Any) -> None:
    ticket = _dispatched(world)
    html = client_for("specialist").get(f"/tickets/{ticket.pk}/").content.decode()
    assert re.search(r'id="first-responder">agent · call</dd>', html)
    assert re.search(r'id="current-handler">netmaint</dd>', html)


def _links(html: str) -> list[tuple[str, str, str]]:
    block = html[html.index('<div id="links">'):]
    block = block[:block.index("</div>")]
    return re.findall(r'<p data-link="([^"]+)">([^<]+?) <a class="num" href="/tickets/\d+/">([^<]+)</a></p>', block)


def test_parent_child_duplicate_and_related_links_read_right_from_both_sides(world: World, client_for: Any) -> None:
    parent, child, related = _dispatched(world), _dispatched(world), _dispatched(world)
    agent = world.user("agent")
    do_link_tickets(acting_user=agent, ticket=parent, other=child, kind=LinkKind.PARENT)
    do_link_tickets(acting_user=agent, ticket=parent, other=related, kind=LinkKind.RELATED)
    duplicate = do_create_ticket(acting_user=agent, **world.ticket_kwargs())  # registered, not yet dispatched
    do_reject_ticket(acting_user=agent, ticket=duplicate, reason="duplicate", duplicate_of=parent)
    assert TicketLink.objects.filter(from_ticket=duplicate, to_ticket=parent, kind=LinkKind.DUPLICATE).exists()
    client = client_for("agent")
    page = client.get(f"/tickets/{parent.pk}/").content.decode()
    assert sorted(_links(page)) == sorted([
        ("parent", "Parent of", child.number), ("related", "Related to", related.number),
        ("duplicate-of-this", "Duplicated by", duplicate.number)])
    assert _links(client.get(f"/tickets/{child.pk}/").content.decode()) == [
        ("parent-of-this", "Child of", parent.number)]
    assert _links(client.get(f"/tickets/{duplicate.pk}/").content.decode()) == [
        ("duplicate", "Duplicate of", parent.number)]
    assert _links(client.get(f"/tickets/{related.pk}/").content.decode()) == [
        ("related-of-this", "Related to", parent.number)]
    zh = client_for("agent", language="zh-hans").get(f"/tickets/{child.pk}/").content.decode()
    assert _links(zh) == [("parent-of-this", "所属父单", parent.number)]


def test_a_repeat_complaint_links_to_the_earlier_one_both_ways(world: World, client_for: Any) -> None:
    customer = world.customer()
    first = _dispatched(world, customer=customer)
    repeat = _dispatched(world, customer=customer)
    assert Ticket.objects.get(pk=repeat.pk).is_repeat
    client = client_for("agent")
    assert _links(client.get(f"/tickets/{repeat.pk}/").content.decode()) == [
        ("repeat", "Repeat of", first.number)]
    assert _links(client.get(f"/tickets/{first.pk}/").content.decode()) == [
        ("repeat-of-this", "Repeated by", repeat.number)]

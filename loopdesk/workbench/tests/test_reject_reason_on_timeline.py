"""The ticket page says why a work order was rejected: the reason kind (invalid / duplicate, required when
rejecting) and the original of a duplicate were kept only in the event's data, so a work order rejected as invalid
without a note showed "Rejected" and nothing else, in either language."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import RejectReason


def _entry(client: Any, pk: int) -> str:
    page = client.get(f"/tickets/{pk}/").content.decode()
    return page.split('id="timeline"')[1].split('data-kind="reject"')[1].split("</li>")[0]


def test_the_reject_reason_and_the_original_are_on_the_timeline(world: World, client_for: Any) -> None:
    invalid = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    s.do_reject_ticket(acting_user=world.user("agent"), ticket=invalid, reason=RejectReason.INVALID)
    assert "Rejected as" in _entry(client_for("agent"), invalid.pk)
    assert "Invalid" in _entry(client_for("agent"), invalid.pk)
    assert "无效" in _entry(client_for("agent", "zh-hans"), invalid.pk)
    original = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    duplicate = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    s.do_reject_ticket(acting_user=world.user("agent"), ticket=duplicate, reason=RejectReason.DUPLICATE,
                       duplicate_of=original)
    entry = _entry(client_for("agent"), duplicate.pk)
    assert "Duplicate" in entry and original.number in entry, entry

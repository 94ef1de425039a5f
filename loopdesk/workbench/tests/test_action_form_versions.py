"""Action forms and the version the user saw: a stale form says so (even when the action is no longer possible),
a form without a usable version asks for a reload, and a read-only auditor is refused whatever the version."""

from __future__ import annotations

from typing import Any

from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_accept_ticket, do_create_ticket, do_reply_ticket

HX = {"HX-Request": "true"}


def _dispatched(world: Any) -> Ticket:
    return do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(), dispatch=True)


def test_a_stale_form_of_an_action_no_longer_possible_says_the_ticket_changed(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    seen = ticket.version
    # While the first specialist has the accept dialog open, a colleague accepts and replies.
    ticket = do_accept_ticket(acting_user=world.user("specialist2"), ticket=ticket)
    do_reply_ticket(acting_user=world.user("specialist2"), ticket=ticket, resolution="已调整天线")
    response = client_for("specialist").post(f"/tickets/{ticket.pk}/act/accept/", {"version": seen}, headers=HX)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.REPLIED


def test_a_stale_form_conflict_is_in_chinese(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    seen = ticket.version
    do_accept_ticket(acting_user=world.user("specialist2"), ticket=ticket)
    ticket.refresh_from_db()
    do_reply_ticket(acting_user=world.user("specialist2"), ticket=ticket, resolution="已调整天线")
    response = client_for("specialist", "zh-hans").post(f"/tickets/{ticket.pk}/act/accept/", {"version": seen},
                                                        headers=HX)
    assert response.status_code == 409
    assert "刷新" in response.content.decode() or "重新加载" in response.content.decode()


def test_a_current_form_of_an_action_not_allowed_is_still_a_403(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    response = client_for("agent").post(f"/tickets/{ticket.pk}/act/accept/", {"version": ticket.version})
    assert response.status_code == 403


def test_a_stale_form_of_an_action_the_user_could_never_take_is_a_403(world: Any, client_for: Any) -> None:
    """The first responder posting "accept" (a handler's action) with a stale version was told the work order had
    changed (409, with its version): the permission check comes first, as in the API."""
    ticket = _dispatched(world)
    seen = ticket.version
    do_accept_ticket(acting_user=world.user("specialist2"), ticket=ticket)
    response = client_for("agent").post(f"/tickets/{ticket.pk}/act/accept/", {"version": seen}, headers=HX)
    assert response.status_code == 403
    assert "changed by someone else" not in response.content.decode()


def test_a_read_only_auditor_posting_any_action_form_gets_a_403(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    seen = ticket.version
    do_accept_ticket(acting_user=world.user("specialist2"), ticket=ticket)
    client = client_for("auditor")
    for version in (seen, seen + 1, ""):
        for action in ("accept", "reply", "withdraw"):
            response = client.post(f"/tickets/{ticket.pk}/act/{action}/", {"version": version, "reason": "x",
                                                                           "resolution": "x"}, headers=HX)
            assert response.status_code == 403, (action, version)
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS


def test_an_action_form_without_a_usable_version_asks_to_reload(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    client = client_for("specialist")
    for data in ({}, {"version": ""}, {"version": "abc"}, {"version": "1.5"}):
        response = client.post(f"/tickets/{ticket.pk}/act/accept/", data, headers=HX)
        assert response.status_code == 422, data
        assert "reload the page" in response.content.decode().lower(), data
        assert response.context["form"].errors["version"]
    ticket.refresh_from_db()
    assert ticket.status == Status.DISPATCHED


def test_the_transfer_form_does_not_offer_the_unit_that_has_the_ticket(world: Any, client_for: Any) -> None:
    ticket = do_accept_ticket(acting_user=world.user("specialist"), ticket=_dispatched(world))
    response = client_for("specialist").get(f"/tickets/{ticket.pk}/act/transfer/", headers=HX)
    assert response.status_code == 200
    offered = [value for value, _label in response.context["form"].fields["to_unit"].choices]
    assert ticket.handler_unit_id not in offered
    assert world.units["netopt"].pk in offered


def test_a_stale_form_of_an_action_still_possible_is_a_409_that_keeps_what_was_typed(world: Any,
                                                                                      client_for: Any) -> None:
    """The reply is still possible, but the work order moved on while the dialog was open (here: the SLA sweep marked
    it overtime): a conflict (409, as the API), in the user's language, with the text kept (was a 422)."""
    from loopdesk.followup.services import sweep_sla

    ticket = do_accept_ticket(acting_user=world.user("specialist"), ticket=_dispatched(world))
    seen = ticket.version
    sweep_sla(now=ticket.overtime_at)  # marks it overtime: a new version
    for language, words in (("en", "reload"), ("zh-hans", "刷新")):
        response = client_for("specialist", language).post(
            f"/tickets/{ticket.pk}/act/reply/", {"version": seen, "resolution": "已调整天线方位角"}, headers=HX)
        assert response.status_code == 409, language
        page = response.content.decode()
        assert words in page.lower() and "已调整天线方位角" in page, language
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS

"""The REST API's callback took "dissatisfied" with no note, while the workbench's forms refuse it ("Say why the
customer is not satisfied"): the department got a reopened work order with no word of why. Now the same field error
(400, on `note`, in the caller's language) and nothing stored."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from loopdesk.conftest import World
from loopdesk.followup.models import CallbackTask, Escalation
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket, TicketEvent


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    caches["default"].clear()


def _answered(world: World) -> Ticket:
    t = s.do_create_ticket(acting_user=world.user("agent"), dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, expected_version=t.version)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已优化",
                          expected_version=t.version)
    return s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已处理", expected_version=t.version)


@pytest.mark.parametrize(("note", "language", "message"), [
    (None, "en", "Say why the customer is not satisfied"),
    ("   ", "zh-hans", "请说明客户不满意的原因"),
])
def test_a_dissatisfied_verdict_without_a_note_is_a_field_error_and_nothing_is_stored(
        world: World, note: str | None, language: str, message: str) -> None:
    t = _answered(world)
    events = TicketEvent.objects.filter(ticket=t).count()
    client = APIClient()
    client.force_login(world.users["agent"])
    body = {"version": t.version, "verdict": "dissatisfied"}
    if note is not None:
        body["note"] = note
    response = client.post(f"/api/tickets/{t.pk}/actions/callback/", body, format="json",
                           HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400, response.content
    assert message in str(response.json()), response.json()
    assert "note" in str(response.json())
    stored = Ticket.objects.get(pk=t.pk)
    assert (stored.status, stored.version, stored.callback_verdict) == (Status.ANSWERED, t.version, "")
    assert TicketEvent.objects.filter(ticket=t).count() == events
    assert CallbackTask.objects.filter(ticket=t, status="open").exists() and not Escalation.objects.exists()

"""The screen-pop's "last satisfaction" named the work order of the customer's latest survey whoever looked: a hall
clerk of another branch saw the number of a work order they may not open (a permission leak). The rating is still
shown (it is the customer's word on our service); the number only to a user who may see that work order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loopdesk.conftest import T0, World
from loopdesk.surveys.models import Survey, SurveyKind, SurveyStatus
from loopdesk.tickets.services import do_create_ticket

H = dt.timedelta(hours=1)


def _answered_survey_of_a_call_room_ticket(world: World) -> tuple[Any, Any]:
    customer = world.customer()
    ticket = do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs(customer=customer))
    Survey.objects.create(kind=SurveyKind.TICKET, msisdn=customer.msisdn, ticket=ticket, occasion="t:1",
                          token_hash="a" * 64, status=SurveyStatus.ANSWERED, sent_at=T0 + H,
                          expires_at=T0 + 50 * H, score=5, answered_at=T0 + 2 * H, answered_via="sms")
    return customer, ticket


def _cell(response: Any) -> str:
    html = response.content.decode()
    cell = html[html.index('id="last-satisfaction"'):]
    return cell[:cell.index("</dd>")]


def test_a_user_who_may_not_see_the_surveyed_work_order_gets_the_rating_without_its_number(
        world: World, client_for: Any) -> None:
    customer, ticket = _answered_survey_of_a_call_room_ticket(world)
    response = client_for("clerk").get(f"/desk/?caller={customer.msisdn}")
    assert response.status_code == 200
    sat = response.context["view"].last_satisfaction
    assert sat.source == "survey" and sat.label == "Very satisfied (非常满意)"
    assert sat.number == "" and ticket.number not in response.content.decode()
    assert "Very satisfied" in _cell(response)


def test_a_user_who_may_see_it_still_gets_the_number(world: World, client_for: Any) -> None:
    customer, ticket = _answered_survey_of_a_call_room_ticket(world)
    response = client_for("agent").get(f"/desk/?caller={customer.msisdn}")
    assert response.context["view"].last_satisfaction.number == ticket.number
    assert ticket.number in _cell(response)

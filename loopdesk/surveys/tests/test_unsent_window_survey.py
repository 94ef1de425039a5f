"""A window survey whose SMS did not go out (the supervisors switched the message off, or the number's daily limit
was reached for days) was kept as an open survey all the same: pressing the button again said "Already sent for this
contact", and, being the number's latest open survey, it took the customer's SMS rating of the survey they did get
(their work order's). Such a survey is not kept now: nothing was asked, nothing is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loopdesk.conftest import T0, World
from loopdesk.followup.life import whole_life
from loopdesk.notify.models import MessageTemplate
from loopdesk.org.models import User
from loopdesk.surveys import services
from loopdesk.surveys.models import Survey


def test_a_switched_off_window_survey_is_not_recorded_and_says_so_again(world: World, client: Any) -> None:
    MessageTemplate.objects.filter(kind="window_survey").update(is_active=False)
    User.objects.filter(pk=world.users["clerk"].pk).update(language="en")
    client.force_login(world.user("clerk"))
    for _attempt in range(2):
        response = client.post("/desk/window-survey/", {"caller": "13912340000"}, headers={"HX-Request": "true"})
        page = response.content.decode()
        assert "switched the window-survey SMS off" in page and "Already sent" not in page
    assert not Survey.objects.filter(msisdn="13912340000").exists()


def test_an_unsent_window_survey_does_not_take_the_rating_of_the_survey_sent(world: World) -> None:
    customer = world.customer()
    t = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=customer,
                   category=world.categories["indoor"], start=T0, unit=world.units["netmaint"],
                   with_info_request=False)
    sent = Survey.objects.get(ticket=t)
    at = sent.sent_at + dt.timedelta(hours=1)
    MessageTemplate.objects.filter(kind="window_survey").update(is_active=False)
    services.do_create_window_survey(acting_user=world.user("agent"), msisdn=customer.msisdn, channel="hotline",
                                     contact_ref="call-9", now=at)
    services.handle_inbound(gateway_id="gw-9", sender=customer.msisdn, recipient="10086700", text="5",
                            received_at=at + dt.timedelta(minutes=5))
    sent.refresh_from_db()
    assert sent.score == 5
    assert not Survey.objects.filter(kind="window").exists()


def test_a_closed_work_orders_survey_not_sent_is_not_kept(world: World) -> None:
    """The same for the survey of a closed work order whose SMS was not queued (the customer opted out, or the
    survey message switched off): an open survey nobody was asked, taking the rating of a window survey sent before
    it, and counted as sent in the reports."""
    customer = world.customer()
    window = services.do_create_window_survey(acting_user=world.user("agent"), msisdn=customer.msisdn,
                                              channel="hotline", contact_ref="call-1", now=T0)
    MessageTemplate.objects.filter(kind="survey").update(is_active=False)
    t = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=customer,
                   category=world.categories["indoor"], start=T0 + dt.timedelta(minutes=5),
                   unit=world.units["netmaint"], with_info_request=False)
    assert not Survey.objects.filter(ticket=t).exists()
    closed = Survey.objects.get(pk=window.pk).sent_at + dt.timedelta(hours=30)
    services.handle_inbound(gateway_id="gw-1", sender=customer.msisdn, recipient="10086700", text="4",
                            received_at=closed)
    assert Survey.objects.get(pk=window.pk).score == 4

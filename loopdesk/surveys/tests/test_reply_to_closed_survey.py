"""A customer who rated a survey after its validity got "could not recognise your reply, please reply with a number"
(the help text), so they replied with the number again, and again. Now they are told the survey has closed and the
reply did not count; the reply stays logged (InboundSms, outcome "expired", with its survey) as every reply is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from loopdesk.conftest import T0, World
from loopdesk.followup.life import whole_life
from loopdesk.notify.models import CustomerMessage, MessageKind
from loopdesk.surveys import services as sv
from loopdesk.surveys.models import InboundOutcome, InboundSms, Survey


@pytest.mark.parametrize("swept", [True, False])
def test_a_rating_after_the_survey_closed_is_told_so_and_logged(world: World, swept: bool) -> None:
    customer = world.customer()
    t = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=customer,
                   category=world.categories["indoor"], start=T0, unit=world.units["netmaint"],
                   with_info_request=False)
    survey = Survey.objects.get(ticket=t)
    late = survey.expires_at + dt.timedelta(hours=1)
    if swept:
        sv.expire_surveys(now=late)
    result = sv.handle_inbound(gateway_id="gw-1", sender=customer.msisdn, recipient="10086700", text="5",
                               received_at=late)
    assert result.inbound.outcome == InboundOutcome.EXPIRED and result.inbound.survey_id == survey.pk
    assert InboundSms.objects.get(gateway_id="gw-1").text == "5"
    survey.refresh_from_db()
    assert survey.score is None
    reply = CustomerMessage.objects.get(msisdn=customer.msisdn, dedupe_key=f"sms:reply:{result.inbound.pk}")
    assert reply.kind == "survey_closed"
    assert "评价已结束" in reply.text and "未能识别" not in reply.text
    assert not CustomerMessage.objects.filter(msisdn=customer.msisdn, kind="help").exists()


def test_an_unrecognised_text_still_gets_the_help_text(world: World) -> None:
    sv.handle_inbound(gateway_id="gw-2", sender="13912345678", recipient="10086700", text="你们信号太差了")
    assert CustomerMessage.objects.get(msisdn="13912345678").kind == "help"


def test_the_new_message_kind_is_named_in_both_languages() -> None:
    with translation.override("en"):
        assert str(MessageKind("survey_closed").label) == "Reply to a closed survey"
    with translation.override("zh-hans"):
        assert str(MessageKind("survey_closed").label) == "已结束评价的回复"


def test_a_second_rating_of_an_answered_survey_is_told_it_was_counted_once(world: World) -> None:
    """Rated once (by the link, or a reply sent twice): the next rating got the help text ("could not recognise
    your reply, please reply with a number"), asking for what the customer had just done."""
    customer = world.customer()
    t = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=customer,
                   category=world.categories["indoor"], start=T0, unit=world.units["netmaint"],
                   with_info_request=False)
    survey = Survey.objects.get(ticket=t)
    at = survey.sent_at + dt.timedelta(hours=1)
    first = sv.handle_inbound(gateway_id="gw-a", sender=customer.msisdn, recipient="10086700", text="5",
                              received_at=at)
    assert first.inbound.outcome == InboundOutcome.RATED
    again = sv.handle_inbound(gateway_id="gw-b", sender=customer.msisdn, recipient="10086700", text="4",
                              received_at=at + dt.timedelta(minutes=5))
    assert again.inbound.outcome == InboundOutcome.ANSWERED and again.inbound.survey_id == survey.pk
    survey.refresh_from_db()
    assert survey.score == 5
    reply = CustomerMessage.objects.get(msisdn=customer.msisdn, dedupe_key=f"sms:reply:{again.inbound.pk}")
    assert reply.kind == "survey_closed" and "评价已结束" in reply.text and "未能识别" not in reply.text
    with translation.override("zh-hans"):
        assert str(InboundOutcome.ANSWERED.label) == "已评价后的重复回复"

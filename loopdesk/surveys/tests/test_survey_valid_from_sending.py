"""A survey was valid for the policy's hours (72) from when it was created, also when its SMS waited: in quiet hours
until the morning, or for the number's daily limit up to a week. The customer got a link already expired, or with
hours less than the SMS said ("72小时内回复有效"), and their reply was told the survey had closed. A survey is valid
for those hours from when its SMS goes out now (`CustomerMessage.scheduled_for`)."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.followup.life import whole_life
from loopdesk.followup.models import FollowupPolicy
from loopdesk.notify import services as notify
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys import services
from loopdesk.surveys.models import Survey


def test_a_window_survey_held_by_the_daily_limit_is_valid_from_when_it_goes_out(world: World) -> None:
    FollowupPolicy.objects.create(daily_cap=1)
    msisdn = "13912340000"
    for day in range(3):  # the number's limit is used up today and the next two days
        notify.queue_sms(msisdn=msisdn, kind="ack", dedupe_key=f"other-{day}", context={"number": "x"},
                         now=T0 + dt.timedelta(days=day))
    survey = services.do_create_window_survey(acting_user=world.user("agent"), msisdn=msisdn, channel="hotline",
                                              contact_ref="call-1", now=T0 + dt.timedelta(hours=1))
    message = CustomerMessage.objects.get(msisdn=msisdn, kind="window_survey")
    assert message.scheduled_for.date() == (T0 + dt.timedelta(days=3)).date()
    hours = FollowupPolicy.current().survey_valid_hours
    stored = Survey.objects.get(pk=survey.pk)
    assert stored.expires_at == message.scheduled_for + dt.timedelta(hours=hours)
    assert survey.expires_at == stored.expires_at
    # A reply a day after the SMS arrived counts (created + 72 h had passed).
    reply_at = message.scheduled_for + dt.timedelta(hours=24)
    result = services.handle_inbound(gateway_id="gw-1", sender=msisdn, recipient="10086700", text="5",
                                     received_at=reply_at)
    assert result.inbound.outcome == "rated"


def test_a_work_orders_survey_held_by_the_daily_limit_is_valid_from_when_it_goes_out(world: World) -> None:
    FollowupPolicy.objects.create(daily_cap=1)
    customer = world.customer()
    t = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=customer,
                   category=world.categories["indoor"], start=T0, unit=world.units["netmaint"],
                   with_info_request=False)
    survey = Survey.objects.get(ticket=t)
    message = CustomerMessage.objects.get(ticket_id=t.pk, kind="survey")
    assert message.scheduled_for > survey.sent_at + dt.timedelta(hours=12)  # held for days
    hours = FollowupPolicy.current().survey_valid_hours
    assert survey.expires_at == message.scheduled_for + dt.timedelta(hours=hours)

"""A gateway that reports the sender in international form (+86 13912345678, 0086…, 86…, as the webhook accepts it)
made the number 8613912345678: the customer's rating matched no survey sent to 13912345678 and got no answer (not a
mobile number: no reply at all), their TD (opt-out) was ignored, and a spam report's reporter was cut to
86139123456. The sender is read as the mobile number now, as the desk reads a caller's number."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.notify.models import SmsOptOut
from loopdesk.surveys import services
from loopdesk.surveys.models import InboundSms, SpamReport, Survey


def test_a_rating_from_an_international_sender_counts(world: World) -> None:
    survey = services.do_create_window_survey(acting_user=world.user("agent"), msisdn="13912345678",
                                              channel="hotline", contact_ref="call-1", now=T0)
    # A fixed time: a survey created in the quiet hours goes out (and can be answered) only in the morning.
    result = services.handle_inbound(gateway_id="gw-1", sender="+8613912345678", recipient="10086700", text="4",
                                     received_at=T0 + dt.timedelta(hours=1))
    assert result.inbound.outcome == "rated" and result.inbound.sender == "13912345678"
    assert Survey.objects.get(pk=survey.pk).score == 4


def test_an_opt_out_and_a_spam_report_from_an_international_sender(world: World) -> None:
    services.handle_inbound(gateway_id="gw-2", sender="008613900000001", recipient="10086700", text="TD")
    assert InboundSms.objects.get(gateway_id="gw-2").outcome == "opt_out"
    assert SmsOptOut.objects.filter(msisdn="13900000001").exists()
    services.handle_inbound(gateway_id="gw-3", sender="8613900000002", recipient="10086999",
                            text="10659000123 中奖啦")
    assert SpamReport.objects.get().reporter == "13900000002"

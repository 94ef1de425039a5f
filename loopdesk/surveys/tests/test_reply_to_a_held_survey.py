"""A survey whose SMS was still held back (quiet hours 21:00–08:00 Shanghai, or the number's daily limit) counted
at once as the number's latest open survey: the customer's reply to the survey they did receive was recorded on the
held one, which they had not seen yet, and the one they answered stayed open. A reply is matched only to surveys
whose SMS has gone out by the reply's time (`Survey.sms_at`, the SMS's `CustomerMessage.scheduled_for`)."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.followup.life import whole_life
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys import services
from loopdesk.surveys.models import Survey

MSISDN = "13912340001"


def test_a_reply_rates_the_survey_received_not_one_held_for_quiet_hours(world: World) -> None:
    agent = world.user("agent")
    first = services.do_create_window_survey(acting_user=agent, msisdn=MSISDN, channel="hotline",
                                             contact_ref="call-day", now=T0 + dt.timedelta(hours=11))  # 20:00
    held = services.do_create_window_survey(acting_user=agent, msisdn=MSISDN, channel="hall",
                                            contact_ref="visit-late", now=T0 + dt.timedelta(hours=12))  # 21:00
    held_sms = CustomerMessage.objects.get(dedupe_key=f"sms:window:{held.pk}")
    assert held_sms.scheduled_for > T0 + dt.timedelta(hours=12)  # the next morning
    assert Survey.objects.get(pk=held.pk).sms_at == held_sms.scheduled_for
    # At 21:30 the customer answers the evening survey they received.
    result = services.handle_inbound(gateway_id="gw-held-1", sender=MSISDN, recipient="10086700", text="2",
                                     received_at=T0 + dt.timedelta(hours=12, minutes=30))
    assert result.inbound.outcome == "rated" and result.inbound.survey_id == first.pk
    assert Survey.objects.get(pk=first.pk).score == 2
    assert Survey.objects.get(pk=held.pk).status == "open"
    # Once the held SMS went out, a reply rates it.
    after = services.handle_inbound(gateway_id="gw-held-2", sender=MSISDN, recipient="10086700", text="5",
                                    received_at=held_sms.scheduled_for + dt.timedelta(minutes=5))
    assert after.inbound.outcome == "rated" and after.inbound.survey_id == held.pk


def test_a_reply_before_the_only_survey_went_out_gets_the_help_text(world: World) -> None:
    held = services.do_create_window_survey(acting_user=world.user("agent"), msisdn=MSISDN, channel="hall",
                                            contact_ref="visit-night", now=T0 + dt.timedelta(hours=13))  # 22:00
    result = services.handle_inbound(gateway_id="gw-held-3", sender=MSISDN, recipient="10086700", text="1",
                                     received_at=T0 + dt.timedelta(hours=13, minutes=10))
    assert result.inbound.outcome == "help" and result.inbound.survey_id is None
    assert Survey.objects.get(pk=held.pk).status == "open"


def test_the_migration_fills_in_when_the_open_surveys_sms_goes_out(world: World) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("loopdesk.surveys.migrations.0005_survey_sms_at_inbound_text")
    agent = world.user("agent")
    held = services.do_create_window_survey(acting_user=agent, msisdn=MSISDN, channel="hall",
                                            contact_ref="visit-night", now=T0 + dt.timedelta(hours=13))
    answered = services.do_create_window_survey(acting_user=agent, msisdn="13912340002", channel="hall",
                                                contact_ref="visit-day", now=T0)
    services.do_rate_survey(survey=answered.pk, score=4, via="web", now=T0 + dt.timedelta(hours=1))
    t = whole_life(agent=agent, specialist=world.user("specialist"), customer=world.customer(),
                   category=world.categories["indoor"], start=T0, unit=world.units["netmaint"],
                   with_info_request=False)
    Survey.objects.update(sms_at=None)  # rows from before the field
    migration.backfill_sms_at(apps, None)
    assert Survey.objects.get(pk=held.pk).sms_at == CustomerMessage.objects.get(
        dedupe_key=f"sms:window:{held.pk}").scheduled_for
    assert Survey.objects.get(pk=answered.pk).sms_at is None
    assert Survey.objects.get(ticket=t).sms_at == CustomerMessage.objects.get(ticket_id=t.pk,
                                                                            kind="survey").scheduled_for

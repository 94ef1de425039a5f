"""The desk's "Already sent for this contact at HH:MM" showed only the time, even for a survey asked on another day
(a telephony call id names the contact, whatever the day) or one whose SMS still waits (quiet hours, the daily limit):
the clerk read "sent at 06:10" for an SMS that had not gone out. The date is shown when not today, and a waiting SMS
says when it goes out (zh/en)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from loopdesk.conftest import T0, World
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys.models import Survey
from loopdesk.surveys.services import do_create_window_survey


def _press(client: Any, call_id: str) -> str:
    response = client.post("/desk/window-survey/", {"caller": "13912340000", "contact": call_id},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def test_a_survey_asked_on_another_day_shows_its_date(world: World, client_for: Any) -> None:
    survey = do_create_window_survey(acting_user=world.users["clerk"], msisdn="13912340000", channel="hall",
                                     contact_ref="call-1", now=T0)
    assert survey.pk is not None
    page = _press(client_for("clerk"), "call-1")
    local = timezone.localtime(survey.sent_at)
    assert f"Already sent for this contact at {local:%Y-%m-%d %H:%M}:" in page
    assert Survey.objects.filter(msisdn="13912340000").count() == 1


def test_a_survey_whose_sms_still_waits_says_when_it_goes_out(world: World, client_for: Any) -> None:
    now = timezone.now()
    survey = do_create_window_survey(acting_user=world.users["clerk"], msisdn="13912340000", channel="hall",
                                     contact_ref="call-2", now=now)
    assert survey.pk is not None
    send_at = now + dt.timedelta(days=2)  # held by the number's daily limit
    CustomerMessage.objects.filter(dedupe_key=f"sms:window:{survey.pk}").update(scheduled_for=send_at)
    page = _press(client_for("clerk", language="zh-hans"), "call-2")
    asked = timezone.localtime(survey.sent_at)
    shown = f"{asked:%H:%M}" if asked.date() == timezone.localdate() else f"{asked:%Y-%m-%d %H:%M}"
    assert f"本次服务已于 {shown} 邀请评价" in page
    assert f"将于 {timezone.localtime(send_at):%Y-%m-%d %H:%M} 发出" in page
    assert "发送过评价短信" not in page

"""Satisfaction surveys by SMS and one-time link, the inbound SMS webhook, spam reports, window surveys."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from loopdesk.conftest import T0, World
from loopdesk.followup.life import whole_life
from loopdesk.followup.models import Escalation
from loopdesk.notify.gateways import sign
from loopdesk.notify.models import CustomerMessage, SmsOptOut
from loopdesk.surveys import services as sv
from loopdesk.surveys.models import InboundSms, SpamNumber, Survey
from loopdesk.surveys.tasks import expire_surveys

SECRET = "inbound-test-secret"
LATER = T0 + dt.timedelta(hours=9)  # within the survey's validity (the fixture closes at T0 + 7 h)


@pytest.fixture
def closed(world: World):
    customer = world.customer()
    t = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=customer,
                   category=world.categories["indoor"], start=T0, unit=world.units["netmaint"],
                   with_info_request=False)
    return t, Survey.objects.get(ticket=t)


@pytest.fixture
def inbound(client, settings):
    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    counter = iter(range(1, 10_000))

    def post(sender: str, text: str, to: str = "10086700", *, secret: str = SECRET, body: bytes | None = None,
             received_at: dt.datetime | None = None):
        payload = {"id": f"gw-{next(counter)}", "from": sender, "to": to, "text": text}
        if received_at:
            payload["received_at"] = received_at.isoformat()
        raw = body if body is not None else json.dumps(payload).encode()
        ts = str(int(time.time()))
        return client.post(reverse("surveys:inbound-sms"), raw, content_type="application/json",
                           headers={"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(secret, ts, raw)})

    return post


def test_closing_sends_the_survey_with_scale_and_one_time_link(closed) -> None:
    t, survey = closed
    sms = CustomerMessage.objects.get(ticket_id=t.pk, kind="survey")
    assert "5非常满意" in sms.text and "1很差" in sms.text and "/s/" in sms.text and sms.sender == "10086700"
    assert survey.status == "open" and survey.msisdn == t.customer.msisdn


@pytest.mark.parametrize(("text", "score"), [
    ("5", 5), ("５", 5), (" 4。", 4), ("非常满意", 5), ("满意", 4), ("不满意", 2), ("一般", 3), ("3分", 3),
    ("2 不太满意", 2), ("很差", 1), ("0", None), ("6", None), ("好", None), ("", None), ("55", None),
])
def test_reply_scores_are_understood(text: str, score: int | None) -> None:
    assert sv.parse_score(text) == score


@given(st.text(max_size=30))
def test_any_reply_text_parses_without_error(text: str) -> None:
    assert sv.parse_score(text) in {None, 1, 2, 3, 4, 5}


def test_sms_reply_rates_the_latest_open_survey(closed, inbound) -> None:
    t, survey = closed
    response = inbound(t.customer.msisdn, "５", received_at=LATER)
    assert response.status_code == 200 and response.json()["outcome"] == "rated"
    survey.refresh_from_db()
    assert survey.score == 5 and survey.answered_via == "sms"
    assert CustomerMessage.objects.filter(msisdn=t.customer.msisdn, kind="survey_thanks").count() == 1
    again = inbound(t.customer.msisdn, "1", received_at=LATER)  # already answered: told so, the rating stands
    assert again.json()["outcome"] == "answered" and Survey.objects.get(pk=survey.pk).score == 5


def test_reply_rates_the_latest_open_survey_sent_to_that_number(world: World, inbound) -> None:
    customer = world.customer()
    kwargs = {"agent": world.user("agent"), "specialist": world.user("specialist"), "customer": customer,
              "category": world.categories["indoor"], "unit": world.units["netmaint"], "with_info_request": False}
    first = whole_life(start=T0, **kwargs)
    second = whole_life(start=T0 + dt.timedelta(hours=1), **kwargs)
    # The second survey's SMS waits for the next morning (the number's daily limit): the reply comes after it.
    assert inbound(customer.msisdn, "4", received_at=T0 + dt.timedelta(days=1)).json()["outcome"] == "rated"
    assert Survey.objects.get(ticket=second).score == 4
    assert Survey.objects.get(ticket=first).score is None and Survey.objects.get(ticket=first).status == "open"


def test_low_score_creates_a_follow_up_for_supervisors(closed, inbound) -> None:
    t, _survey = closed
    inbound(t.customer.msisdn, "不满意", received_at=LATER)
    assert Escalation.objects.get(ticket=t).reason == "low_rating"


def test_reply_after_expiry_is_logged_and_answered(closed, inbound) -> None:
    t, survey = closed
    expire_surveys.delay()  # real time is far past T0 + 72 h
    assert inbound(t.customer.msisdn, "5").json()["outcome"] == "expired"
    survey.refresh_from_db()
    assert survey.status == "expired" and survey.score is None
    assert CustomerMessage.objects.filter(msisdn=t.customer.msisdn, kind="survey_closed").exists()


def test_unknown_number_or_text_gets_help(world: World, inbound) -> None:
    assert inbound("13912345678", "5").json()["outcome"] == "help"
    assert inbound("13912345678", "你们信号太差了").json()["outcome"] == "help"
    assert CustomerMessage.objects.filter(msisdn="13912345678", kind="help").count() == 2


def test_bad_signature_and_malformed_bodies_are_refused_and_change_nothing(db, inbound, client) -> None:
    refused = inbound("13912345678", "5", secret="wrong")
    assert refused.status_code == 401 and refused.json()["message"] == "签名错误。"
    bad = inbound("13912345678", "5", body=b"{not json")
    assert bad.status_code == 400 and "body" in bad.json()["errors"]
    missing = inbound("13912345678", "5", body=json.dumps({"id": "x", "from": "139", "to": "1"}).encode())
    assert missing.status_code == 400 and "text" in missing.json()["errors"]
    unsigned = client.post(reverse("surveys:inbound-sms"), b"{}", content_type="application/json")
    assert unsigned.status_code == 401
    assert not InboundSms.objects.exists()


@pytest.mark.parametrize(("field", "value"), [
    ("received_at", "2026-02-30T10:00:00+08:00"), ("received_at", "2026-01-01T25:00:00+08:00"),
    ("received_at", "2026-01-01T10:00:00+99:00"), ("received_at", "2026-01-01T10:00:00"), ("received_at", 5),
    ("from", "１３９１２３４５６７８"), ("from", "139²"), ("from", "+"), ("to", ["10086"]), ("text", None),
])
def test_malformed_fields_of_a_signed_body_are_a_400_on_that_field(db, inbound, field: str, value: object) -> None:
    payload = {"id": "gw-bad", "from": "13912345678", "to": "10086700", "text": "5", field: value}
    response = inbound("", "", body=json.dumps(payload).encode())
    assert response.status_code == 400 and list(response.json()["errors"]) == [field]
    assert not InboundSms.objects.exists() and not CustomerMessage.objects.exists()


def test_replayed_request_with_a_stale_timestamp_is_refused_and_changes_nothing(db, client, settings) -> None:
    from loopdesk.surveys.views import MAX_CLOCK_SKEW

    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    raw = json.dumps({"id": "old-1", "from": "13912345678", "to": "10086700", "text": "5"}).encode()
    for ts in (str(int(time.time()) - MAX_CLOCK_SKEW - 60), str(int(time.time()) + MAX_CLOCK_SKEW + 60), "abc"):
        response = client.post(reverse("surveys:inbound-sms"), raw, content_type="application/json",
                               headers={"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(SECRET, ts, raw)})
        assert response.status_code == 401 and "X-LoopDesk-Timestamp" in response.json()["message"]
    assert not InboundSms.objects.exists() and not CustomerMessage.objects.exists()
    settings.LOOPDESK_SMS_INBOUND_SECRET = ""  # no secret configured: every call is refused
    ts = str(int(time.time()))
    response = client.post(reverse("surveys:inbound-sms"), raw, content_type="application/json",
                           headers={"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign("", ts, raw)})
    assert response.status_code == 503 and not InboundSms.objects.exists()


def test_same_gateway_message_twice_is_handled_once(db, inbound, client, settings) -> None:
    raw = json.dumps({"id": "dup-1", "from": "13912345678", "to": "10086", "text": "你好"}).encode()
    first, second = inbound("", "", body=raw), inbound("", "", body=raw)
    assert second.json()["duplicate"] and not first.json()["duplicate"]
    assert InboundSms.objects.count() == 1 and CustomerMessage.objects.filter(kind="help").count() == 1


def test_spam_reports_are_aggregated_by_reported_number(db, inbound) -> None:
    inbound("13912345678", "1065712345 恭喜您中奖", to="10086999")
    inbound("13912345678", "1065712345 恭喜您中奖", to="10086999")
    inbound("13800001111", "+86 10657 12345 发票代开", to="10086999")
    spam = SpamNumber.objects.get(number="1065712345")
    assert spam.report_count == 3 and spam.reporter_count == 2
    assert CustomerMessage.objects.filter(kind="spam_ack").count() == 3


def test_td_opts_out(db, inbound) -> None:
    assert inbound("13912345678", "退订").json()["outcome"] == "opt_out"
    assert SmsOptOut.objects.filter(msisdn="13912345678").exists()


def test_an_inbound_sms_with_a_timestamp_of_other_digits_is_refused_not_a_500(client, settings) -> None:
    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    for stamp in ("²", "١٧٠٠٠٠٠٠٠٠"):
        response = client.post(reverse("surveys:inbound-sms"), b"{}", content_type="application/json",
                               headers={"X-LoopDesk-Timestamp": stamp, "X-LoopDesk-Signature": sign(SECRET, stamp,
                                                                                                     b"{}")})
        assert response.status_code == 401, stamp


def test_web_link_rates_only_on_a_deliberate_post(closed, client) -> None:
    t, survey = closed
    token = CustomerMessage.objects.get(ticket_id=t.pk, kind="survey").text.split("/s/")[1].split("/")[0]
    url = reverse("surveys:survey", args=[token])
    survey.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    survey.save()
    page = client.get(url)
    assert page.status_code == 200 and 'name="score"' in page.content.decode()
    assert "您对本次服务满意吗" in page.content.decode()  # the customer's language by default
    survey.refresh_from_db()
    assert survey.status == "open"  # a link scanner's GET records nothing
    assert client.post(url, {"score": "9"}).status_code == 400
    for odd in ("²", "١", "99999999999999999999"):  # "²" was a 500 (isdigit, then int), "١" read as 1
        assert client.post(url, {"score": odd}).status_code == 400, odd
    assert client.post(url, {"score": "4", "comment": "不错"}).status_code == 200
    survey.refresh_from_db()
    assert (survey.score, survey.answered_via, survey.comment) == (4, "web", "不错")
    assert client.post(url, {"score": "1"}).status_code == 409  # one time only
    assert client.get(reverse("surveys:survey", args=["nope"])).status_code == 404


def test_window_service_survey_is_rated_by_reply(world: World, inbound) -> None:
    survey = sv.do_create_window_survey(acting_user=world.user("clerk"), msisdn="13912345678", channel="hall",
                                        contact_ref="Q-0001", now=T0)
    sms = CustomerMessage.objects.get(msisdn="13912345678", kind="window_survey")
    assert "新会渠道室" in sms.text and sms.sender == "10086700"
    assert sv.do_create_window_survey(acting_user=world.user("clerk"), msisdn="13912345678", channel="hall",
                                      contact_ref="Q-0001").pk == survey.pk
    # A fixed time: a survey created in the quiet hours goes out (and can be answered) only in the morning.
    assert inbound("13912345678", "2", received_at=T0 + dt.timedelta(hours=1)).json()["outcome"] == "rated"
    assert Survey.objects.get(pk=survey.pk).score == 2


def test_low_scores_by_web_link_and_window_survey_also_reach_the_supervisors(world: World, closed, client,
                                                                            inbound) -> None:
    from loopdesk.followup.models import StaffAlert

    t, survey = closed
    Survey.objects.filter(pk=survey.pk).update(expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    token = CustomerMessage.objects.get(ticket_id=t.pk, kind="survey").text.split("/s/")[1].split("/")[0]
    assert client.post(reverse("surveys:survey", args=[token]), {"score": "2"}).status_code == 200
    assert Escalation.objects.get(ticket=t).reason == "low_rating"
    window = sv.do_create_window_survey(acting_user=world.user("clerk"), msisdn="13912345678", channel="hall",
                                        contact_ref="Q-0002", now=LATER)
    assert inbound("13912345678", "1", received_at=LATER + dt.timedelta(hours=1)).json()["outcome"] == "rated"
    assert StaffAlert.objects.filter(user=world.users["supervisor"], kind="low_rating",
                                     occasion=f"survey:{window.pk}").exists()


def test_window_survey_input_errors_are_per_field(world: World) -> None:
    from loopdesk.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        sv.do_create_window_survey(acting_user=world.user("clerk"), msisdn="123", channel="web", contact_ref="")
    assert set(err.value.errors) == {"msisdn", "channel", "contact_ref"}


def test_a_low_window_rating_reaches_the_province_supervisors_when_the_city_has_none(world: World) -> None:
    """As a work order's escalation does (`supervisors_for`): a city without service supervisors of its own hands a
    low window rating to its province's (and HQ's); it reached nobody. A city's own supervisors get it, no other
    city's."""
    from django.contrib.auth.models import Group

    from loopdesk.followup.models import StaffAlert
    from loopdesk.org.choices import Role
    from loopdesk.org.models import User

    province_supervisor = User.objects.create_user(username="gd_sup", password="pw-gd", unit=world.units["gd"])
    province_supervisor.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR)[0])
    window = sv.do_create_window_survey(acting_user=world.user("zh_agent"), msisdn="13912345678",
                                        channel="hotline", contact_ref="ZH-1", now=T0)
    sv.do_rate_survey(survey=window, score=1, via="sms", now=T0 + dt.timedelta(hours=1))
    alerted = set(StaffAlert.objects.filter(kind="low_rating", occasion=f"survey:{window.pk}")
                  .values_list("user__username", flat=True))
    assert alerted == {"gd_sup"}
    jm = sv.do_create_window_survey(acting_user=world.user("clerk"), msisdn="13912345679", channel="hall",
                                    contact_ref="JM-1", now=T0)
    sv.do_rate_survey(survey=jm, score=2, via="sms", now=T0 + dt.timedelta(hours=1))
    assert set(StaffAlert.objects.filter(kind="low_rating", occasion=f"survey:{jm.pk}")
               .values_list("user__username", flat=True)) == {"supervisor"}

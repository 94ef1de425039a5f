"""An inbound SMS text over 1,000 characters (a long concatenated SMS) was a 400 from the webhook, which the gateway
retries for ever, and the model kept at most 1,000 characters. It is accepted now (200), kept whole, and answered
with the help text like any text we do not understand; a long forwarded spam to the spam port keeps its content."""

from __future__ import annotations

import json
import time

from django.urls import reverse

from loopdesk.conftest import World
from loopdesk.notify.gateways import sign
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys.models import InboundSms, SpamReport

SECRET = "inbound-test-secret"


def _post(client, payload: dict) -> object:
    raw = json.dumps(payload, ensure_ascii=False).encode()
    ts = str(int(time.time()))
    return client.post(reverse("surveys:inbound-sms"), raw, content_type="application/json",
                       headers={"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(SECRET, ts, raw)})


def test_a_text_over_1000_characters_is_accepted_kept_whole_and_answered_with_help(world: World, client,
                                                                                  settings) -> None:
    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    text = "我的宽带一直断线" * 200  # 1,600 characters
    response = _post(client, {"id": "gw-long", "from": "13912345678", "to": "10086700", "text": text})
    assert response.status_code == 200 and response.json() == {"outcome": "help", "duplicate": False}
    logged = InboundSms.objects.get(gateway_id="gw-long")
    assert logged.text == text and logged.outcome == "help"
    assert CustomerMessage.objects.filter(msisdn="13912345678", kind="help").count() == 1


def test_a_long_forwarded_spam_is_a_report_with_its_whole_content(world: World, client, settings) -> None:
    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    text = "13800001111: " + "恭喜您中奖" * 300
    response = _post(client, {"id": "gw-long-spam", "from": "13912345678", "to": settings.LOOPDESK_SMS_SPAM_PORT,
                              "text": text})
    assert response.status_code == 200 and response.json()["outcome"] == "spam"
    assert SpamReport.objects.get().content == text


def test_a_long_chinese_text_escaped_by_the_gateway_is_accepted_and_an_oversized_body_logged(
        world: World, client, settings) -> None:
    """A gateway that escapes non-ASCII (`\\u6211`, 6 bytes a character) sent 3,000 Chinese characters as 18 KB:
    over the old 16 KiB body limit, a 413 the gateway retried for ever."""
    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    text = "宽带断线请尽快处理" * 334  # 3,006 characters
    raw = json.dumps({"id": "gw-escaped", "from": "13912345678", "to": "10086700", "text": text}).encode()
    assert len(raw) > 16 * 1024
    ts = str(int(time.time()))
    headers = {"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(SECRET, ts, raw)}
    response = client.post(reverse("surveys:inbound-sms"), raw, content_type="application/json", headers=headers)
    assert response.status_code == 200 and response.json()["outcome"] == "help"
    assert InboundSms.objects.get(gateway_id="gw-escaped").text == text
    huge = json.dumps({"id": "gw-huge", "from": "13912345678", "to": "10086700", "text": "x" * 200_000}).encode()
    headers = {"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(SECRET, ts, huge)}
    response = client.post(reverse("surveys:inbound-sms"), huge, content_type="application/json", headers=headers)
    assert response.status_code == 200 and response.json() == {"outcome": "too_large", "duplicate": False}


def test_the_longest_sms_escaped_fits_and_a_body_larger_than_any_sms_is_logged_and_acknowledged_not_refused(
        world: World, client, settings) -> None:
    """A body over the limit was a 413, which the gateway retries for ever (any answer but 2xx), and the 64 KiB limit
    was below the longest concatenated SMS (255 parts of 67 Chinese characters, escaped \\uXXXX: ~100 KB). The
    longest SMS is read as any; a signed body larger than any SMS is kept (outcome too_large, text whole), answered
    200 once, not read and not answered by SMS; an unsigned one is still a 401."""
    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    longest = "宽" * (255 * 67)
    raw = json.dumps({"id": "gw-255", "from": "13912345678", "to": "10086700", "text": longest}).encode()
    assert len(raw) > 64 * 1024
    ts = str(int(time.time()))
    response = client.post(reverse("surveys:inbound-sms"), raw, content_type="application/json",
                           headers={"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(SECRET, ts, raw)})
    assert response.status_code == 200 and response.json()["outcome"] == "help"
    huge_text = "1" + "x" * 300_000  # a rating digit first: not read as one
    huge = json.dumps({"id": "gw-huge", "from": "13912345678", "to": "10086700", "text": huge_text}).encode()
    headers = {"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(SECRET, ts, huge)}
    for duplicate in (False, True):
        response = client.post(reverse("surveys:inbound-sms"), huge, content_type="application/json",
                               headers=headers)
        assert response.status_code == 200 and response.json() == {"outcome": "too_large", "duplicate": duplicate}
    logged = InboundSms.objects.get(gateway_id="gw-huge")
    assert logged.outcome == "too_large" and logged.text == huge_text and logged.survey is None
    assert CustomerMessage.objects.filter(msisdn="13912345678").count() == 1  # the help for gw-255 only
    unsigned = client.post(reverse("surveys:inbound-sms"), huge, content_type="application/json",
                           headers={"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": "sha256=00"})
    assert unsigned.status_code == 401

"""A signed inbound SMS body nested too deeply for the JSON decoder (100,000 opening brackets) raised a
RecursionError: a 500 with an HTML page. It is answered as any other unreadable body: a 400 naming `body`, in the
caller's language, and nothing is logged or answered."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from loopdesk.notify.gateways import sign
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys.models import InboundSms

SECRET = "inbound-test-secret"


@pytest.mark.parametrize(("language", "message"), [("en", "The request body is nested too deeply to be read."),
                                                   ("zh-hans", "请求正文嵌套层级过深，无法读取。")])
def test_a_deeply_nested_body_is_a_400_on_body_not_a_500(db, settings, language: str, message: str) -> None:
    from django.test import Client

    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    raw = b"[" * 100_000
    ts = str(int(time.time()))
    client = Client(raise_request_exception=False)
    response = client.post(reverse("surveys:inbound-sms"), raw, content_type="application/json",
                           headers={"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(SECRET, ts, raw),
                                    "Accept-Language": language})
    assert response.status_code == 400, response.content[:200]
    assert response.json()["errors"] == {"body": [message]}
    assert not InboundSms.objects.exists() and not CustomerMessage.objects.exists()

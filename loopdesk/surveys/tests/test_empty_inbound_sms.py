"""An empty or blank SMS from a customer (a mis-tap, an MMS the gateway forwards without its text) was a 400
"text: This field is required." from the webhook: the gateway takes a 4xx as a failed delivery and retries it
for ever, and nothing was logged. It is acknowledged now (200) like any other text we do not understand: logged
(`InboundSms`) and answered with the help text, once per gateway id. A body without a text stays a 400."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from loopdesk.conftest import World
from loopdesk.notify.gateways import sign
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys.models import InboundSms

SECRET = "inbound-test-secret"


def _post(client, payload: dict) -> object:
    raw = json.dumps(payload).encode()
    ts = str(int(time.time()))
    return client.post(reverse("surveys:inbound-sms"), raw, content_type="application/json",
                       headers={"X-LoopDesk-Timestamp": ts, "X-LoopDesk-Signature": sign(SECRET, ts, raw)})


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_an_empty_inbound_sms_is_acknowledged_logged_and_answered_once(world: World, client, settings,
                                                                        text: str) -> None:
    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    payload = {"id": "gw-empty", "from": "13912345678", "to": "10086700", "text": text}
    response = _post(client, payload)
    assert response.status_code == 200 and response.json() == {"outcome": "help", "duplicate": False}
    logged = InboundSms.objects.get(gateway_id="gw-empty")
    assert logged.text == "" and logged.sender == "13912345678" and logged.outcome == "help"
    assert CustomerMessage.objects.filter(msisdn="13912345678", kind="help").count() == 1
    again = _post(client, payload)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert CustomerMessage.objects.filter(msisdn="13912345678", kind="help").count() == 1


def test_a_body_without_a_text_is_still_refused(db, client, settings) -> None:
    settings.LOOPDESK_SMS_INBOUND_SECRET = SECRET
    response = _post(client, {"id": "gw-x", "from": "13912345678", "to": "10086700"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["text"]
    assert not InboundSms.objects.exists()

"""A newly registered trouble ticket's statusChangeReason (and its first statusChange) say how it was registered,
not the whole description again."""

from __future__ import annotations

import pytest
from django.utils import translation

from loopdesk.conftest import World
from loopdesk.tickets.choices import Channel
from loopdesk.tmf.tests.conftest import BASE, ticket_body

pytestmark = pytest.mark.django_db


def test_the_registration_reason_names_the_channel_not_the_description(world: World, crm, settings) -> None:
    body = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    # A text of the timeline, in the deployment's language whatever the request's (as the other reasons).
    with translation.override(settings.LANGUAGE_CODE):
        expected = f"经{Channel('hotline').label}受理"
    assert body["statusChangeReason"] == expected, body["statusChangeReason"]
    assert body["statusChange"][0] == {**body["statusChange"][0], "status": "acknowledged", "changeReason": expected}
    again = crm.get(f"{BASE}/troubleTicket/{body['id']}", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert again["statusChangeReason"] == expected and again["statusChange"] == body["statusChange"]
    settings.LANGUAGE_CODE = "en"
    english = crm.get(f"{BASE}/troubleTicket/{body['id']}").json()
    with translation.override("en"):
        assert english["statusChangeReason"] == f"Registered through {Channel('hotline').label}"


def test_the_registration_reason_sent_back_unchanged_is_no_change(world: World, crm) -> None:
    body = crm.post(f"{BASE}/troubleTicket", ticket_body(world), format="json").json()
    echoed = crm.patch(f"{BASE}/troubleTicket/{body['id']}", HTTP_ACCEPT_LANGUAGE="en", data={
        "status": body["status"], "statusChangeReason": body["statusChangeReason"],
        "note": [{"text": "补充说明"}]}, format="json")
    assert echoed.status_code == 200, echoed.content
    assert echoed.json()["status"] == "acknowledged"

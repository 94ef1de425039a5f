"""The desk cut the telephony's call id (`contact`, passed by the screen-pop) to 64 characters before it named
the contact a window survey rates: two long call ids with the same first 64 characters became one contact, and
the second customer's survey was refused as "already sent for this contact". An over-long call id is refused now
with the contact-reference error (in the user's language); nothing is stored or sent."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys.models import Survey

PREFIX = "call-" + "0" * 59  # 64 characters


def test_an_over_long_call_id_is_refused_not_cut(world: World, client_for: Any) -> None:
    client = client_for("clerk", language="zh-hans")
    first = client.post("/desk/window-survey/", {"caller": "13912340000", "contact": PREFIX + "1"},
                        headers={"HX-Request": "true"})
    assert first.status_code == 422 and "流水号" in first.content.decode()
    assert 'data-level="error"' in first.content.decode()
    assert not Survey.objects.exists() and not CustomerMessage.objects.exists()


def test_a_call_id_of_64_characters_is_kept_whole(world: World, client_for: Any) -> None:
    client = client_for("clerk")
    response = client.post("/desk/window-survey/", {"caller": "13912340000", "contact": PREFIX},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'data-level="success"' in response.content.decode()
    assert Survey.objects.get().occasion == f"window:hall:{PREFIX}"

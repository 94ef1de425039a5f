"""The surveys' admin says how a customer answered in the user's language, not as the stored code."""

from __future__ import annotations

from django.test import Client

from loopdesk.conftest import World
from loopdesk.surveys import services


def test_answered_via_is_shown_in_the_users_language(world: World) -> None:
    survey = services.do_create_window_survey(acting_user=world.user("agent"), msisdn="13900001111",
                                              channel="hall", contact_ref="c-1")
    services.do_rate_survey(survey=survey, score=5, via="sms")
    admin = world.users["admin"]
    admin.is_staff, admin.is_superuser, admin.language = True, True, "zh-hans"
    admin.save(update_fields=["is_staff", "is_superuser", "language"])
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/surveys/survey/").content.decode()
    assert '<td class="field-answered_via_label">短信</td>' in listing
    detail = client.get(f"/admin/surveys/survey/{survey.pk}/change/").content.decode()
    assert "短信" in detail and ">sms<" not in detail

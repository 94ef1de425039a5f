"""The surveys' admin showed "SMS goes out at" (the time the SMS was scheduled for) as if it had gone out, and the desk
said "Already sent" for a window survey whose SMS the gateway never took. Both now say what the outbox says:
delivered (when), waiting (until when), failed / given up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loopdesk.conftest import T0, World, staff_client
from loopdesk.followup.life import whole_life
from loopdesk.outbox import worker
from loopdesk.surveys.models import Survey
from loopdesk.surveys.services import do_create_window_survey


def _admin_client(world: World) -> Client:
    admin = world.users["admin"]
    admin.is_staff, admin.is_superuser, admin.language = True, True, "en"
    admin.save(update_fields=["is_staff", "is_superuser", "language"])
    client = Client()
    client.force_login(admin)
    return client


def _cell(listing: str, survey: Survey) -> str:
    row = listing[listing.index(f"/admin/surveys/survey/{survey.pk}/change/"):]
    cell = row[row.index('<td class="field-sms_delivery">') + len('<td class="field-sms_delivery">'):]
    return cell[:cell.index("</td>")]


def test_the_admin_shows_whether_the_survey_sms_was_delivered(world: World, settings: Any) -> None:
    settings.LOOPDESK_SMS_GATEWAY = "console"
    ticket = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=world.customer(),
                        category=world.categories["indoor"], start=T0, unit=world.units["netmaint"],
                        with_info_request=False)
    closed = Survey.objects.get(ticket=ticket)
    window = do_create_window_survey(acting_user=world.user("clerk"), msisdn="13900001111", channel="hall",
                                     contact_ref="c-1", now=T0 + dt.timedelta(days=1))
    client = _admin_client(world)
    listing = client.get("/admin/surveys/survey/").content.decode()
    assert _cell(listing, closed).startswith("Waiting to go out") and "Delivered" not in _cell(listing, window)
    worker.deliver_due()
    listing = client.get("/admin/surveys/survey/").content.decode()
    assert _cell(listing, closed).startswith("Delivered at ") and _cell(listing, window).startswith("Delivered at ")
    detail = client.get(f"/admin/surveys/survey/{window.pk}/change/").content.decode()
    assert "Delivered at " in detail and "SMS goes out at" not in detail


def test_a_failed_sms_is_shown_as_not_delivered_and_the_listing_reads_it_in_its_one_query(
        world: World, settings: Any) -> None:
    settings.LOOPDESK_SMS_GATEWAY = "carrier-pigeon"  # a gateway that fails: the row waits for a retry
    for n in range(3):
        do_create_window_survey(acting_user=world.user("clerk"), msisdn=f"1390000111{n}", channel="hall",
                                contact_ref=f"c-{n}", now=T0)
    worker.deliver_due()
    client = _admin_client(world)
    listing = client.get("/admin/surveys/survey/").content.decode()
    assert listing.count("Not delivered yet: failed, will retry") == 3
    with CaptureQueriesContext(connection) as three:
        client.get("/admin/surveys/survey/")
    for n in range(3, 8):
        do_create_window_survey(acting_user=world.user("clerk"), msisdn=f"1390000111{n}", channel="hall",
                                contact_ref=f"c-{n}", now=T0)
    with CaptureQueriesContext(connection) as eight:
        client.get("/admin/surveys/survey/")
    assert len(eight.captured_queries) == len(three.captured_queries)

def test_the_desk_does_not_say_already_sent_for_an_sms_the_gateway_did_not_take(
        world: World, settings: Any) -> None:
    settings.LOOPDESK_SMS_GATEWAY = "carrier-pigeon"
    do_create_window_survey(acting_user=world.users["clerk"], msisdn="13912340000", channel="hall",
                            contact_ref="call-1", now=T0)
    worker.deliver_due()
    clerk = staff_client(world, "clerk", language="en")
    page = clerk.post("/desk/window-survey/", {"caller": "13912340000", "contact": "call-1"},
                      headers={"HX-Request": "true"}).content.decode()
    assert "Already sent" not in page
    assert "its SMS has not reached the customer" in page

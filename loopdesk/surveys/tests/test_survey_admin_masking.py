"""Customers' numbers in the surveys' admin (surveys, inbound SMS, spam reports' reporters) were shown in full to
staff who may not reveal them (an auditor), while the customer and SMS admins mask them: masked now (138****5678), in
full only for staff who may reveal them (`tickets.reveal_customer`)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, Permission
from django.test import Client

from loopdesk.conftest import T0, World, staff_client
from loopdesk.surveys import services
from loopdesk.surveys.models import InboundSms, SpamReport

NUMBER = "13912345678"


def _client(world: World, key: str) -> Client:
    return staff_client(world, key, language="zh-hans")


def test_an_auditor_sees_the_numbers_masked_and_an_administrator_in_full(world: World) -> None:
    survey = services.do_create_window_survey(acting_user=world.user("agent"), msisdn=NUMBER, channel="hotline",
                                              contact_ref="call-1", now=T0)
    # A fixed time: a survey created in the quiet hours goes out (and can be answered) only in the morning.
    services.handle_inbound(gateway_id="gw-1", sender=NUMBER, recipient="10086700", text="5",
                            received_at=T0 + dt.timedelta(hours=1))
    inbound = InboundSms.objects.get(gateway_id="gw-1")
    services.handle_inbound(gateway_id="gw-2", sender=NUMBER, recipient="10086999", text="10659000123 中奖啦")
    report = SpamReport.objects.get()
    Group.objects.get(name="auditor").permissions.add(
        *Permission.objects.filter(codename__in=("view_survey", "view_inboundsms", "view_spamreport")))
    urls = ("/admin/surveys/survey/", f"/admin/surveys/survey/{survey.pk}/change/",
            "/admin/surveys/inboundsms/", f"/admin/surveys/inboundsms/{inbound.pk}/change/",
            "/admin/surveys/spamreport/", f"/admin/surveys/spamreport/{report.pk}/change/")
    auditor = _client(world, "auditor")
    for url in urls:
        page = auditor.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert NUMBER not in html, url
    assert "139****5678" in auditor.get(urls[1]).content.decode()
    assert "139****5678" in auditor.get(urls[3]).content.decode()
    assert "139****5678" in auditor.get(urls[5]).content.decode()
    admin = world.users["admin"]
    admin.is_superuser = True
    admin.save(update_fields=["is_superuser"])
    full = _client(world, "admin")
    assert NUMBER in full.get(urls[1]).content.decode() and NUMBER in full.get(urls[3]).content.decode()
    survey.refresh_from_db()
    for client in (auditor, full):  # the link's token (its hash) stays out either way
        assert survey.token_hash not in client.get(urls[1]).content.decode()

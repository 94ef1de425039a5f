"""Customers' numbers in the SMS admin (opt-outs, messages sent) are masked for staff who may not reveal them,
as in the customer admin; staff who may see them in full."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from loopdesk.conftest import World
from loopdesk.notify.models import CustomerMessage, SmsOptOut
from loopdesk.org.models import User

NUMBER = "13912345678"


def _client(user: User) -> Client:
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(user)
    return client


def test_an_auditor_sees_numbers_masked_and_a_revealing_user_in_full(world: World) -> None:
    now = timezone.now()
    opt_out = SmsOptOut.objects.create(msisdn=NUMBER, source="sms", created_at=now)
    message = CustomerMessage.objects.create(msisdn=NUMBER, kind="survey", dedupe_key="k1", text="请评价",
                                             sender="10086", scheduled_for=now, day=dt.date(2026, 12, 7),
                                             created_at=now)
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_smsoptout", "view_customermessage"]))
    auditor = _client(viewer)
    pages = [auditor.get(url) for url in ("/admin/notify/smsoptout/", f"/admin/notify/smsoptout/{opt_out.pk}/change/",
                                          "/admin/notify/customermessage/",
                                          f"/admin/notify/customermessage/{message.pk}/change/")]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert NUMBER not in html and "139****5678" in html
    found = auditor.get(f"/admin/notify/smsoptout/?q={NUMBER}").content.decode()
    assert "139****5678" in found  # the exact number finds the row
    full = _client(User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    assert NUMBER in full.get("/admin/notify/smsoptout/").content.decode()
    assert NUMBER in full.get(f"/admin/notify/customermessage/{message.pk}/change/").content.decode()

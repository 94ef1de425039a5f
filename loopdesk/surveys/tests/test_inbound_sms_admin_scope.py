"""The inbound SMS admin listed every region's SMS: a city's auditor read the survey replies, opt-outs and spam
reports of customers of every other city. It is scoped like the surveys and customers admins now: an SMS answering a
survey as the survey (its work order, or a window survey's unit region), any other SMS by its sender's customer
region; HQ and administrators see all."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, Permission
from django.test import Client

from loopdesk.conftest import T0, World, staff_client
from loopdesk.surveys import services
from loopdesk.surveys.models import InboundSms


def _client(world: World, key: str) -> Client:
    return staff_client(world, key, language="en")


def test_a_city_auditor_reads_only_the_inbound_sms_of_the_city(world: World) -> None:
    jm_customer = world.customer(msisdn="13900000001")
    zh_customer = world.customer(msisdn="13900000002", region="ZH", home_branch=None)
    services.do_create_window_survey(acting_user=world.user("agent"), msisdn="13900000003", channel="hotline",
                                     contact_ref="JM-1", now=T0)
    services.do_create_window_survey(acting_user=world.user("zh_agent"), msisdn="13900000004", channel="hotline",
                                     contact_ref="ZH-1", now=T0)
    # A fixed time: a survey created in the quiet hours goes out (and can be answered) only in the morning.
    reply_at = T0 + dt.timedelta(hours=1)
    services.handle_inbound(gateway_id="jm-rate", sender="13900000003", recipient="10086700", text="5",
                            received_at=reply_at)
    services.handle_inbound(gateway_id="zh-rate", sender="13900000004", recipient="10086700", text="1 差劲透顶",
                            received_at=reply_at)
    services.handle_inbound(gateway_id="jm-td", sender=jm_customer.msisdn, recipient="10086700", text="TD")
    services.handle_inbound(gateway_id="zh-td", sender=zh_customer.msisdn, recipient="10086700", text="TD")
    services.handle_inbound(gateway_id="zh-help", sender=zh_customer.msisdn, recipient="10086700", text="你好吗")
    assert InboundSms.objects.count() == 5
    Group.objects.get(name="auditor").permissions.add(*Permission.objects.filter(codename="view_inboundsms"))
    auditor = _client(world, "auditor")
    page = auditor.get("/admin/surveys/inboundsms/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "jm-rate" in html and "jm-td" in html
    assert "zh-rate" not in html and "zh-td" not in html and "zh-help" not in html
    for gateway_id in ("zh-rate", "zh-help"):
        pk = InboundSms.objects.get(gateway_id=gateway_id).pk
        assert auditor.get(f"/admin/surveys/inboundsms/{pk}/change/").status_code in (302, 404)
    admin = world.users["admin"]
    admin.is_superuser = True
    admin.save(update_fields=["is_superuser"])
    html = _client(world, "admin").get("/admin/surveys/inboundsms/").content.decode()
    assert all(g in html for g in ("jm-rate", "zh-rate", "jm-td", "zh-td", "zh-help"))

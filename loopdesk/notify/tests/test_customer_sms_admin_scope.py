"""The customer SMS admin scoped the messages of work orders to the ones the user may see, but listed every region's
messages of no work order: a city's auditor read the window-survey SMS and the thanks for a rating of every other
city (the rated hall, the score). Those are scoped by their region now, as the outbox admin scopes the same rows."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.test import Client

from loopdesk.conftest import World, staff_client
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys import services


def _client(world: World, key: str) -> Client:
    return staff_client(world, key, language="en")


def test_a_city_auditor_reads_only_the_citys_sms_of_no_work_order(world: World) -> None:
    jm = services.do_create_window_survey(acting_user=world.user("agent"), msisdn="13900000003", channel="hotline",
                                          contact_ref="JM-1")
    zh = services.do_create_window_survey(acting_user=world.user("zh_agent"), msisdn="13900000004",
                                          channel="hotline", contact_ref="ZH-1")
    services.do_rate_survey(survey=zh, score=5, via="sms")
    zh_ids = list(CustomerMessage.objects.filter(msisdn="13900000004").values_list("pk", flat=True))
    jm_id = CustomerMessage.objects.get(msisdn=jm.msisdn).pk
    assert len(zh_ids) == 2
    Group.objects.get(name="auditor").permissions.add(*Permission.objects.filter(codename="view_customermessage"))
    auditor = _client(world, "auditor")
    page = auditor.get("/admin/notify/customermessage/")
    assert page.status_code == 200
    shown = {m.pk for m in page.context["cl"].result_list}
    assert shown == {jm_id}
    for pk in zh_ids:
        assert auditor.get(f"/admin/notify/customermessage/{pk}/change/").status_code in (302, 404)
    admin = world.users["admin"]
    admin.is_superuser = True
    admin.save(update_fields=["is_superuser"])
    everything = _client(world, "admin").get("/admin/notify/customermessage/").context["cl"].result_list
    assert {m.pk for m in everything} == {jm_id, *zh_ids}

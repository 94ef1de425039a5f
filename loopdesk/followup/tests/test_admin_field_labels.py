"""The Chinese admin names every field of the follow-up, surveys and notify models in Chinese (a field without a
translated verbose_name showed its English attribute name: ticket, assignee, resolved by, spam number, inbound)."""

from __future__ import annotations

import re

from django.apps import apps
from django.utils import timezone, translation

from loopdesk.conftest import World, staff_client
from loopdesk.followup.models import CallbackTask, Escalation
from loopdesk.notify.models import ProgressSchedule
from loopdesk.surveys.models import InboundSms, SpamNumber, SpamReport


def _headers(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page, re.S)]


def test_followup_admin_lists_and_forms_name_the_fields_in_chinese(world: World) -> None:
    ticket = world.replied_ticket()
    now = timezone.now()
    admin = world.users["admin"]
    escalation = Escalation.objects.create(ticket=ticket, reason="manual", occasion="t-1", created_at=now,
                                           resolved_at=now, resolved_by=admin)
    assert CallbackTask.objects.filter(ticket=ticket).exists()  # owed after the reply
    client = staff_client(world, "admin", language="zh-hans", superuser=True)
    escalations = _headers(client.get("/admin/followup/escalation/").content.decode())
    assert "工单" in escalations and "处理人" in escalations, escalations
    assert not {"ticket", "Ticket", "resolved by", "Resolved by"} & set(escalations)
    callbacks = _headers(client.get("/admin/followup/callbacktask/").content.decode())
    assert "工单" in callbacks and "回访人" in callbacks, callbacks
    detail = client.get(f"/admin/followup/escalation/{escalation.pk}/change/").content.decode()
    assert "处理人" in detail and "Resolved by" not in detail and ">Ticket" not in detail


def test_spam_report_admin_names_its_fields_in_chinese(world: World) -> None:
    now = timezone.now()
    number = SpamNumber.objects.create(number="10690001", report_count=1, reporter_count=1, first_reported_at=now,
                                       last_reported_at=now)
    inbound = InboundSms.objects.create(gateway_id="g-1", sender="13900001111", recipient="10086", text="举报",
                                        received_at=now, outcome="spam")
    report = SpamReport.objects.create(spam_number=number, reporter="13900001111", content="广告", inbound=inbound,
                                       created_at=now)
    client = staff_client(world, "admin", language="zh-hans", superuser=True)
    listing = _headers(client.get("/admin/surveys/spamreport/").content.decode())
    assert "被举报的垃圾短信号码" in listing and "Spam number" not in listing, listing
    detail = client.get(f"/admin/surveys/spamreport/{report.pk}/change/").content.decode()
    assert "上行短信" in detail and "Inbound:" not in detail and "Spam number:" not in detail


def test_every_field_of_the_three_apps_has_a_chinese_name() -> None:
    with translation.override("zh-hans"):
        assert str(ProgressSchedule._meta.get_field("ticket").verbose_name) == "工单"
        english = [f"{model.__name__}.{field.name}: {field.verbose_name}"
                   for app in ("followup", "surveys", "notify")
                   for model in apps.get_app_config(app).get_models()
                   for field in model._meta.concrete_fields
                   if field.name != "id" and str(field.verbose_name).isascii()]
    assert english == []

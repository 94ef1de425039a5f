"""The callback tasks in the admin showed the verdict as its stored code ('satisfied', 'dissatisfied'), in the
Chinese admin too; the verdict is named in the reader's language now (满意 / Satisfied)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group

from loopdesk.conftest import T0, World, staff_client
from loopdesk.core.reference import _permissions_for_role
from loopdesk.followup.models import CallbackTask
from loopdesk.org.choices import Role
from loopdesk.tickets import services


def test_the_callback_task_list_and_page_name_the_verdict(world: World) -> None:
    Group.objects.get_or_create(name=Role.AUDITOR)[0].permissions.add(*_permissions_for_role(Role.AUDITOR))
    ticket = world.replied_ticket(answered=True)
    services.do_callback(acting_user=world.user("agent"), ticket=ticket, verdict="satisfied",
                         now=T0 + dt.timedelta(hours=4))
    task = CallbackTask.objects.get(ticket=ticket)
    assert task.verdict == "satisfied"
    for language, label in (("zh-hans", "满意"), ("en", "Satisfied")):
        client = staff_client(world, "auditor", language=language)
        for url in ("/admin/followup/callbacktask/", f"/admin/followup/callbacktask/{task.pk}/change/"):
            page = client.get(url)
            text = page.content.decode()
            assert page.status_code == 200, url
            assert label in text, (language, url)
            assert "satisfied<" not in text and "satisfied\n" not in text, (language, url)

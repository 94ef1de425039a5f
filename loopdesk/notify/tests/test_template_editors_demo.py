"""Only administrators could change the SMS templates in the demo: its supervisors are all Jiangmen's (a city's, who
only read the templates), and the supervisor role had no admin permission on the templates, so even a province's
supervisor could not open them in the admin. The role has add/change/view on the templates now (the scope check
still makes them read-only for a city), and the demo has the province company's supervisor, `supervisor_gd`, listed
with the demo logins, who edits them on the workbench and in the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from loopdesk.conftest import post_admin_change
from loopdesk.core.reference import seed_reference
from loopdesk.notify.models import MessageTemplate
from loopdesk.notify.services import may_edit_templates
from loopdesk.org.models import User
from loopdesk.tickets.generator import DEMO_PASSWORD, Reference, demo_logins, ensure_staff


@pytest.fixture
def demo_staff(db: None) -> None:
    seed_reference()
    ensure_staff(Reference.load(), 1)


def _client(username: str) -> Client:
    user = User.objects.get(username=username)
    assert user.check_password(DEMO_PASSWORD)
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def test_the_demo_lists_a_province_supervisor_who_may_edit_the_templates(demo_staff: None) -> None:
    logins = {username: (roles, unit) for username, roles, unit in demo_logins()}
    assert logins["supervisor_gd"] == ("supervisor", "广东公司")
    user = User.objects.select_related("unit").get(username="supervisor_gd")
    assert user.is_staff and not user.is_superuser and may_edit_templates(user)
    assert not may_edit_templates(User.objects.select_related("unit").get(username="supervisor1"))


def test_the_province_supervisor_edits_a_template_in_the_admin_and_on_the_workbench(demo_staff: None) -> None:
    template = MessageTemplate.objects.get(kind="ack")
    client = _client("supervisor_gd")
    url = f"/admin/notify/messagetemplate/{template.pk}/change/"
    response = post_admin_change(client, url, {"text": "工单{number}已受理，我们会尽快处理。", "is_active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert MessageTemplate.objects.get(pk=template.pk).text == "工单{number}已受理，我们会尽快处理。"
    assert 'id="save-template"' in client.get("/sms-templates/ack/").content.decode()


def test_a_city_supervisor_of_the_demo_reads_the_templates_in_the_admin(demo_staff: None) -> None:
    template = MessageTemplate.objects.get(kind="ack")
    client = _client("supervisor1")
    url = f"/admin/notify/messagetemplate/{template.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="text"' not in page.content.decode()
    assert client.post(url, {"text": "工单{number}", "is_active": "on"}).status_code == 403
    assert MessageTemplate.objects.get(pk=template.pk).text == template.text

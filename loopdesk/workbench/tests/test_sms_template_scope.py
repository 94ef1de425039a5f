"""The customer SMS templates are one set for every region, yet a city's supervisor could change or switch off an SMS
of the whole province from the workbench's /sms-templates/ page (and in the admin, once given the model permissions).
Changing them is now for users whose scope covers every region (administrators, HQ's and a province's staff while no
unit is in another province): a city's supervisor reads and previews them and gets a 403 in their language on a
save, with nothing changed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import World, post_admin_change, staff_client
from loopdesk.notify.models import MessageTemplate
from loopdesk.notify.services import may_edit_templates
from loopdesk.org.choices import Role, UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit, User


def province_supervisor(world: World, key: str = "gd_supervisor") -> str:
    """A service supervisor of the province's company (the world's `supervisor` is Jiangmen's, a city's)."""
    if key not in world.users:
        user = User.objects.create_user(username=key, password="pw-" + key, unit=world.units["gd"], display_name=key)
        user.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR)[0])
        world.users[key] = user
    return key


def _state(kind: str = "ack") -> tuple[str, bool, Any]:
    t = MessageTemplate.objects.get(kind=kind)
    return t.text, t.is_active, t.updated_at


def test_a_city_supervisor_reads_and_previews_the_templates_but_may_not_change_or_switch_one_off(
        world: World, client_for: Any) -> None:
    client = client_for("supervisor", language="zh-hans")
    before = _state()
    listing = client.get("/sms-templates/")
    assert listing.status_code == 200 and 'id="templates-read-only"' in listing.content.decode()
    page = client.get("/sms-templates/ack/")
    assert page.status_code == 200
    assert 'id="save-template"' not in page.content.decode() and 'id="template-read-only"' in page.content.decode()
    preview = client.post("/sms-templates/ack/preview/", {"text": "工单{number}已受理"})
    assert preview.status_code == 200 and "JM-20261102-000123" in preview.content.decode()
    seen = page.context["form"].initial["seen"]
    response = client.post("/sms-templates/ack/", {"text": "工单{number}已受理", "seen": seen})  # switched off
    assert response.status_code == 403
    assert "只有省公司或集团的服务管理人员" in response.content.decode()
    assert _state() == before
    assert not AuditLog.objects.filter(action="notify.template_update").exists()


def test_a_province_supervisor_changes_and_switches_off_a_template_for_every_city(
        world: World, client_for: Any) -> None:
    key = province_supervisor(world)
    client = client_for(key)
    page = client.get("/sms-templates/ack/")
    assert page.status_code == 200 and 'id="save-template"' in page.content.decode()
    seen = page.context["form"].initial["seen"]
    response = client.post("/sms-templates/ack/", {"text": "工单{number}已受理", "seen": seen})
    assert response.status_code == 302
    template = MessageTemplate.objects.get(kind="ack")
    assert (template.text, template.is_active, template.updated_by_id) == ("工单{number}已受理", False,
                                                                            world.users[key].pk)


def test_a_province_is_not_every_region_when_another_province_has_units(world: World) -> None:
    key = province_supervisor(world)
    assert may_edit_templates(world.users[key]) and may_edit_templates(world.users["admin"])
    assert not may_edit_templates(world.users["supervisor"])
    OrgUnit.objects.create(code="FJ", name="福建公司", name_en="fj", parent=world.units["hq"], level=UnitLevel.PROVINCE,
                           function=UnitFunction.MANAGEMENT, province="FJ", region="FJ")
    assert not may_edit_templates(world.users[key])
    assert may_edit_templates(world.users["admin"])


def _grant_template_permissions(user: User) -> None:
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="notify", codename__in=["view_messagetemplate", "change_messagetemplate",
                                                        "delete_messagetemplate", "add_messagetemplate"]))


def test_in_the_admin_a_city_supervisor_with_the_model_permissions_only_views_the_templates(world: World) -> None:
    _grant_template_permissions(world.users["supervisor"])
    template = MessageTemplate.objects.get(kind="ack")
    before = _state()
    client = staff_client(world, "supervisor", language="en")
    url = f"/admin/notify/messagetemplate/{template.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="text"' not in page.content.decode()  # read-only
    response = client.post(url, {"kind": "ack", "text": "工单{number}已受理"})  # is_active left out: switched off
    assert response.status_code == 403
    assert _state() == before
    assert client.post(f"/admin/notify/messagetemplate/{template.pk}/delete/", {"post": "yes"}).status_code == 403
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_in_the_admin_a_province_supervisor_with_the_model_permissions_changes_a_template(world: World) -> None:
    key = province_supervisor(world)
    _grant_template_permissions(world.users[key])
    template = MessageTemplate.objects.get(kind="ack")
    client = staff_client(world, key, language="en")
    url = f"/admin/notify/messagetemplate/{template.pk}/change/"
    response = post_admin_change(client, url, {"kind": "ack", "text": "工单{number}已受理"})
    assert response.status_code == 302, response.content.decode()
    template.refresh_from_db()
    assert (template.text, template.is_active) == ("工单{number}已受理", False)

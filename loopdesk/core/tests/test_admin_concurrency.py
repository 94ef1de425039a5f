"""Two staff editing one object in the admin: the later save is refused with a clear error and changes nothing;
every edit in the admin is audited; workflow rows are read only there."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory

from loopdesk.audit.admin import AuditedAdminMixin
from loopdesk.audit.models import AuditLog
from loopdesk.conftest import World, build_world
from loopdesk.core.adminedit import STATE_FIELD, ConcurrentEditMixin
from loopdesk.followup.models import FollowupPolicy
from loopdesk.org.choices import Role
from loopdesk.org.models import User
from loopdesk.routing.admin import RoutingRuleAdmin
from loopdesk.routing.models import RoutingRule
from loopdesk.sla.models import BusinessCalendar
from loopdesk.tmf.models import ApiToken


def _root_client(language: str = "zh-hans", username: str = "root") -> Client:
    user = User.objects.filter(username=username).first() or User.objects.create_superuser(
        username, f"{username}@example.com", "pw-for-tests-only")
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def _opened(client: Client, url: str) -> dict[str, Any]:
    """The change form's fields as the page shows them (what a browser would post back unchanged)."""
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or form.fields[name].disabled:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        else:
            data[name] = str(value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, field in formset.management_form.fields.items():
            data[f"{formset.prefix}-{name}"] = str(formset.management_form[name].value() or field.initial or 0)
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value not in (None, False):
                    data[form.add_prefix(name)] = "on" if value is True else str(value)
    assert data[STATE_FIELD]
    return data


def _error_of(response: Any) -> str:
    return " ".join(response.context["adminform"].form.non_field_errors())


def test_the_later_of_two_edits_is_refused_and_changes_nothing(world: World) -> None:
    RoutingRule.objects.filter(position=20).update(region="JM")  # its target's city (the admin asks for it)
    rule = RoutingRule.objects.get(position=20)
    url = f"/admin/routing/routingrule/{rule.pk}/change/"
    first, second = _root_client(username="root1"), _root_client(username="root2")
    first_form, second_form = _opened(first, url), _opened(second, url)
    assert first.post(url, {**first_form, "position": "25"}).status_code == 302
    refused = second.post(url, {**second_form, "name": "基础通信→网维（改）"})
    assert refused.status_code == 200
    assert "其他人" in _error_of(refused) and "重新加载" in _error_of(refused)
    assert "基础通信→网维（改）" in refused.content.decode()  # what the second one typed is still on the page
    rule.refresh_from_db()
    assert (rule.position, rule.name) == (25, "基础通信→网维")  # the first edit stands, the second is not applied
    assert AuditLog.objects.filter(action="admin.change", object_id=str(rule.pk)).count() == 1
    # Reloaded, the second one's edit goes through.
    assert second.post(url, {**_opened(second, url), "name": "基础通信→网维（改）"}).status_code == 302
    rule.refresh_from_db()
    assert (rule.position, rule.name) == (25, "基础通信→网维（改）")


def test_the_error_speaks_the_users_language_and_a_form_without_the_fingerprint_is_refused(world: World) -> None:
    rule = RoutingRule.objects.get(position=20)
    url = f"/admin/routing/routingrule/{rule.pk}/change/"
    client = _root_client("en")
    form = _opened(client, url)
    del form[STATE_FIELD]
    refused = client.post(url, {**form, "position": "26"})
    assert refused.status_code == 200 and "Someone else saved this routing rule" in _error_of(refused)
    rule.refresh_from_db()
    assert rule.position == 20


def test_an_inline_row_added_meanwhile_counts_as_a_change(world: World) -> None:
    calendar = BusinessCalendar.objects.get(code="workdays-full")
    url = f"/admin/sla/businesscalendar/{calendar.pk}/change/"
    first, second = _root_client(username="root1"), _root_client(username="root2")
    first_form, second_form = _opened(first, url), _opened(second, url)
    added = {**first_form, "days-0-date": "2026-12-26", "days-0-is_workday": "on", "days-0-note": "调休上班"}
    assert first.post(url, added).status_code == 302
    assert calendar.days.count() == 1
    refused = second.post(url, {**second_form, "work_start": "08:30"})
    assert refused.status_code == 200 and _error_of(refused)
    calendar.refresh_from_db()
    assert calendar.work_start != dt.time(8, 30) and calendar.days.count() == 1


def test_roles_changed_meanwhile_count_but_a_login_does_not(world: World) -> None:
    user = world.users["agent"]
    url = f"/admin/org/user/{user.pk}/change/"
    first, second = _root_client(username="root1"), _root_client(username="root2")
    first_form = _opened(first, url)
    Client().force_login(user)  # the agent logs in: last login is not the admin's to write, nor a conflict
    assert first.post(url, {**first_form, "display_name": "话务员甲"}).status_code == 302
    second_form = _opened(second, url)
    dispatcher = Group.objects.get_or_create(name=Role.DISPATCHER)[0]
    first_form = _opened(first, url)
    assert first.post(url, {**first_form, "groups": [*first_form["groups"], str(dispatcher.pk)]}).status_code == 302
    refused = second.post(url, {**second_form, "display_name": "话务员乙"})
    assert refused.status_code == 200 and _error_of(refused)
    user.refresh_from_db()
    assert user.display_name == "话务员甲" and user.groups.filter(pk=dispatcher.pk).exists()
    changes = [r.data for r in AuditLog.objects.filter(action="admin.change", object_type="org.user",
                                                       object_id=str(user.pk)).order_by("pk")]
    assert changes == [{"fields": ["display_name"]}, {"fields": ["groups"]}]


def test_every_admin_that_edits_is_audited_and_safe_against_concurrent_edits(world: World) -> None:
    request = RequestFactory().get("/")
    request.user = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    editable = []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_change_permission(request):
            continue
        obj = model._default_manager.first()
        if obj is None:
            continue
        form = model_admin.get_form(request, obj, change=True)
        fields = [name for name, field in form.base_fields.items() if name != STATE_FIELD and not field.disabled]
        if fields or model_admin.get_inline_instances(request, obj):
            editable.append(model.__name__)
            assert isinstance(model_admin, ConcurrentEditMixin), model.__name__
            assert isinstance(model_admin, AuditedAdminMixin), model.__name__
    assert {"OrgUnit", "User", "Group", "Category", "RoutingRule", "SlaPolicy", "BusinessCalendar"} <= set(editable)


def test_follow_up_rows_are_read_only_in_the_admin(world: World) -> None:
    client = _root_client()
    for name in ("callbacktask", "escalation", "staffalert"):
        assert client.get(f"/admin/followup/{name}/add/").status_code == 403


def test_policy_template_token_and_password_changes_are_audited(world: World) -> None:
    client = _root_client()
    policy = FollowupPolicy.objects.first() or FollowupPolicy.objects.create()
    url = f"/admin/followup/followuppolicy/{policy.pk}/change/"
    assert client.post(url, {**_opened(client, url), "daily_cap": "3"}).status_code == 302
    assert AuditLog.objects.get(object_type="followup.followuppolicy").data == {"fields": ["daily_cap"]}
    token = ApiToken(name="CRM", system="crm", user=world.users["dispatcher"])
    token.set_new_key()
    token.save()
    response = client.post("/admin/tmf/apitoken/", {"action": "regenerate", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="admin.token_reissued", object_id=str(token.pk)).count() == 1
    agent = world.users["agent"]
    response = client.post(f"/admin/org/user/{agent.pk}/password/",
                           {"password1": "A-new-long-pass-2026", "password2": "A-new-long-pass-2026"})
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="admin.password", object_id=str(agent.pk)).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_saves_at_the_same_moment_one_wins_the_other_is_refused(monkeypatch) -> None:
    """Real concurrent requests (PostgreSQL): both opened the form before either saved; the row lock makes the
    second check wait for the first save, so it sees the change and is refused (without the lock both passed the
    check and the later save silently overwrote the earlier one). The save is slowed to widen the window."""
    assert connection.vendor == "postgresql"
    build_world()
    RoutingRule.objects.filter(position=20).update(region="JM")
    rule = RoutingRule.objects.get(position=20)
    url = f"/admin/routing/routingrule/{rule.pk}/change/"
    clients = [_root_client(username=f"root{i}") for i in range(2)]
    forms = [_opened(client, url) for client in clients]
    original_save = RoutingRuleAdmin.save_model

    def slow_save(self: Any, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.5)
        original_save(self, *args, **kwargs)

    monkeypatch.setattr(RoutingRuleAdmin, "save_model", slow_save)
    statuses: list[int] = [0, 0]
    barrier = threading.Barrier(2)

    def save(i: int) -> None:
        try:
            barrier.wait()
            statuses[i] = clients[i].post(url, {**forms[i], "position": str(30 + i)}).status_code
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 302], statuses
    rule.refresh_from_db()
    assert rule.position == 30 + statuses.index(302)
    assert AuditLog.objects.filter(action="admin.change", object_id=str(rule.pk)).count() == 1


def test_the_fingerprint_is_hidden_on_the_form(world: World) -> None:
    rule = RoutingRule.objects.get(position=20)
    page = _root_client().get(f"/admin/routing/routingrule/{rule.pk}/change/").content.decode()
    assert re.search(r'<input type="hidden" name="edit_state" value="[0-9a-f]{64}"', page)


@pytest.mark.parametrize(("language", "label"), [("zh-hans", "编辑状态"), ("en", "Edit state")])
def test_the_fingerprints_label_is_in_the_users_language(world: World, language: str, label: str) -> None:
    """The hidden field's label, read by a screen reader, was "Edit state:" in the Chinese admin too."""
    rule = RoutingRule.objects.get(position=20)
    page = _root_client(language).get(f"/admin/routing/routingrule/{rule.pk}/change/").content.decode()
    [shown] = re.findall(r'<label for="id_edit_state">([^<]*)</label>', page)
    assert shown.rstrip(":：") == label, shown


def test_a_view_only_user_gets_no_fingerprint_field(world: World) -> None:
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_routingrule"))
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(viewer)
    page = client.get(f"/admin/routing/routingrule/{RoutingRule.objects.first().pk}/change/")  # type: ignore[union-attr]
    assert page.status_code == 200
    assert "edit_state" not in page.content.decode() and "Edit state" not in page.content.decode()

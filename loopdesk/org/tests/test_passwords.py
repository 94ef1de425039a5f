"""Passwords set in the admin or by their owner: long enough, not common, not all digits, not like the user name,
and mixing three kinds of characters; refused with a field error in the user's language."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from loopdesk.conftest import World
from loopdesk.org.models import User


@pytest.mark.parametrize(("password", "ok"), [
    ("kfjdhgqwe", False),       # one kind
    ("kfjdhgqwe7", False),      # two kinds
    ("kfjdhGqwe7", True),       # three
    ("kf.dh-qwe7", True),       # lower, digits, others
    ("Kf7!", False),            # too short
    ("38274619305", False),     # digits only
])
def test_rules(password: str, ok: bool) -> None:
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_an_administrator_setting_a_simple_password_gets_a_field_error_in_chinese(world: World) -> None:
    agent = world.users["agent"]
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    url = f"/admin/org/user/{agent.pk}/password/"
    refused = client.post(url, {"password1": "kfjdhgqwe7", "password2": "kfjdhgqwe7"})
    assert refused.status_code == 200
    assert "密码须至少包含以下四类中的 3 类" in refused.content.decode()
    agent.refresh_from_db()
    assert agent.check_password("pw-agent")  # unchanged
    assert client.post(url, {"password1": "kfjdhGqwe7", "password2": "kfjdhGqwe7"}).status_code == 302
    agent.refresh_from_db()
    assert agent.check_password("kfjdhGqwe7")


def test_a_staff_member_changing_their_own_password_meets_the_same_rules(world: World) -> None:
    client = Client(headers={"accept-language": "en"})
    client.force_login(world.users["agent"])
    page = client.post("/accounts/password_change/", {
        "old_password": "pw-agent", "new_password1": "agent12345", "new_password2": "agent12345"})
    assert page.status_code == 200 and "at least 3 of" in page.content.decode()
    assert User.objects.get(pk=world.users["agent"].pk).check_password("pw-agent")

"""The admin named permissions in English for a Chinese user in two places: the staff member's page listed every
permission ("Can add access log", "Can view work order", ...) as Django stored them, and the role page, which names
the model permissions in the user's language, showed the permissions of our own ("Can reveal customer phone numbers
and names", "Can see every ticket of the company") in English. Both now come from the catalogue."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group

from loopdesk.conftest import World, staff_client
from loopdesk.org.choices import Role


def _options(html: str) -> list[str]:
    return re.findall(r"<option[^>]*>([^<]*)</option>", html)


def test_the_staff_members_permissions_are_named_in_chinese(world: World) -> None:
    client = staff_client(world, "admin", language="zh-hans", superuser=True)
    page = client.get(f"/admin/org/user/{world.users['agent'].pk}/change/").content.decode()
    options = [o for o in _options(page) if " | " in o]
    assert "工单 | 工单 | 可查看客户完整手机号码和姓名" in options
    assert not [o for o in options if "Can " in o]


def test_the_role_page_names_the_permissions_of_our_own_in_chinese_and_english(world: World) -> None:
    group = Group.objects.get_or_create(name=Role.SUPERVISOR)[0]
    chinese = staff_client(world, "admin", language="zh-hans", superuser=True)
    options = _options(chinese.get(f"/admin/auth/group/{group.pk}/change/").content.decode())
    assert "工单 | 工单 | 可查看客户完整手机号码和姓名" in options
    assert not [o for o in options if "Can reveal" in o or "Can see every ticket" in o]
    english = staff_client(world, "admin", language="en", superuser=True)
    options = _options(english.get(f"/admin/auth/group/{group.pk}/change/").content.decode())
    assert any(o.endswith("| Can reveal customer phone numbers and names") for o in options)

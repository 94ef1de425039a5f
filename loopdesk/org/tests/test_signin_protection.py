"""Sign-in protection: too many failed sign-ins for one user name from one address lock that pair for a while,
with a page in the user's language; other addresses and other users go on; a good sign-in clears the count;
an administrator unlocks (audited); every sign-in is logged."""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt, AccessLog
from django.test import Client, override_settings

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import World
from loopdesk.org.models import User

GOOD = "pw-agent"  # loopdesk.conftest gives every staff member "pw-" + their key


def _sign_in(username: str, password: str, address: str = "10.1.1.1", language: str = "zh-hans", **extra: str):
    client = Client(headers={"accept-language": language})
    response = client.post("/accounts/login/", {"username": username, "password": password},
                           REMOTE_ADDR=address, **extra)
    return client, response


def _fail(times: int, username: str = "agent", address: str = "10.1.1.1", **extra: str) -> None:
    for attempt in range(1, times + 1):
        status = _sign_in(username, "wrong", address, **extra)[1].status_code
        # The form again with its error; the fifth failure already answers with the lock page.
        assert status == (429 if attempt >= 5 else 200), (attempt, status)


def test_five_failures_lock_the_name_from_that_address_even_for_the_right_password(world: World) -> None:
    _fail(4)
    response = _sign_in("agent", GOOD)[1]
    assert response.status_code == 302  # four were not enough, and the good one clears them
    assert not AccessAttempt.objects.filter(username="agent").exists()
    _fail(5)
    _client, locked = _sign_in("agent", GOOD)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "登录已锁定" in page and "连续 5 次登录失败" in page and "15 分钟" in page and "“agent”" in page
    assert "_auth_user_id" not in _client.session  # not signed in
    # Another computer, and another user from the same computer, are not locked.
    assert _sign_in("agent", GOOD, address="10.1.1.2")[1].status_code == 302
    assert _sign_in("agent2", "pw-agent2")[1].status_code == 302


def test_the_lock_page_speaks_english_and_a_forged_forwarded_address_does_not_help(world: World) -> None:
    _fail(5, username="dispatcher")
    locked = _sign_in("dispatcher", "pw-dispatcher", language="en", HTTP_X_FORWARDED_FOR="192.0.2.9")[1]
    assert locked.status_code == 429
    assert "After 5 failed attempts" in locked.content.decode()


@override_settings(LOOPDESK_HTTPS=True)
def test_behind_the_proxy_the_address_is_the_one_it_appended(world: World) -> None:
    _fail(5, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7")
    assert AccessAttempt.objects.get(username="agent").ip_address == "198.51.100.7"
    # Another client behind the same proxy is not locked; the same one is, whatever it puts in front.
    assert _sign_in("agent", GOOD, "127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.8")[1].status_code == 302
    assert _sign_in("agent", GOOD, "127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")[1].status_code == 429


def test_the_lock_ends_after_the_cool_off(world: World) -> None:
    _fail(5)
    assert _sign_in("agent", GOOD)[1].status_code == 429
    AccessAttempt.objects.filter(username="agent").update(
        attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    assert _sign_in("agent", GOOD)[1].status_code == 302


def test_an_administrator_unlocks_in_the_admin_and_it_is_audited(world: World) -> None:
    _fail(5)
    admin_user = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    admin = Client(headers={"accept-language": "zh-hans"})
    admin.force_login(admin_user)
    listing = admin.get("/admin/axes/accessattempt/").content.decode()
    assert "登录失败记录" in listing and "登录保护" in admin.get("/admin/").content.decode()
    attempt = AccessAttempt.objects.get(username="agent")
    response = admin.post("/admin/axes/accessattempt/", {"action": "unlock", "_selected_action": [attempt.pk]})
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    record = AuditLog.objects.get(action="signin.unlock")
    assert record.actor_id == admin_user.pk and record.data["username"] == "agent" and record.data["failures"] == 5
    assert _sign_in("agent", GOOD)[1].status_code == 302


def test_every_sign_in_is_logged_and_the_log_is_read_only(world: World) -> None:
    _sign_in("agent", GOOD, address="10.9.9.9")
    entry = AccessLog.objects.get(username="agent")
    assert entry.ip_address == "10.9.9.9"
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    assert admin.get(f"/admin/axes/accesslog/{entry.pk}/change/").status_code == 200
    assert admin.post(f"/admin/axes/accesslog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessLog.objects.filter(pk=entry.pk).exists()


def test_every_sign_in_protection_model_is_named_in_chinese_in_the_admin(world: World) -> None:
    """The permissions of django-axes's models were offered as "登录保护 | access failure | 可以查看access failure"
    on a role's page in the Chinese admin (the package has no Chinese catalogue); every one is named in Chinese, and
    the admin index lists the protection's models in Chinese."""
    from django.contrib.auth.models import Group

    admin_user = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    admin = Client(headers={"accept-language": "zh-hans"})
    admin.force_login(admin_user)
    index = admin.get("/admin/").content.decode()
    assert "登录保护" in index and "登录失败记录" in index and "登录日志" in index
    role = Group.objects.create(name="测试角色")
    page = admin.get(f"/admin/auth/group/{role.pk}/change/").content.decode()
    for name in ("登录失败记录", "登录日志", "登录失败日志", "登录失败记录到期时间"):
        assert f"登录保护 | {name} | 可以查看{name}" in page
    assert "access failure" not in page and "access attempt" not in page and "access log" not in page

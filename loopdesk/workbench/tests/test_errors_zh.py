"""Errors in the user's language: field errors of the desk form and of an action dialog, the 403 page, a real
failure giving the friendly 500 page, and the messages the page script shows when a dialog's request fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from loopdesk.conftest import World
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_add_attachment, do_create_ticket

REQUIRED_ZH = "此项为必填项。"


def _dispatched(world: World) -> Ticket:
    return do_create_ticket(acting_user=world.user("agent"), dispatch=True, dispatch_to=world.units["netmaint"],
                            **world.ticket_kwargs())


def test_desk_form_field_errors_are_in_chinese(world: World, client_for: Any) -> None:
    response = client_for("agent", language="zh-hans").post("/desk/?caller=13912345678", {
        "contact_type": "complaint", "category": "", "channel": "hotline", "priority": "normal",
        "description": "", "go": "dispatch"})
    assert response.status_code in (200, 422)
    form = response.context["form"]
    assert form.errors["category"] == [REQUIRED_ZH] and form.errors["description"] == [REQUIRED_ZH]
    html = response.content.decode()
    assert html.count(REQUIRED_ZH) >= 2 and "This field is required" not in html
    assert not Ticket.objects.exists()


def test_action_dialog_field_error_is_in_chinese(world: World, client_for: Any) -> None:
    ticket = _dispatched(world)
    response = client_for("specialist", language="zh-hans").post(
        f"/tickets/{ticket.pk}/act/return/", {"version": ticket.version, "reason": ""},
        headers={"HX-Request": "true", "HX-Target": "dialog-body"})
    assert response.status_code == 422
    html = response.content.decode()
    assert REQUIRED_ZH in html and 'class="field-error" role="alert"' in html and "<html" not in html
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version


def test_403_page_is_in_chinese_with_the_reason(world: World, client_for: Any) -> None:
    response = client_for("agent", language="zh-hans").get("/board/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "您无权打开此页面" in html and "监控看板仅供服务管理人员、部门负责人和审计人员使用。" in html
    assert 'lang="zh-hans"' in html and "返回首页" in html


def _chinese_agent_client(world: World) -> Client:
    agent = world.user("agent")
    agent.language = "zh-hans"
    agent.save(update_fields=["language"])
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    return client


def test_a_real_failure_gives_the_friendly_500_page_in_chinese(world: World, settings: Any, tmp_path: Path,
                                                               monkeypatch: Any) -> None:
    # The download view itself fails (a storage driver's bug): the friendly 500 page, not a traceback.
    settings.MEDIA_ROOT = tmp_path
    ticket = _dispatched(world)
    attachment = do_add_attachment(acting_user=world.user("agent"), ticket=ticket,
                                   upload=SimpleUploadedFile("现场照片.txt", b"signal -113 dBm", "text/plain"))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("storage driver failed")

    monkeypatch.setattr("loopdesk.workbench.views.tickets.FileResponse", broken)
    response = _chinese_agent_client(world).get(f"/tickets/{ticket.pk}/files/{attachment.pk}/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "系统出错了" in html and 'lang="zh-hans"' in html and "Traceback" not in html


def test_a_file_missing_from_storage_is_a_404_page_saying_so_in_chinese(world: World, settings: Any, tmp_path: Path,
                                                                        caplog: Any) -> None:
    # The attachment's file is gone from the storage (a lost volume): it was a 500 page; now a 404 page that says
    # the file is missing, and the failure logged for operations.
    settings.MEDIA_ROOT = tmp_path
    ticket = _dispatched(world)
    attachment = do_add_attachment(acting_user=world.user("agent"), ticket=ticket,
                                   upload=SimpleUploadedFile("现场照片.txt", b"signal -113 dBm", "text/plain"))
    Path(attachment.file.path).unlink()
    response = _chinese_agent_client(world).get(f"/tickets/{ticket.pk}/files/{attachment.pk}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "文件 现场照片.txt 在存储中缺失，无法下载" in html and 'lang="zh-hans"' in html
    assert "The address may be mistyped" not in html and "地址可能有误" not in html
    assert any(record.levelname == "ERROR" and str(attachment.pk) in record.getMessage()
               for record in caplog.records)


def test_pages_carry_the_dialog_error_messages_in_the_users_language(world: World, client_for: Any) -> None:
    html = client_for("specialist", language="zh-hans").get("/").content.decode()
    assert 'data-i18n-error-forbidden="您无权（或已无权）执行此操作。' in html
    assert 'data-i18n-error-missing="未找到：' in html and 'data-i18n-error-failed="系统出错了：' in html
    assert 'data-i18n-error-network="无法连接服务器。' in html and 'data-i18n-close="关闭"' in html
    script = (Path(__file__).parents[2] / "static" / "loopdesk" / "app.js").read_text()
    assert 'addEventListener("htmx:responseError"' in script and 'addEventListener("htmx:sendError"' in script

"""The ticket page: masked customer and audited reveal, only the allowed actions, actions through the
services with field errors and lost-update protection, notes, links and bounded queries."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loopdesk.audit.models import AuditLog
from loopdesk.tickets.choices import EventKind, Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_accept_ticket, do_add_note, do_answer_customer, do_create_ticket

HX = {"HX-Request": "true"}


def _dispatched(world: Any) -> Ticket:
    return do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(), dispatch=True)


def test_customer_is_masked_until_revealed_and_the_reveal_is_audited(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    client = client_for("agent")
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    msisdn = ticket.customer.msisdn
    assert ticket.customer.masked_msisdn in page
    assert msisdn not in page
    response = client.post(f"/tickets/{ticket.pk}/reveal/", headers=HX)
    assert response.status_code == 200 and msisdn in response.content.decode()
    assert AuditLog.objects.filter(action="customer.reveal", actor=world.users["agent"]).count() == 1


def test_a_role_without_the_reveal_permission_gets_no_button_and_a_403(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    client = client_for("specialist")
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="reveal"' not in page
    assert client.post(f"/tickets/{ticket.pk}/reveal/").status_code == 403
    assert not AuditLog.objects.filter(action="customer.reveal").exists()


def test_a_ticket_the_user_may_not_see_is_a_404(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    assert client_for("it_specialist").get(f"/tickets/{ticket.pk}/").status_code == 404
    assert client_for("zh_agent").get(f"/tickets/{ticket.pk}/").status_code == 404


def test_only_the_allowed_actions_are_offered(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    specialist_page = client_for("specialist").get(f"/tickets/{ticket.pk}/").content.decode()
    agent_page = client_for("agent").get(f"/tickets/{ticket.pk}/").content.decode()
    auditor_page = client_for("auditor").get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'data-action="accept"' in specialist_page
    assert 'data-action="accept"' not in agent_page
    assert 'data-action="withdraw"' in agent_page
    assert "data-action=" not in auditor_page
    # Asking for a form of an action the user may not take is refused, not just hidden.
    assert client_for("agent").get(f"/tickets/{ticket.pk}/act/accept/").status_code == 403


def test_accepting_in_the_dialog_goes_through_the_service(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    client = client_for("specialist")
    form = client.get(f"/tickets/{ticket.pk}/act/accept/", headers=HX)
    assert form.status_code == 200 and 'name="version"' in form.content.decode()
    response = client.post(f"/tickets/{ticket.pk}/act/accept/", {"version": ticket.version}, headers=HX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"/tickets/{ticket.pk}/"
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS and ticket.handler_user_id == world.users["specialist"].pk


def test_reply_without_a_resolution_shows_a_field_error_and_changes_nothing(world: Any, client_for: Any) -> None:
    ticket = do_accept_ticket(acting_user=world.user("specialist"), ticket=_dispatched(world))
    client = client_for("specialist")
    response = client.post(f"/tickets/{ticket.pk}/act/reply/", {"version": ticket.version, "resolution": "  "},
                           headers=HX)
    assert response.status_code == 422
    assert response.context["form"].errors["resolution"]
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS


def test_a_stale_form_is_refused_with_a_conflict_message(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    seen = ticket.version
    do_accept_ticket(acting_user=world.user("specialist2"), ticket=ticket)
    response = client_for("specialist").post(f"/tickets/{ticket.pk}/act/transfer/", {
        "version": seen, "to_unit": world.units["netopt"].pk, "note": "覆盖问题，转网优"}, headers=HX)
    assert response.status_code == 409  # a conflict, as the API says it
    assert "changed by someone else" in response.content.decode() and "覆盖问题，转网优" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.handler_unit_id == world.units["netmaint"].pk


def test_typed_text_is_kept_when_the_form_is_refused(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    response = client_for("specialist").post(f"/tickets/{ticket.pk}/act/transfer/", {
        "version": ticket.version, "to_unit": "", "note": "请网优处理"}, headers=HX)
    assert response.status_code == 422
    assert "请网优处理" in response.content.decode()
    assert response.context["form"].errors["to_unit"]


def test_full_page_fallback_without_htmx(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    client = client_for("specialist")
    assert "<html" in client.get(f"/tickets/{ticket.pk}/act/accept/").content.decode()
    response = client.post(f"/tickets/{ticket.pk}/act/accept/", {"version": ticket.version})
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.pk}/"


def test_internal_and_customer_visible_notes(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    client = client_for("agent")
    url = f"/tickets/{ticket.pk}/note/"
    assert client.post(url, {"text": "内部备注", "visibility": "internal"}).status_code == 302
    assert client.post(url, {"text": "已告知客户", "visibility": "customer"}).status_code == 302
    notes = list(ticket.events.filter(kind=EventKind.NOTE).order_by("seq").values_list("note", "visibility"))
    assert notes == [("内部备注", "internal"), ("已告知客户", "customer")]
    response = client.post(f"/tickets/{ticket.pk}/note/", {"text": "", "visibility": "internal"})
    assert response.status_code == 422 and response.context["note_errors"]["text"]
    assert client_for("auditor").post(f"/tickets/{ticket.pk}/note/", {"text": "x"}).status_code == 403


def test_attachment_upload_and_download(world: Any, client_for: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    ticket = _dispatched(world)
    client = client_for("agent")
    upload = SimpleUploadedFile("bill.txt", "账单".encode(), content_type="text/plain")
    assert client.post(f"/tickets/{ticket.pk}/attach/", {"file": upload, "visibility": "internal"}).status_code == 302
    attachment = ticket.attachments.get()
    response = client.get(f"/tickets/{ticket.pk}/files/{attachment.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == "账单".encode()
    bad = SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload")
    response = client.post(f"/tickets/{ticket.pk}/attach/", {"file": bad})
    assert response.status_code == 422 and ticket.attachments.count() == 1


def test_a_program_sent_as_a_picture_is_refused_with_a_field_error(world: Any, client_for: Any, settings: Any,
                                                                    tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    ticket = _dispatched(world)
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
    for language, name, message in [
        ("en", "x.exe", "Files named *.exe are not allowed."),
        ("zh-hans", "x.exe", "不允许上传扩展名为 *.exe 的文件。"),
        ("en", "截图.png", "The file&#x27;s content is not of its type (image/png)."),
        ("zh-hans", "截图.png", "文件内容与其类型（image/png）不符。"),
    ]:
        upload = SimpleUploadedFile(name, program, content_type="image/png")
        response = client_for("agent", language).post(f"/tickets/{ticket.pk}/attach/", {"file": upload})
        assert response.status_code == 422
        assert response.context["file_errors"]["file"] and message in response.content.decode(), (language, name)
    assert ticket.attachments.count() == 0 and not ticket.events.filter(kind=EventKind.ATTACHMENT).exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_an_oversized_attachment_is_a_field_error_and_nothing_is_stored(world: Any, client_for: Any, settings: Any,
                                                                       tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.LOOPDESK_ATTACHMENT_MAX_BYTES = 1024 * 1024
    ticket = _dispatched(world)
    client = client_for("agent", "zh-hans")
    text = "信号差。".encode() * (1024 * 1024 // 12 + 1)  # just over 1 MB of valid text
    upload = SimpleUploadedFile("记录.txt", text, content_type="text/plain")
    response = client.post(f"/tickets/{ticket.pk}/attach/", {"file": upload})
    assert response.status_code == 422
    assert response.context["file_errors"] == {"file": ["文件超过 1 MB。"]}
    assert "文件超过 1 MB。" in response.content.decode()
    assert ticket.attachments.count() == 0 and not ticket.events.filter(kind=EventKind.ATTACHMENT).exists()
    assert not AuditLog.objects.filter(action="ticket.attachment").exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    fits = SimpleUploadedFile("记录.txt", text[: 1024 * 1024 - 1], content_type="text/plain")  # 349,525 characters
    assert client.post(f"/tickets/{ticket.pk}/attach/", {"file": fits}).status_code == 302
    assert ticket.attachments.get().size == 1024 * 1024 - 1


def test_linking_two_work_orders(world: Any, client_for: Any) -> None:
    one, two = _dispatched(world), _dispatched(world)
    client = client_for("agent")
    assert client.post(f"/tickets/{one.pk}/link/", {"kind": "related", "other": two.number}).status_code == 302
    assert two.number in client.get(f"/tickets/{one.pk}/").content.decode()
    response = client.post(f"/tickets/{one.pk}/link/", {"kind": "related", "other": "JM-NOPE"})
    assert response.status_code == 422


def test_ticket_page_queries_do_not_grow_with_the_timeline(world: Any, client_for: Any) -> None:
    ticket = _dispatched(world)
    client = client_for("agent")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/tickets/{ticket.pk}/").status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for i in range(8):
        do_add_note(acting_user=world.user("specialist" if i % 2 else "agent"), ticket=ticket, text=f"备注 {i}")
    assert queries() == before


def test_an_answered_ticket_shows_when_the_callback_and_closing_fall_due(world: Any, client_for: Any) -> None:
    from django.utils import timezone
    from django.utils.formats import date_format

    ticket = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    before = client_for("agent").get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="clock-callback"' not in before
    ticket = do_answer_customer(acting_user=world.user("agent"), ticket=ticket, answer="已解释资费。",
                                resolution="资费标准解释清楚。")
    assert ticket.status == Status.ANSWERED and ticket.due_at is not None
    page = client_for("agent").get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="clock-callback"' in page
    assert date_format(timezone.localtime(ticket.due_at), "m-d H:i") in page

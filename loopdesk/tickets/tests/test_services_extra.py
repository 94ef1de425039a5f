"""Notes, attachments, links, external ids and customers: the parts of a ticket that are not its state."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models.signals import post_save
from django.utils import translation

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World
from loopdesk.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from loopdesk.customers.models import Customer
from loopdesk.customers.services import clean_msisdn, get_or_create_customer
from loopdesk.tickets import filetypes
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import EventKind, LinkKind
from loopdesk.tickets.models import Attachment, ExternalRef, Ticket, TicketEvent, TicketLink


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_notes_are_internal_or_customer_visible_and_do_not_change_the_version(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    s.do_add_note(acting_user=world.user("agent"), ticket=t, text="客户情绪激动", now=T0)
    s.do_add_note(acting_user=world.user("agent"), ticket=t, text="已联系网络部", visibility="customer", now=T0)
    notes = list(TicketEvent.objects.filter(ticket=t, kind=EventKind.NOTE).values_list("visibility", flat=True))
    assert notes == ["internal", "customer"]
    assert Ticket.objects.get(pk=t.pk).version == t.version
    with pytest.raises(PermissionDeniedError):
        s.do_add_note(acting_user=world.user("auditor"), ticket=t, text="x")
    with pytest.raises(PermissionDeniedError):
        s.do_add_note(acting_user=world.user("it_specialist"), ticket=t, text="x")  # cannot see it


def test_attachment_limits(world: World, media, settings) -> None:
    settings.LOOPDESK_ATTACHMENT_MAX_BYTES = 1024
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    shot = SimpleUploadedFile("信号截图.png", b"\x89PNG\r\n\x1a\n" + b"0" * 96, content_type="image/png")
    attachment = s.do_add_attachment(acting_user=world.user("agent"), ticket=t, upload=shot, now=T0)
    assert attachment.size == 104 and attachment.filename == "信号截图.png"
    assert (media / attachment.file.name).exists()
    too_big = SimpleUploadedFile("big.png", b"0" * 2048, content_type="image/png")
    with pytest.raises(ValidationFailed) as err:
        s.do_add_attachment(acting_user=world.user("agent"), ticket=t, upload=too_big)
    assert err.value.field == "file"
    script = SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload")
    with pytest.raises(ValidationFailed):
        s.do_add_attachment(acting_user=world.user("agent"), ticket=t, upload=script)
    assert Attachment.objects.filter(ticket=t).count() == 1
    assert TicketEvent.objects.filter(ticket=t, kind=EventKind.ATTACHMENT).count() == 1


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 40


def _xlsx() -> bytes:
    import io

    from openpyxl import Workbook

    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "declared", "content", "stored_as"),
    [
        ("信号截图.png", "image/png", PNG, "image/png"),
        ("photo.JPG", "image/pjpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 40, "image/jpeg"),
        ("bill.pdf", "application/octet-stream", b"%PDF-1.7\n" + b"0" * 40, "application/pdf"),
        ("说明.txt", "text/plain", "客户反映室内无信号\r\n".encode("gbk"), "text/plain"),
        ("录音.wav", "audio/x-wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40, "audio/wav"),
        ("清单.xlsx", "application/octet-stream", _xlsx(), filetypes.XLSX),
        ("attachment", "image/png", PNG, "image/png"),  # an API attachment without an extension: declared type
    ],
    ids=["png", "jpeg", "pdf", "gbk-text", "wav", "xlsx", "api-png"],
)
def test_attachment_type_comes_from_name_and_content(world: World, media, name, declared, content, stored_as) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    upload = SimpleUploadedFile(name, content, content_type=declared)
    attachment = s.do_add_attachment(acting_user=world.user("agent"), ticket=t, upload=upload, now=T0)
    assert attachment.content_type == stored_as
    assert (media / attachment.file.name).read_bytes() == content


@pytest.mark.parametrize(
    ("name", "declared", "content", "message"),
    [
        ("x.exe", "image/png", EXE, "Files named *.exe are not allowed."),  # spoofed type
        ("x.png.exe", "image/png", PNG, "Files named *.exe are not allowed."),
        ("x.png", "image/png", EXE, "The file's content is not of its type (image/png)."),  # spoofed name
        ("x.pdf", "application/pdf", EXE, "The file's content is not of its type (application/pdf)."),
        ("x.txt", "text/plain", EXE, "The file's content is not of its type (text/plain)."),
        ("x.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04" + EXE,
         "The file's content is not of its type (application/vnd.openxmlformats-officedocument."
         "wordprocessingml.document)."),
        ("x.xlsx", "application/octet-stream", b"PK\x03\x04" + b"\x00" * 60,
         "The file's content is not of its type (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)."),
        ("attachment", "application/x-msdownload", EXE, "Files of type application/x-msdownload are not allowed."),
        ("attachment", "image/gif", EXE, "The file's content is not of its type (image/gif)."),
    ],
    ids=["exe-as-png", "double-extension", "exe-named-png", "exe-named-pdf", "exe-named-txt", "zip-not-docx",
         "broken-xlsx", "api-exe", "api-exe-as-gif"],
)
def test_spoofed_attachment_is_refused_and_nothing_stored(world: World, media, name, declared, content,
                                                          message) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    upload = SimpleUploadedFile(name, content, content_type=declared)
    with translation.override("en"), pytest.raises(ValidationFailed) as err:
        s.do_add_attachment(acting_user=world.user("agent"), ticket=t, upload=upload, now=T0)
    assert err.value.errors == {"file": [message]}
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as err:
        s.do_add_attachment(acting_user=world.user("agent"), ticket=t, upload=upload, now=T0)
    assert err.value.errors["file"][0] != message and "文件" in err.value.errors["file"][0]
    assert not Attachment.objects.filter(ticket=t).exists()
    assert not TicketEvent.objects.filter(ticket=t, kind=EventKind.ATTACHMENT).exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def test_links_parent_and_related(world: World) -> None:
    parent = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    child = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    s.do_link_tickets(acting_user=world.user("agent"), ticket=parent, other=child, kind=LinkKind.PARENT, now=T0)
    assert Ticket.objects.get(pk=child.pk).parent_id == parent.pk
    with pytest.raises(ValidationFailed):
        s.do_link_tickets(acting_user=world.user("agent"), ticket=parent, other=parent, kind=LinkKind.RELATED)
    hidden = s.do_create_ticket(acting_user=world.user("zh_agent"), now=T0,
                                **world.ticket_kwargs(customer=world.customer(region="ZH")))
    with pytest.raises(NotFoundError):
        s.do_link_tickets(acting_user=world.user("agent"), ticket=parent, other=hidden, kind=LinkKind.RELATED)
    assert TicketLink.objects.filter(from_ticket=parent).count() == 1


def test_a_parent_link_that_would_make_a_cycle_or_steal_a_child_is_a_field_error(world: World) -> None:
    a, b, c = (s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs()) for _ in range(3))
    s.do_link_tickets(acting_user=world.user("agent"), ticket=a, other=b, kind=LinkKind.PARENT, now=T0)
    s.do_link_tickets(acting_user=world.user("agent"), ticket=b, other=c, kind=LinkKind.PARENT, now=T0)
    for parent, child in ((b, a), (c, a)):  # a → b → c: a below its own descendant
        with pytest.raises(ValidationFailed) as err:
            s.do_link_tickets(acting_user=world.user("agent"), ticket=parent, other=child, kind=LinkKind.PARENT)
        assert err.value.field == "other"
    with pytest.raises(ValidationFailed) as err:  # c has a parent already (b): not silently moved to a
        s.do_link_tickets(acting_user=world.user("agent"), ticket=a, other=c, kind=LinkKind.PARENT)
    assert err.value.field == "other"
    assert Ticket.objects.get(pk=a.pk).parent_id is None and Ticket.objects.get(pk=c.pk).parent_id == b.pk
    assert TicketLink.objects.filter(kind=LinkKind.PARENT).count() == 2


def test_external_ids_are_unique_per_system(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, external_refs={"EOMS": "E-1"},
                           **world.ticket_kwargs())
    assert ExternalRef.objects.get(system="EOMS", external_id="E-1").ticket_id == t.pk
    with pytest.raises(ValidationFailed) as err:
        s.do_create_ticket(acting_user=world.user("agent"), now=T0, external_refs={"EOMS": "E-1"},
                           **world.ticket_kwargs())
    assert "external_refs" in err.value.errors


def test_an_external_id_taken_after_the_check_is_the_same_field_error_and_nothing_is_stored(world: World) -> None:
    """Another registration stores the id between this one's check and its insert (here: when this ticket's row
    is saved): the unique constraint's IntegrityError becomes the external_refs field error, not a 500."""
    first = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    tickets, events = Ticket.objects.count(), TicketEvent.objects.count()

    def the_other_registration(sender, instance, created, **kwargs) -> None:
        if created:
            ExternalRef.objects.create(ticket=first, system="EOMS", external_id="E-9")

    post_save.connect(the_other_registration, sender=Ticket)
    try:
        with translation.override("en"), pytest.raises(ValidationFailed) as err:
            s.do_create_ticket(acting_user=world.user("agent"), now=T0, external_refs={"EOMS": "E-9"},
                               **world.ticket_kwargs())
    finally:
        post_save.disconnect(the_other_registration, sender=Ticket)
    assert err.value.errors == {"external_refs": ["EOMS id E-9 is already on another work order."]}
    assert (Ticket.objects.count(), TicketEvent.objects.count()) == (tickets, events)
    assert not AuditLog.objects.filter(action="ticket.create").exclude(object_id=str(first.pk)).exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-0013-8000", "13800138000"),
        ("１３９１２３４５６７８", "13912345678"),
        ("008613800138000", "13800138000"),
    ],
)
def test_msisdn_is_normalised(raw: str, expected: str) -> None:
    assert clean_msisdn(raw) == expected


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "abc", ""])
def test_invalid_msisdn_is_a_field_error(raw: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        clean_msisdn(raw)
    assert err.value.field == "msisdn"


def test_unknown_caller_gets_a_customer_record_in_the_agents_region(world: World) -> None:
    customer = get_or_create_customer(msisdn="13700001111", acting_user=world.user("agent"))
    assert customer.region == "JM" and customer.tier == "regular"
    assert get_or_create_customer(msisdn="137 0000 1111", acting_user=world.user("agent")).pk == customer.pk
    assert Customer.objects.filter(msisdn="13700001111").count() == 1


def test_notes_attachments_and_links_do_not_conflict_with_a_change_made_meanwhile(world: World, settings,
                                                                                   tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    seen = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    other = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    s.do_accept_ticket(acting_user=world.user("specialist"), ticket=seen, now=T0)  # the page the agent has is old
    s.do_add_note(acting_user=world.user("agent"), ticket=seen, text="客户再次来电催促", now=T0)
    s.do_add_attachment(acting_user=world.user("agent"), ticket=seen, now=T0,
                        upload=SimpleUploadedFile("a.txt", b"hello", content_type="text/plain"))
    s.do_link_tickets(acting_user=world.user("agent"), ticket=seen, other=other, kind=LinkKind.RELATED, now=T0)
    kinds = list(TicketEvent.objects.filter(ticket=seen).order_by("seq").values_list("kind", flat=True))
    assert kinds[-3:] == [EventKind.NOTE, EventKind.ATTACHMENT, EventKind.LINK]


def test_a_new_link_is_on_the_timeline_of_both_work_orders(world: World) -> None:
    """Linking, rejecting as a duplicate and registering a child: the other work order's relationships change too,
    so it gets its own timeline entry (and its TMF listeners an attribute change), not only the one linked from."""
    from loopdesk.tickets.choices import RejectReason

    agent = world.user("agent")
    parent = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    child = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    related = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())

    def links(t: Ticket) -> list[dict]:
        return list(TicketEvent.objects.filter(ticket=t, kind=EventKind.LINK).order_by("seq").values_list(
            "data", flat=True))

    s.do_link_tickets(acting_user=agent, ticket=parent, other=child, kind=LinkKind.PARENT, now=T0)
    s.do_link_tickets(acting_user=agent, ticket=related, other=parent, kind=LinkKind.RELATED, now=T0)
    assert links(parent) == [{"kind": "parent", "other": child.number},
                             {"kind": "related", "other": related.number, "inverse": True}]
    assert links(child) == [{"kind": "parent", "other": parent.number, "inverse": True}]
    child = Ticket.objects.get(pk=child.pk)
    assert child.last_event_seq == TicketEvent.objects.filter(ticket=child).count()  # its event count follows
    # Linked again: nothing new on either side.
    s.do_link_tickets(acting_user=agent, ticket=parent, other=child, kind=LinkKind.PARENT, now=T0)
    assert len(links(child)) == 1 and len(links(parent)) == 2

    copy = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    s.do_reject_ticket(acting_user=agent, ticket=copy, reason=RejectReason.DUPLICATE, duplicate_of=related, now=T0)
    assert links(related)[-1] == {"kind": "duplicate", "other": copy.number, "inverse": True}

    second = s.do_create_ticket(acting_user=agent, now=T0, parent=parent, **world.ticket_kwargs())
    assert links(parent)[-1] == {"kind": "parent", "other": second.number, "inverse": True}


def test_a_repeat_complaint_is_on_the_timeline_of_the_complaint_it_repeats(world: World) -> None:
    agent, customer = world.user("agent"), world.customer()
    first = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs(customer=customer))
    again = s.do_create_ticket(acting_user=agent, now=T0 + dt.timedelta(days=3),
                               **world.ticket_kwargs(customer=customer))
    assert Ticket.objects.get(pk=again.pk).is_repeat
    entry = TicketEvent.objects.filter(ticket=first).order_by("-seq").first()
    assert entry is not None and entry.kind == EventKind.LINK
    assert entry.data == {"kind": "repeat", "other": again.number, "inverse": True}
    first = Ticket.objects.get(pk=first.pk)
    assert first.last_event_seq == TicketEvent.objects.filter(ticket=first).count()
    assert first.updated_at == T0 + dt.timedelta(days=3) and not first.is_repeat

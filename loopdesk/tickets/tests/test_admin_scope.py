"""The admin's work-order pages (tickets, timeline events, attachments, links, external ids, unit access) list and
open only the work orders the user may see (`policy.visible_tickets`), as every other list does (docs/access.md):
an auditor of one city, whose role gives the admin's view permissions, read every city's and province's work
orders, their descriptions and timelines there."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from loopdesk.conftest import World, staff_client
from loopdesk.followup.models import CallbackTask, EscalationReason
from loopdesk.followup.services import do_escalate_ticket
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket

PAGES = ("tickets/ticket", "tickets/ticketevent", "tickets/attachment", "tickets/ticketlink", "tickets/externalref",
         "tickets/ticketunitaccess", "followup/escalation", "followup/callbacktask")


def _staff_client(world: World, key: str) -> Client:
    user = world.users[key]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    group = Group.objects.get(name="auditor")
    group.permissions.add(*Permission.objects.filter(content_type__app_label__in=("tickets", "followup"),
                                                     codename__startswith="view_"))
    client = Client()
    client.force_login(user)
    return client


def _ticket(world: World, agent: str, **customer: str) -> Ticket:
    t = s.do_create_ticket(acting_user=world.user(agent), external_refs={"legacy": f"L-{agent}"},
                           **world.ticket_kwargs(customer=world.customer(**customer)))
    s.do_add_attachment(acting_user=world.user(agent), ticket=t,
                        upload=SimpleUploadedFile("n.txt", b"note", content_type="text/plain"))
    do_escalate_ticket(ticket=t, reason=EscalationReason.LOW_RATING, occasion=f"test:{t.pk}", note="客户不满")
    CallbackTask.objects.create(ticket=t, assignee=world.user(agent), due_at=t.created_at, created_at=t.created_at)
    return t


def test_a_city_auditor_sees_their_citys_work_orders_only_in_the_admin(world: World) -> None:
    jm = _ticket(world, "agent")
    zh = _ticket(world, "zh_agent", region="ZH")
    s.do_link_tickets(acting_user=world.user("admin"), ticket=zh, other=jm, kind="related")
    client = _staff_client(world, "auditor")
    for page in PAGES:
        listing = client.get(f"/admin/{page}/")
        assert listing.status_code == 200, page
        shown = {getattr(row, "ticket_id", None) or getattr(row, "from_ticket_id", None) or row.pk
                 for row in listing.context["cl"].result_list}
        assert zh.pk not in shown, page
    assert jm.number in client.get("/admin/tickets/ticket/").content.decode()
    assert client.get(f"/admin/tickets/ticket/{zh.pk}/change/").status_code == 302  # "does not exist"
    assert client.get(f"/admin/tickets/ticket/{jm.pk}/change/").status_code == 200
    world.users["admin"].is_staff = world.users["admin"].is_superuser = True
    world.users["admin"].save(update_fields=["is_staff", "is_superuser"])
    admin = Client()
    admin.force_login(world.users["admin"])
    assert zh.number in admin.get("/admin/tickets/ticket/").content.decode()  # administrators: everything
    assert admin.get(f"/admin/tickets/ticket/{zh.pk}/change/").status_code == 200


def test_a_city_auditor_reads_their_citys_audit_records_and_the_global_ones(world: World) -> None:
    jm = _ticket(world, "agent")
    zh = _ticket(world, "zh_agent", region="ZH")
    client = _staff_client(world, "auditor")
    Group.objects.get(name="auditor").permissions.add(Permission.objects.get(codename="view_auditlog"))
    rows = client.get("/admin/audit/auditlog/?o=-1").context["cl"].result_list
    shown = {(row.object_type, row.object_id) for row in rows}
    assert ("tickets.ticket", str(jm.pk)) in shown
    assert ("tickets.ticket", str(zh.pk)) not in shown
    assert {row.region for row in rows} <= {"JM", ""}


def test_a_city_auditor_lists_their_citys_customers_in_the_admin(world: World) -> None:
    jm, zh = world.customer(), world.customer(region="ZH")
    client = _staff_client(world, "auditor")
    Group.objects.get(name="auditor").permissions.add(Permission.objects.get(codename="view_customer"))
    shown = {row.pk for row in client.get("/admin/customers/customer/").context["cl"].result_list}
    assert jm.pk in shown and zh.pk not in shown
    assert client.get(f"/admin/customers/customer/{zh.pk}/change/").status_code == 302  # "does not exist"


def test_a_city_auditor_lists_the_sms_of_their_citys_work_orders_in_the_admin(world: World) -> None:
    from loopdesk.notify.models import CustomerMessage

    jm = _ticket(world, "agent")
    zh = _ticket(world, "zh_agent", region="ZH")
    assert set(CustomerMessage.objects.values_list("ticket_id", flat=True)) == {jm.pk, zh.pk}  # the two acks
    client = _staff_client(world, "auditor")
    Group.objects.get(name="auditor").permissions.add(Permission.objects.get(codename="view_customermessage"))
    shown = {row.ticket_id for row in client.get("/admin/notify/customermessage/").context["cl"].result_list}
    assert shown == {jm.pk}


def test_a_city_auditor_lists_their_citys_staff_alerts_and_surveys_in_the_admin(world: World) -> None:
    import datetime as dt

    from django.utils import timezone

    from loopdesk.followup.models import AlertKind, StaffAlert
    from loopdesk.surveys.models import Survey, SurveyKind
    from loopdesk.surveys.services import do_create_window_survey

    jm = _ticket(world, "agent")
    zh = _ticket(world, "zh_agent", region="ZH")
    now = timezone.now()
    for key, ticket in (("agent", jm), ("zh_agent", zh), ("agent", None), ("zh_agent", None)):
        StaffAlert.objects.create(user=world.user(key), ticket=ticket, kind=AlertKind.OVERTIME, message="超时",
                                  occasion=f"t:{key}:{ticket and ticket.pk}", created_at=now)
        if ticket is not None:
            Survey.objects.create(kind=SurveyKind.TICKET, msisdn="13800138000", ticket=ticket, region=ticket.region,
                                  occasion=f"ticket:{ticket.pk}", token_hash=f"{ticket.pk:064d}", sent_at=now,
                                  expires_at=now + dt.timedelta(days=1))
        else:
            do_create_window_survey(acting_user=world.user(key), msisdn="13800138000", channel="hall",
                                    contact_ref=f"c-{key}")
    client = _staff_client(world, "auditor")
    Group.objects.get(name="auditor").permissions.add(
        *Permission.objects.filter(codename__in=("view_staffalert", "view_survey")))
    alerts = client.get("/admin/followup/staffalert/").context["cl"].result_list
    assert {a.ticket_id for a in alerts} == {jm.pk, None}
    assert {a.user_id for a in alerts if a.ticket_id is None} == {world.user("agent").pk}
    surveys = client.get("/admin/surveys/survey/").context["cl"].result_list
    assert {(sv.ticket_id, sv.region) for sv in surveys} == {(jm.pk, "JM"), (None, "JM")}
    zh_window = Survey.objects.get(ticket=None, region="ZH")
    assert client.get(f"/admin/surveys/survey/{zh_window.pk}/change/").status_code == 302  # "does not exist"


def test_a_city_auditor_reads_the_outbox_and_delivery_log_of_their_citys_work_orders(world: World) -> None:
    """Outbox payloads hold SMS texts and whole tickets (description, notes), and the delivery log names every
    region's work orders: a city's auditor read them all there."""
    from django.utils import timezone

    from loopdesk.outbox.models import OutboxMessage
    from loopdesk.outbox.services import enqueue
    from loopdesk.tmf.models import DeliveryLog

    jm = _ticket(world, "agent")
    zh = _ticket(world, "zh_agent", region="ZH")
    for ticket in (jm, zh):  # a ticket event (SMS rows carry the region only)
        enqueue(channel="tmf_event", topic="TroubleTicketCreateEvent", dedupe_key=f"tmf:{ticket.pk}", target="1",
                payload={"event": {"troubleTicket": {"description": ticket.description}}}, ticket_id=ticket.pk,
                region=ticket.region)
    enqueue(channel="sms", topic="survey", dedupe_key="unplaced", target="13800138002", payload={"text": "?"})
    assert {"JM", "ZH"} <= set(OutboxMessage.objects.filter(channel="sms").values_list("region", flat=True))
    for ticket in (jm, zh, None):
        DeliveryLog.objects.create(event_id=f"e-{ticket and ticket.pk}", event_type="TroubleTicketCreateEvent",
                                   ticket_id=ticket and ticket.pk, url="https://crm.example/cb", ok=True,
                                   created_at=timezone.now())
    client = _staff_client(world, "auditor")
    Group.objects.get(name="auditor").permissions.add(
        *Permission.objects.filter(codename__in=("view_outboxmessage", "view_deliverylog")))
    rows = client.get("/admin/outbox/outboxmessage/").context["cl"].result_list
    assert {row.ticket_id for row in rows} == {jm.pk, None}
    assert {row.region for row in rows if row.ticket_id is None} == {"JM", ""}  # the SMS of the city's work orders
    zh_row = OutboxMessage.objects.filter(ticket_id=zh.pk).first()
    assert client.get(f"/admin/outbox/outboxmessage/{zh_row.pk}/change/").status_code == 302  # "does not exist"
    logs = client.get("/admin/tmf/deliverylog/").context["cl"].result_list
    assert {row.ticket_id for row in logs} == {jm.pk, None}


def test_the_admin_never_shows_a_surveys_one_time_link(world: World) -> None:
    """A survey SMS carries the customer's one-time rating link (the survey row keeps only its hash): the SMS and
    outbox admin showed it whole, so staff reading there could rate the work order as the customer."""
    from loopdesk.notify.models import MessageKind
    from loopdesk.notify.services import queue_sms
    from loopdesk.outbox.models import OutboxMessage
    from loopdesk.surveys.services import survey_for_token, survey_link

    token = "Sec7retT0ken_-abc"
    message = queue_sms(msisdn="13800138000", kind=MessageKind.SURVEY, dedupe_key="sms:survey:t",
                        context={"number": "JM-1", "survey_link": survey_link(token), "valid_hours": 24},
                        region="JM")
    assert message is not None and token in message.text
    outbox = OutboxMessage.objects.get(pk=message.outbox_id)
    world.users["admin"].is_staff = world.users["admin"].is_superuser = True
    world.users["admin"].save(update_fields=["is_staff", "is_superuser"])
    for user in (world.users["admin"], world.users["auditor"]):
        client = _staff_client(world, "auditor") if user == world.users["auditor"] else Client()
        if user == world.users["admin"]:
            client.force_login(user)
        Group.objects.get(name="auditor").permissions.add(
            *Permission.objects.filter(codename__in=("view_outboxmessage", "view_customermessage")))
        for page in (f"/admin/notify/customermessage/{message.pk}/change/",
                     f"/admin/outbox/outboxmessage/{outbox.pk}/change/"):
            response = client.get(page)
            assert response.status_code == 200, page
            shown = response.content.decode()
            assert token not in shown, page
            assert "/s/" in shown, page  # the rest of the text is there
    assert survey_for_token(token) is None  # not a real survey: nothing to rate here


def test_the_links_admin_does_not_name_a_linked_work_order_of_another_city(world: World) -> None:
    """A link from one of the auditor's city's work orders to another city's was listed, naming the other's number
    (the ticket page, REST and TMF do not: docs/access.md); only links between work orders they may see are listed."""
    jm, jm2 = _ticket(world, "agent"), _ticket(world, "agent2")
    zh = _ticket(world, "zh_agent", region="ZH")
    s.do_link_tickets(acting_user=world.user("admin"), ticket=jm, other=zh, kind="related")
    s.do_link_tickets(acting_user=world.user("admin"), ticket=jm, other=jm2, kind="related")
    listing = _staff_client(world, "auditor").get("/admin/tickets/ticketlink/")
    assert [row.to_ticket_id for row in listing.context["cl"].result_list] == [jm2.pk]
    assert zh.number not in listing.content.decode()


def test_a_city_auditor_reads_the_number_sequences_of_their_city_only(world: World) -> None:
    """A day's last number is that region's count of work orders that day: a city's auditor read every region's.
    (Rows made directly: on PostgreSQL the numbers come from database sequences, the rows only from imports.)"""
    import datetime as dt

    from loopdesk.tickets.models import TicketSequence

    for region in ("JM", "ZH"):
        TicketSequence.objects.create(region=region, day=dt.date(2026, 12, 1), last_value=7)
    listing = _staff_client(world, "auditor").get("/admin/tickets/ticketsequence/")
    assert listing.status_code == 200
    assert set(listing.context["cl"].result_list.values_list("region", flat=True)) == {"JM"}
    admin_listing = staff_client(world, "admin", superuser=True).get("/admin/tickets/ticketsequence/")
    assert set(admin_listing.context["cl"].result_list.values_list("region", flat=True)) == {"JM", "ZH"}

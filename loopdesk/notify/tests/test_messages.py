"""Customer SMS: what the customer is told, when (quiet hours, daily cap), never twice, and through which gateway."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading

import pytest
from django.core.exceptions import ValidationError

from loopdesk.conftest import T0, World
from loopdesk.followup.life import whole_life
from loopdesk.followup.models import FollowupPolicy
from loopdesk.notify import services as notify
from loopdesk.notify.defaults import DEFAULT_TEXTS
from loopdesk.notify.gateways import FileGateway, GatewayError, HttpJsonGateway, Sms, read_file_gateway, sign
from loopdesk.notify.models import CustomerMessage, MessageTemplate, ProgressSchedule, SmsOptOut
from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket


def _kinds(ticket_id: int) -> list[str]:
    return list(CustomerMessage.objects.filter(ticket_id=ticket_id).order_by("id").values_list("kind", flat=True))


@pytest.fixture
def sms_file(tmp_path, settings):
    settings.LOOPDESK_SMS_GATEWAY = "file"
    settings.LOOPDESK_SMS_FILE = tmp_path / "sms.jsonl"
    return settings.LOOPDESK_SMS_FILE


def test_acknowledgement_names_the_number_and_committed_date(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    message = CustomerMessage.objects.get(ticket_id=t.pk, kind="ack")
    local = t.committed_at.astimezone(SHANGHAI)
    assert t.number in message.text and f"{local.month}月{local.day}日{local:%H:%M}" in message.text
    row = OutboxMessage.objects.get(pk=message.outbox_id)
    assert row.channel == "sms" and row.target == t.customer.msisdn and row.not_before == T0


def test_whole_life_tells_the_customer_each_step_once(world: World) -> None:
    t = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=world.customer(),
                   category=world.categories["indoor"], start=T0, unit=world.units["netmaint"])
    assert _kinds(t.pk) == ["ack", "info_request", "resolution", "survey"]
    # Replaying the listener for every event (a retried transaction, a rebuilt timeline) adds nothing.
    for event in t.events.order_by("seq"):
        notify.on_ticket_event(t, event)
    assert len(_kinds(t.pk)) == 4


def test_quiet_hours_hold_messages_until_eight(world: World) -> None:
    late = dt.datetime(2026, 11, 2, 22, 30, tzinfo=SHANGHAI)
    t = s.do_create_ticket(acting_user=world.user("agent"), now=late, **world.ticket_kwargs())
    row = OutboxMessage.objects.get(pk=CustomerMessage.objects.get(ticket_id=t.pk).outbox_id)
    assert row.not_before == dt.datetime(2026, 11, 3, 8, 0, tzinfo=SHANGHAI)
    early = dt.datetime(2026, 11, 3, 6, 0, tzinfo=SHANGHAI)
    assert notify.release_time(early, FollowupPolicy()) == dt.datetime(2026, 11, 3, 8, 0, tzinfo=SHANGHAI)
    noon = dt.datetime(2026, 11, 3, 12, 0, tzinfo=SHANGHAI)
    assert notify.release_time(noon, FollowupPolicy()) == noon


def test_opted_out_customer_gets_no_notices(world: World) -> None:
    customer = world.customer()
    SmsOptOut.objects.create(msisdn=customer.msisdn, created_at=T0)
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs(customer=customer))
    assert _kinds(t.pk) == []


def test_daily_cap_postpones_notices_and_skips_progress(world: World) -> None:
    FollowupPolicy.objects.create(daily_cap=2)
    customer = world.customer()
    for i in range(3):
        s.do_create_ticket(acting_user=world.user("agent"), now=T0 + dt.timedelta(minutes=i),
                           **world.ticket_kwargs(customer=customer, description=f"第{i}次投诉"))
    days = list(CustomerMessage.objects.filter(msisdn=customer.msisdn).order_by("id").values_list("day", flat=True))
    assert days == [T0.date(), T0.date(), T0.date() + dt.timedelta(days=1)]
    assert notify.queue_sms(msisdn=customer.msisdn, kind="progress", dedupe_key="p-x", context={}, now=T0) is None


def test_progress_update_every_day_while_open(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    assert notify.sweep_progress(now=T0 + dt.timedelta(hours=23)) == 0
    assert notify.sweep_progress(now=T0 + dt.timedelta(hours=24)) == 1
    assert notify.sweep_progress(now=T0 + dt.timedelta(hours=25)) == 0  # not twice the same day
    assert notify.sweep_progress(now=T0 + dt.timedelta(hours=48)) == 1
    assert _kinds(t.pk) == ["ack", "progress", "progress"]
    s.do_withdraw_ticket(acting_user=world.user("agent"), ticket=t, reason="客户撤诉", now=T0 + dt.timedelta(hours=50))
    assert not ProgressSchedule.objects.filter(ticket=t).exists()


def test_progress_interval_and_contact_types_come_from_the_followup_policy(world: World) -> None:
    FollowupPolicy.objects.create(progress_every_hours=12, progress_contact_types="appeal")
    appeal = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                                **world.ticket_kwargs(contact_type="appeal"))
    complaint = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    assert notify.sweep_progress(now=T0 + dt.timedelta(hours=11)) == 0
    assert notify.sweep_progress(now=T0 + dt.timedelta(hours=12)) == 1
    assert _kinds(appeal.pk) == ["ack", "progress"] and _kinds(complaint.pk) == ["ack"]


def test_consultation_gets_no_progress_updates(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs(contact_type="consultation"))
    assert notify.sweep_progress(now=T0 + dt.timedelta(days=2)) == 0 and _kinds(t.pk) == ["ack"]


def test_template_with_unknown_variable_is_refused(db) -> None:
    template = MessageTemplate.objects.get(kind="ack")
    template.text = "工单{number}，处理人{handler_phone}"
    with pytest.raises(ValidationError) as err:
        template.save()
    assert "{handler_phone}" in str(err.value.message_dict["text"])
    template.text = "工单{number.__class__}"
    with pytest.raises(ValidationError):
        template.save()
    template.text = "工单{number}"
    with pytest.raises(ValidationError):
        MessageTemplate(kind="ack", text="坏的{").clean()
    template.save()
    assert notify.render("ack", {"number": "JM-1"}) == "工单JM-1"


@pytest.mark.parametrize("text", ["坏的{", "工单{number}，处理人{handler_phone}", "工单{number.__class__}"])
def test_template_broken_past_the_checks_sends_the_built_in_text_and_is_logged(
        world: World, caplog: pytest.LogCaptureFixture, text: str) -> None:
    MessageTemplate.objects.filter(kind="ack").update(text=text)  # a raw UPDATE skips the model's checks
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())  # accepted all the same
    message = CustomerMessage.objects.get(ticket_id=t.pk, kind="ack")
    assert message.text == notify.fill(DEFAULT_TEXTS["ack"], notify.ticket_context(t)) and t.number in message.text
    assert "SMS template ack is not valid" in caplog.text


def test_switched_off_template_sends_nothing(world: World) -> None:
    MessageTemplate.objects.filter(kind="ack").update(is_active=False)
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    assert _kinds(t.pk) == []


def test_console_gateway_logs_each_sms_and_an_unknown_gateway_is_a_retried_failure(
        world: World, settings, caplog: pytest.LogCaptureFixture) -> None:
    settings.LOOPDESK_SMS_GATEWAY = "console"
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    assert worker.deliver_due().delivered == 1
    assert f"-> {t.customer.msisdn}" in caplog.text and t.number in caplog.text
    settings.LOOPDESK_SMS_GATEWAY = "carrier-pigeon"  # a typo in the deployment: the worker goes on, the row waits
    t2 = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    report = worker.deliver_due()
    row = OutboxMessage.objects.get(pk=CustomerMessage.objects.get(ticket_id=t2.pk).outbox_id)
    assert report.failed == 1 and row.status == "failed" and "carrier-pigeon" in row.last_error


def test_file_gateway_writes_each_message_once(world: World, sms_file) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    worker.deliver_due()
    lines = read_file_gateway(sms_file)
    assert [line["to"] for line in lines] == [t.customer.msisdn] and t.number in lines[0]["text"]
    # Redelivery after a crash (the row was sent but not marked): the gateway keeps one copy.
    OutboxMessage.objects.update(status="pending")
    worker.deliver_due()
    other_process = FileGateway(sms_file)
    other_process.send(Sms(id=lines[0]["id"], to="13800000000", sender="10086", text="again"))
    assert len(read_file_gateway(sms_file)) == 1


def test_reading_the_file_gateway_skips_a_line_still_being_written(tmp_path) -> None:
    path = tmp_path / "sms.jsonl"
    FileGateway(path).send(Sms(id="a", to="13800000000", sender="10086", text="第1条"))
    with path.open("ab") as handle:  # another process half-way through its line
        handle.write('{"id": "b", "to": "13800000001", "text": "第2'.encode())
    assert [m["id"] for m in read_file_gateway(path)] == ["a"]


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.headers, body))
        self.send_response(type(self).status)
        if 300 <= type(self).status < 400:
            self.send_header("Location", "/elsewhere")
        self.end_headers()

    def do_GET(self) -> None:  # where a followed redirect would land: answers 200 without the message
        type(self).received.append((self.headers, b""))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_gateway():
    _Receiver.received = []
    _Receiver.status = 200
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sms", _Receiver
    server.shutdown()
    server.server_close()


def test_http_gateway_posts_signed_json(http_gateway) -> None:
    url, receiver = http_gateway
    gateway = HttpJsonGateway(url, "loopdesk", "pw", "s3cret", 5)
    gateway.send(Sms(id="k1", to="13800000001", sender="10086", text="你好"))
    headers, body = receiver.received[0]
    assert json.loads(body) == {"id": "k1", "to": "13800000001", "from": "10086", "text": "你好"}
    assert headers["X-LoopDesk-Signature"] == sign("s3cret", headers["X-LoopDesk-Timestamp"], body)
    assert headers["Authorization"].startswith("Basic ")


def test_http_gateway_does_not_follow_a_redirect(http_gateway) -> None:
    """A 302 is a failure to retry: urllib would follow it with a GET without the message and count it as sent."""
    url, receiver = http_gateway
    receiver.status = 302
    with pytest.raises(GatewayError, match="302"):
        HttpJsonGateway(url, "", "", "", 5).send(Sms(id="k", to="1", sender="1", text="x"))
    assert len(receiver.received) == 1  # the POST only, no GET after it


def test_http_gateway_error_is_a_failure_the_worker_retries(http_gateway, world: World, settings) -> None:
    url, receiver = http_gateway
    receiver.status = 503
    settings.LOOPDESK_SMS_GATEWAY, settings.LOOPDESK_SMS_HTTP_URL = "http", url
    with pytest.raises(GatewayError):
        HttpJsonGateway(url, "", "", "", 5).send(Sms(id="k", to="1", sender="1", text="x"))
    s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    OutboxMessage.objects.update(not_before=T0)
    report = worker.deliver_due()
    assert report.failed == 1 and "503" in OutboxMessage.objects.get(channel="sms").last_error


def test_progress_never_quotes_a_committed_time_that_has_passed(world: World) -> None:
    """Overdue (or long on hold): the daily update says the work goes on and a new time will be given."""
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    committed = t.committed_at
    passed = notify.local_date_text(committed)
    assert notify.sweep_progress(now=T0 + dt.timedelta(hours=24)) == 1
    day = committed + dt.timedelta(hours=1)
    assert notify.sweep_progress(now=day) == 1
    texts = list(CustomerMessage.objects.filter(ticket_id=t.pk).order_by("id").values_list("kind", "text"))
    assert texts[-2][0] == "progress" and passed in texts[-2][1]  # still ahead: quoted
    assert texts[-1][0] == "progress_late" and passed not in texts[-1][1] and t.number in texts[-1][1]
    assert "新的答复时间" in texts[-1][1]
    assert notify.sweep_progress(now=day + dt.timedelta(minutes=10)) == 0  # still one progress SMS a day


def _assert_commitment_renewed(t: Ticket, old: dt.datetime, at: dt.datetime, version: int) -> None:
    """A passed committed time renewed at `at`: from the policy, counted from then, in the same version step, as a
    customer-visible event (no internal text), and the customer's commit_changed SMS with the new date."""
    from loopdesk.sla.services import committed_time
    from loopdesk.tickets.choices import EventKind

    assert t.committed_at == committed_time(t.sla_policy, at) > at
    assert t.version == version + 1
    event = t.events.get(kind=EventKind.COMMIT_TIME)
    assert event.visibility == "customer" and event.note == "" and event.data["from"] == old.isoformat()
    message = CustomerMessage.objects.filter(ticket_id=t.pk).latest("id")
    assert message.kind == "commit_changed" and notify.local_date_text(t.committed_at) in message.text


def test_reopen_after_the_committed_time_renews_it_from_the_policy_and_tells_the_customer(world: World) -> None:
    from loopdesk.tickets.choices import EventKind

    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + dt.timedelta(hours=1))
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="ok",
                          now=T0 + dt.timedelta(hours=2))
    t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="ok", now=T0 + dt.timedelta(hours=3))
    old = t.committed_at
    later = old + dt.timedelta(days=2)
    version = t.version
    t = s.do_reopen_ticket(acting_user=world.user("agent"), ticket=t, reason="客户仍无信号", now=later)
    _assert_commitment_renewed(t, old, later, version)
    # Reopened before the committed time: the promise stands.
    u = s.do_create_ticket(acting_user=world.user("agent"), now=T0, **world.ticket_kwargs())
    u = s.do_answer_customer(acting_user=world.user("agent"), ticket=u, answer="已解决", resolution="已解决",
                             now=T0 + dt.timedelta(minutes=5))
    kept = u.committed_at
    u = s.do_reopen_ticket(acting_user=world.user("agent"), ticket=u, reason="客户再来电",
                           now=T0 + dt.timedelta(minutes=10))
    assert u.committed_at == kept and not u.events.filter(kind=EventKind.COMMIT_TIME).exists()


@pytest.mark.parametrize("way", ["resume", "provide_info"])
def test_coming_back_from_a_wait_after_the_committed_time_renews_it_and_tells_the_customer(
        world: World, way: str) -> None:
    """Off hold (or information supplied after a long wait) once the committed time has passed: as at a reopening,
    a new committed time from the policy, counted from then, and the customer's commit_changed SMS."""
    specialist, agent = world.user("specialist"), world.user("agent")
    t = s.do_create_ticket(acting_user=agent, now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=specialist, ticket=t, now=T0 + dt.timedelta(hours=1))
    if way == "resume":
        t = s.do_request_hold(acting_user=specialist, ticket=t, reason="待建基站", now=T0 + dt.timedelta(hours=2))
        t = s.do_approve_hold(acting_user=world.user("head"), ticket=t, now=T0 + dt.timedelta(hours=3))
    else:
        t = s.do_request_info(acting_user=specialist, ticket=t, question="具体楼层？", now=T0 + dt.timedelta(hours=2))
    old = t.committed_at
    later = old + dt.timedelta(days=10)
    version = t.version
    if way == "resume":
        t = s.do_resume_ticket(acting_user=specialist, ticket=t, now=later)
    else:
        t = s.do_provide_info(acting_user=agent, ticket=t, info="18楼", now=later)
    _assert_commitment_renewed(t, old, later, version)


def test_coming_back_from_a_short_hold_keeps_the_committed_time(world: World) -> None:
    from loopdesk.tickets.choices import EventKind

    specialist = world.user("specialist")
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True, **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=specialist, ticket=t, now=T0 + dt.timedelta(hours=1))
    t = s.do_request_hold(acting_user=specialist, ticket=t, reason="待建基站", now=T0 + dt.timedelta(hours=2))
    t = s.do_approve_hold(acting_user=world.user("head"), ticket=t, now=T0 + dt.timedelta(hours=3))
    kept = t.committed_at
    t = s.do_resume_ticket(acting_user=specialist, ticket=t, now=T0 + dt.timedelta(hours=4))
    assert t.committed_at == kept and not t.events.filter(kind=EventKind.COMMIT_TIME).exists()

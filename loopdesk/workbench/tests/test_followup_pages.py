"""Follow-up in the workbench: callbacks (回访), escalations, staff alerts, window surveys, SMS templates, spam."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loopdesk.audit.models import AuditLog
from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.followup.models import CallbackStatus, CallbackTask, Escalation, FollowupPolicy, StaffAlert
from loopdesk.notify.models import CustomerMessage, MessageTemplate
from loopdesk.notify.services import do_opt_out
from loopdesk.surveys.models import Survey
from loopdesk.surveys.services import handle_inbound
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket
from loopdesk.workbench.tests.test_sms_template_scope import province_supervisor

H = dt.timedelta(hours=1)


def _replied(world: World, answered: bool = True) -> Ticket:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    t = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已调整天线", now=T0 + 2 * H)
    if answered:
        t = s.do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已告知客户", now=T0 + 3 * H)
    return t


def _count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _assert_query_count_flat(client: Any, url: str, add_rows: Callable[[int], Any], more: int) -> None:
    """The page makes as many queries with `more` further rows as with one (no query per row)."""
    add_rows(1)
    few = _count_queries(client, url)
    add_rows(more)
    assert _count_queries(client, url) == few


# --- callbacks ------------------------------------------------------------------------------------------------


def test_my_callbacks_lists_the_agents_open_callbacks_overdue_first(world: World, client_for: Any) -> None:
    first, second = _replied(world), _replied(world)
    CallbackTask.objects.filter(ticket=first).update(due_at=timezone.now() + 10 * H)
    CallbackTask.objects.filter(ticket=second).update(due_at=timezone.now() - H)  # overdue
    page = client_for("agent").get("/callbacks/")
    assert page.status_code == 200
    numbers = [task.ticket.number for task, _badge, _ready in page.context["rows"]]
    assert numbers == [second.number, first.number]
    html = page.content.decode()
    assert "sla-overdue" in html and 'data-action="callback"' in html
    assert client_for("agent").get("/").context["followup_cards"][0].count == 2


@pytest.mark.parametrize("role", ["specialist", "head", "auditor"])
def test_callbacks_page_is_forbidden_and_hidden_for_roles_that_make_no_callbacks(
        world: World, client_for: Any, role: str) -> None:
    client = client_for(role)
    assert client.get("/callbacks/").status_code == 403
    assert 'id="nav-callbacks"' not in client.get("/").content.decode()


def test_recording_a_callback_through_the_view_completes_the_task_and_the_ticket(
        world: World, client_for: Any) -> None:
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    page = client_for("agent").get(f"/tickets/{t.pk}/").content.decode()
    assert f"/callbacks/{task.pk}/record/" in page and 'id="callback-due"' in page
    response = client_for("agent").post(f"/callbacks/{task.pk}/record/", {
        "verdict": "satisfied", "note": "客户表示满意", "version": t.version}, follow=True)
    assert response.status_code == 200
    task.refresh_from_db()
    t.refresh_from_db()
    assert task.status == CallbackStatus.DONE and task.verdict == "satisfied"
    assert t.status == "called_back" and t.callback_verdict == "satisfied"
    html = response.content.decode()
    assert "Callback recorded: the customer is satisfied." in html
    assert 'data-kind="callback"' in html and "Customer's verdict:</strong> Satisfied" in html


def test_dissatisfied_callback_reopens_per_policy_and_says_so(world: World, client_for: Any) -> None:
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    response = client_for("agent").post(f"/callbacks/{task.pk}/record/", {
        "verdict": "dissatisfied", "note": "信号仍然很差", "version": t.version}, follow=True)
    t.refresh_from_db()
    assert t.status == "new" and t.reopen_count == 1
    assert "is reopened" in response.content.decode()


def test_dissatisfied_callback_escalates_when_the_policy_says_so(world: World, client_for: Any) -> None:
    FollowupPolicy.objects.create(dissatisfied_action="escalate")
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    response = client_for("agent").post(f"/callbacks/{task.pk}/record/", {
        "verdict": "dissatisfied", "note": "态度不好", "version": t.version}, follow=True)
    assert Escalation.objects.filter(ticket=t, reason="dissatisfied").exists()
    assert "escalated to the service supervisors" in response.content.decode()


@pytest.mark.parametrize("data, field", [
    ({"note": "没选"}, "verdict"),
    ({"verdict": "dissatisfied", "note": "  "}, "note"),
    ({"verdict": "maybe", "note": "x"}, "verdict"),
])
def test_bad_callback_input_shows_a_field_error_keeps_the_text_and_changes_nothing(
        world: World, client_for: Any, data: dict[str, str], field: str) -> None:
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    response = client_for("agent", language="zh-hans").post(
        f"/callbacks/{task.pk}/record/", {**data, "version": t.version}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    html = response.content.decode()
    assert 'class="field-error"' in html and data["note"].strip() in html
    assert "记录回访" in html  # the dialog speaks the user's language
    task.refresh_from_db()
    t.refresh_from_db()
    assert task.status == CallbackStatus.OPEN and t.status == "answered"


def test_callback_before_the_customer_is_answered_is_refused_clearly(world: World, client_for: Any) -> None:
    t = _replied(world, answered=False)
    task = CallbackTask.objects.get(ticket=t)
    response = client_for("agent").post(f"/callbacks/{task.pk}/record/", {"verdict": "satisfied",
                                                                          "version": t.version})
    assert response.status_code == 409 and "Answer the customer first" in response.content.decode()
    task.refresh_from_db()
    assert task.status == CallbackStatus.OPEN


def test_stale_callback_form_changes_nothing(world: World, client_for: Any) -> None:
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    response = client_for("agent").post(f"/callbacks/{task.pk}/record/", {"verdict": "satisfied",
                                                                          "version": t.version - 1})
    assert response.status_code == 409 and response.context["form"].non_field_errors()  # a conflict, as the API
    task.refresh_from_db()
    assert task.status == CallbackStatus.OPEN


def test_other_region_and_handler_cannot_record_the_callback(world: World, client_for: Any) -> None:
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    assert client_for("zh_agent").get(f"/callbacks/{task.pk}/record/").status_code == 404
    assert client_for("specialist").post(f"/callbacks/{task.pk}/record/", {
        "verdict": "satisfied", "version": t.version}).status_code == 403
    task.refresh_from_db()
    assert task.status == CallbackStatus.OPEN


def test_the_ticket_pages_generic_callback_action_applies_the_dissatisfied_policy_too(
        world: World, client_for: Any) -> None:
    t = _replied(world)
    client = client_for("agent")
    dialog = client.get(f"/tickets/{t.pk}/act/callback/", headers={"HX-Request": "true"})
    assert 'id="callback-dialog"' in dialog.content.decode()
    client.post(f"/tickets/{t.pk}/act/callback/", {"verdict": "dissatisfied", "note": "仍无信号",
                                                   "version": t.version})
    t.refresh_from_db()
    assert t.status == "new" and t.reopen_count == 1  # reopened per policy, not merely "called back"


def test_callback_list_query_count_does_not_grow_with_rows(world: World, client_for: Any) -> None:
    _assert_query_count_flat(client_for("agent"), "/callbacks/", lambda n: [_replied(world) for _ in range(n)], 4)


# --- escalations ----------------------------------------------------------------------------------------------


def _escalated(world: World) -> Escalation:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    f.sweep_sla(now=t.problem_at)
    return Escalation.objects.get(ticket=t)


def test_supervisor_sees_open_escalations_and_resolves_one_with_a_note(world: World, client_for: Any) -> None:
    escalation = _escalated(world)
    client = client_for("supervisor")
    page = client.get("/escalations/")
    assert page.status_code == 200 and escalation.ticket.number in page.content.decode()
    assert "Problem ticket (past its problem limit)" in page.content.decode()
    assert 'id="board-escalations"' in client.get("/board/").content.decode()
    response = client.post(f"/escalations/{escalation.pk}/resolve/", {"note": " "}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and response.context["form"].errors["note"]
    escalation.refresh_from_db()
    assert escalation.resolved_at is None
    response = client.post(f"/escalations/{escalation.pk}/resolve/", {"note": "已督办网络部"})
    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.resolved_by_id == world.users["supervisor"].pk and escalation.resolution_note == "已督办网络部"
    assert f'data-escalation="{escalation.pk}"' not in client.get("/escalations/").content.decode()


def test_an_escalation_resolved_meanwhile_by_another_supervisor_is_not_overwritten(
        world: World, client_for: Any) -> None:
    escalation = _escalated(world)
    f.do_resolve_escalation(acting_user=world.user("admin"), escalation=escalation, note="管理员已处理")
    response = client_for("supervisor").post(f"/escalations/{escalation.pk}/resolve/", {"note": "我也处理了"})
    assert response.status_code == 422 and response.context["form"].errors["note"]
    escalation.refresh_from_db()
    assert escalation.resolution_note == "管理员已处理" and escalation.resolved_by_id == world.users["admin"].pk


def test_escalation_list_query_count_does_not_grow_with_rows(world: World, client_for: Any) -> None:
    _assert_query_count_flat(client_for("supervisor"), "/escalations/",
                             lambda n: [_escalated(world) for _ in range(n)], 3)


@pytest.mark.parametrize("role", ["agent", "specialist"])  # an auditor reads it: test_auditor_reads_supervision
def test_escalations_are_forbidden_and_hidden_for_other_roles(world: World, client_for: Any, role: str) -> None:
    escalation = _escalated(world)
    client = client_for(role)
    assert client.get("/escalations/").status_code == 403
    assert client.post(f"/escalations/{escalation.pk}/resolve/", {"note": "x"}).status_code == 403
    assert 'id="nav-escalations"' not in client.get("/").content.decode()


# --- staff alerts ---------------------------------------------------------------------------------------------


def _alerts_for(world: World, key: str, n: int) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    for i in range(n):
        StaffAlert.objects.create(user=world.users[key], ticket=t, kind="due_soon", occasion=f"t:{t.pk}:{i}",
                                  message=f"{t.number} 即将到期", created_at=timezone.now())


def test_alert_count_in_the_top_bar_and_mark_one_then_all_read(world: World, client_for: Any) -> None:
    _alerts_for(world, "specialist", 3)
    _alerts_for(world, "agent", 2)  # someone else's: never counted, never marked
    client = client_for("specialist")
    assert 'id="alerts-unread"' in client.get("/").content.decode()
    assert client.get("/").context["unread_alerts"] == 3
    page = client.get("/alerts/")
    assert page.status_code == 200 and len(page.context["page"]) == 3
    first = StaffAlert.objects.filter(user=world.users["specialist"]).first()
    assert client.post("/alerts/read/", {"id": first.pk}).status_code == 302
    assert client.get("/").context["unread_alerts"] == 2
    others = StaffAlert.objects.filter(user=world.users["agent"]).first()
    client.post("/alerts/read/", {"id": others.pk})
    client.post("/alerts/read/", {"all": "1"})
    assert 'id="alerts-unread"' not in client.get("/").content.decode()
    assert StaffAlert.objects.filter(user=world.users["agent"], read_at=None).count() == 2


def test_opening_an_unread_alerts_work_order_marks_it_read(world: World, client_for: Any) -> None:
    _alerts_for(world, "specialist", 1)
    alert = StaffAlert.objects.get(user=world.users["specialist"])
    client = client_for("specialist")
    assert f'data-open-alert="{alert.pk}"' in client.get("/alerts/").content.decode()
    response = client.post("/alerts/read/", {"id": alert.pk, "next": f"/tickets/{alert.ticket_id}/"})
    assert response.status_code == 302 and response["Location"] == f"/tickets/{alert.ticket_id}/"
    alert.refresh_from_db()
    assert alert.read_at is not None
    response = client.post("/alerts/read/", {"id": alert.pk, "next": "https://evil.example/"})
    assert response["Location"] == "/alerts/"


def test_alert_list_query_count_does_not_grow_with_rows(world: World, client_for: Any) -> None:
    _assert_query_count_flat(client_for("specialist"), "/alerts/", lambda n: _alerts_for(world, "specialist", n), 6)


# --- window-service survey ------------------------------------------------------------------------------------


def test_window_survey_is_sent_once_per_contact_from_the_desk(world: World, client_for: Any) -> None:
    client = client_for("clerk")
    assert 'id="send-window-survey"' in client.get("/desk/?caller=13912340000").content.decode()
    response = client.post("/desk/window-survey/", {"caller": "13912340000"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'data-level="success"' in response.content.decode()
    # Pressing the button queues the SMS; it has not reached the customer yet (now, or after the quiet hours)
    assert "Satisfaction SMS queued: it goes out" in response.content.decode()
    survey = Survey.objects.get(msisdn="13912340000")
    assert survey.kind == "window" and survey.channel == "hall"
    message = CustomerMessage.objects.get(msisdn="13912340000", kind="window_survey")
    assert message.sender == settings.LOOPDESK_SMS_SURVEY_PORT  # seed 002's survey port (10086700)
    assert "新会渠道室" in message.text  # the hall that served the customer
    again = client.post("/desk/window-survey/", {"caller": "13912340000"}, headers={"HX-Request": "true"})
    # "Already sent", or "Already asked … still waiting" while quiet hours hold the SMS (the test's clock is real)
    assert "for this contact at" in again.content.decode() and "asked only once" in again.content.decode()
    assert Survey.objects.filter(msisdn="13912340000").count() == 1


def test_window_survey_is_refused_for_an_opted_out_number_and_changes_nothing(
        world: World, client_for: Any) -> None:
    do_opt_out(msisdn="13912340001", source="sms")
    response = client_for("agent").post("/desk/window-survey/", {"caller": "13912340001"}, follow=True)
    assert "opted out" in response.content.decode()
    assert not Survey.objects.filter(msisdn="13912340001").exists()


def test_window_survey_bad_number_is_a_clear_error(world: World, client_for: Any) -> None:
    response = client_for("agent", language="zh-hans").post("/desk/window-survey/", {"caller": "123"},
                                                            headers={"HX-Request": "true"})
    assert response.status_code == 422 and 'data-level="error"' in response.content.decode()
    assert not Survey.objects.exists()
    assert client_for("specialist").post("/desk/window-survey/", {"caller": "13912340000"}).status_code == 403


# --- SMS templates --------------------------------------------------------------------------------------------


def test_supervisor_edits_a_template_with_a_preview_and_the_change_is_audited(
        world: World, client_for: Any) -> None:
    client = client_for(province_supervisor(world))  # the templates serve every city: a city's supervisor reads them
    assert client.get("/sms-templates/").status_code == 200
    page = client.get("/sms-templates/ack/")
    assert "{committed_date}" in page.content.decode()
    preview = client.post("/sms-templates/ack/preview/", {"text": "工单{number}将于{committed_date}前答复"})
    assert preview.status_code == 200 and "JM-20261102-000123" in preview.content.decode()
    text = "【中国移动】工单{number}已受理，{handler_unit}将于{committed_date}前答复您。"
    seen = page.context["form"].initial["seen"]
    response = client.post("/sms-templates/ack/", {"text": text, "is_active": "on", "seen": seen})
    assert response.status_code == 302
    template = MessageTemplate.objects.get(kind="ack")
    assert template.text == text and template.updated_by_id == world.users["gd_supervisor"].pk
    assert AuditLog.objects.filter(action="notify.template_update", object_id=str(template.pk)).exists()


def test_template_preview_is_exactly_the_sms_sent_with_the_same_values(world: World, client_for: Any) -> None:
    """The preview fills the text with the function that fills a real SMS, defaults (hotline, instructions)
    included, so what the supervisor reads is what the customer gets."""
    from loopdesk.notify.services import queue_sms
    from loopdesk.workbench.views.messaging import sample_context

    text = "工单{number}：{survey_instructions} 链接{survey_link}（{valid_hours}小时内有效）{{热线}}{hotline}"
    preview = client_for("supervisor").post("/sms-templates/survey/preview/", {"text": text})
    assert preview.status_code == 200
    shown = preview.context["preview"]["text"]
    MessageTemplate.objects.filter(kind="survey").update(text=text)
    sent = queue_sms(msisdn="13800138000", kind="survey", dedupe_key="t:preview", context=sample_context(T0),
                     now=T0)
    assert sent is not None and sent.text == shown
    assert settings.LOOPDESK_SMS_SENDER in shown and "{热线}" in shown and "{" not in shown.replace("{热线}", "")


def test_template_with_an_unknown_variable_is_refused_on_the_field_and_changes_nothing(
        world: World, client_for: Any) -> None:
    client = client_for(province_supervisor(world), language="zh-hans")
    text = "工单{number}请联系{agent_name}"
    before = MessageTemplate.objects.get(kind="ack")
    seen = client.get("/sms-templates/ack/").context["form"].initial["seen"]
    response = client.post("/sms-templates/ack/", {"text": text, "is_active": "on", "seen": seen})
    assert response.status_code == 422
    errors = response.context["form"].errors["text"]
    assert errors and "{agent_name}" in errors[0]
    assert text in response.content.decode()  # the form keeps what was typed
    after = MessageTemplate.objects.get(kind="ack")
    assert (after.text, after.updated_at) == (before.text, before.updated_at)
    preview = client.post("/sms-templates/ack/preview/", {"text": text})
    assert preview.status_code == 422 and "{agent_name}" in preview.content.decode()


def test_template_saved_meanwhile_by_someone_else_is_not_overwritten(world: World, client_for: Any) -> None:
    client = client_for(province_supervisor(world))
    seen = client.get("/sms-templates/ack/").context["form"].initial["seen"]
    other = MessageTemplate.objects.get(kind="ack")
    other.text = "别人的版本{number}"
    other.save()
    response = client.post("/sms-templates/ack/", {"text": "我的版本{number}", "is_active": "on", "seen": seen})
    assert response.status_code == 422 and response.context["form"].non_field_errors()
    assert MessageTemplate.objects.get(kind="ack").text == "别人的版本{number}"


@pytest.mark.parametrize("role", ["agent", "specialist", "dispatcher"])
def test_templates_and_spam_pages_are_forbidden_for_other_roles(world: World, client_for: Any, role: str) -> None:
    client = client_for(role)
    assert client.get("/sms-templates/").status_code == 403
    assert client.post("/sms-templates/ack/", {"text": "x"}).status_code == 403
    assert client.get("/spam/").status_code == 403


# --- spam reports ---------------------------------------------------------------------------------------------


def _report(gateway_id: str, reporter: str, text: str, at: dt.datetime) -> None:
    handle_inbound(gateway_id=gateway_id, sender=reporter, recipient="10086999", text=text, received_at=at)


def test_spam_reports_are_listed_by_number_newest_first_with_masked_reporters(
        world: World, client_for: Any, monkeypatch: Any) -> None:
    _report("g1", "13900000001", "10659001 中奖了请回电", T0)
    _report("g2", "13900000002", "10659001 再次中奖", T0 + H)
    _report("g3", "13900000003", "10659002 贷款广告", T0 + 2 * H)
    supervisor = client_for("supervisor")
    page = supervisor.get("/spam/")
    rows = page.context["rows"]
    assert [(r.number, r.report_count) for r in rows] == [("10659002", 1), ("10659001", 2)]
    assert rows[1].sample_content == "10659001 再次中奖"
    html = page.content.decode()
    assert "139****0002" in html and "13900000002" not in html and "Reveal (audited)" in html
    assert "Reveal (audited)" not in client_for("auditor").get("/spam/").content.decode()
    revealed = supervisor.post(f"/spam/{rows[1].pk}/reveal/")
    assert revealed.content.decode() == '<span class="revealed">13900000002</span>'
    assert AuditLog.objects.filter(action="spam.reveal_reporter").count() == 1
    assert client_for("auditor").post(f"/spam/{rows[1].pk}/reveal/").status_code == 403
    monkeypatch.setattr("loopdesk.workbench.views.messaging.SPAM_PAGE_SIZE", 1)
    first = supervisor.get("/spam/")
    assert [r.number for r in first.context["rows"]] == ["10659002"]
    second = supervisor.get(f"/spam/?after={first.context['next_cursor']}")
    assert [r.number for r in second.context["rows"]] == ["10659001"] and not second.context["next_cursor"]


def test_a_read_only_auditor_posting_a_callback_form_gets_a_403_whatever_its_state(
        world: World, client_for: Any) -> None:
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    auditor = client_for("auditor")
    form = {"verdict": "satisfied", "version": t.version}
    assert auditor.post(f"/callbacks/{task.pk}/record/", form).status_code == 403
    client_for("agent").post(f"/callbacks/{task.pk}/record/", form)
    task.refresh_from_db()
    assert task.status == CallbackStatus.DONE
    # Recorded meanwhile: still a 403 for the auditor, not "already recorded" (which reads as if they might).
    assert auditor.post(f"/callbacks/{task.pk}/record/", form).status_code == 403


def test_a_callback_form_without_a_usable_version_asks_to_reload(world: World, client_for: Any) -> None:
    t = _replied(world)
    task = CallbackTask.objects.get(ticket=t)
    for version in ("", "x"):
        response = client_for("agent").post(f"/callbacks/{task.pk}/record/", {"verdict": "satisfied",
                                                                              "version": version})
        assert response.status_code == 422
        assert "reload the page" in response.content.decode()
    task.refresh_from_db()
    assert task.status == CallbackStatus.OPEN

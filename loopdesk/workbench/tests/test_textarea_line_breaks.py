"""The workbench's text boxes allow as many characters as their limit, counted as the browser counts them (a line
break is one), but a form posts each line break as CR LF (two): a multi-line SMS template, callback note or work-order
note within the box's limit was refused as too long. Line breaks now count once (and are stored as one), in the
workbench forms' shared text field and in the work-order services' text check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loopdesk.conftest import World
from loopdesk.followup.models import CallbackTask
from loopdesk.notify.models import MAX_SMS_TEXT, MessageTemplate
from loopdesk.tickets.models import Ticket, TicketEvent
from loopdesk.tickets.services import MAX_DESCRIPTION, MAX_NOTE
from loopdesk.workbench.tests.test_sms_template_scope import province_supervisor

H = dt.timedelta(hours=1)


def _lines(first: str, limit: int) -> str:
    """A multi-line text of exactly `limit` characters as a browser counts them, posted with CR LF."""
    lines = [first]
    while sum(map(len, lines)) + len(lines) - 1 + 11 <= limit:
        lines.append("信号时好时坏，请尽快处理")  # 12 with its line break
    text = "\n".join(lines)
    text += "好" * (limit - len(text))
    assert len(text) == limit and text.count("\n") > 10
    return text.replace("\n", "\r\n")


def test_a_multi_line_sms_template_within_the_limit_is_saved(world: World, client_for: Any) -> None:
    client = client_for(province_supervisor(world))  # a city's supervisor only reads the templates
    seen = client.get("/sms-templates/ack/").context["form"].initial["seen"]
    text = _lines("工单{number}已受理，{handler_unit}将于{committed_date}前答复您。", MAX_SMS_TEXT)
    response = client.post("/sms-templates/ack/", {"text": text, "is_active": "on", "seen": seen})
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert MessageTemplate.objects.get(kind="ack").text == text.replace("\r\n", "\n")


def _answered(world: World) -> Ticket:
    return world.replied_ticket(answered=True)


def test_a_multi_line_callback_note_within_the_limit_is_recorded(world: World, client_for: Any) -> None:
    t = _answered(world)
    task = CallbackTask.objects.get(ticket=t)
    note = _lines("客户说：", MAX_NOTE)
    response = client_for("agent").post(f"/callbacks/{task.pk}/record/", {"verdict": "dissatisfied", "note": note,
                                                                          "version": t.version})
    assert response.status_code in (200, 302), response.content.decode()[-3000:]
    assert CallbackTask.objects.get(pk=task.pk).note == note.replace("\r\n", "\n")


def test_a_multi_line_work_order_note_within_the_limit_is_added(world: World, client_for: Any) -> None:
    t = _answered(world)
    text = _lines("现场记录：", MAX_DESCRIPTION)
    response = client_for("agent").post(f"/tickets/{t.pk}/note/", {"text": text})
    assert response.status_code in (200, 302), response.content.decode()[-3000:]
    assert TicketEvent.objects.filter(ticket=t, kind="note").get().note == text.replace("\r\n", "\n")


def test_the_template_preview_counts_a_line_break_once(world: World, client_for: Any) -> None:
    text = "工单{number}已受理。\r\n" + "好" * 60
    preview = client_for("supervisor").post("/sms-templates/ack/preview/", {"text": text})
    assert preview.status_code == 200
    shown = preview.context["preview"]
    assert "\r" not in shown["text"]
    assert shown["length"] == len(shown["text"]) == len("工单JM-20261102-000123已受理。\n") + 60

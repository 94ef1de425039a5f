"""The callback (回访) in a real browser: the agent opens "My callbacks", records the customer's verdict in the
dialog (a missing reason first shows a field error), and the ticket page shows the result in the timeline.

Reuses the Chromium fixture and helpers of test_browser.py. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from playwright.sync_api import Browser, expect

from loopdesk.conftest import T0
from loopdesk.followup.models import CallbackStatus, CallbackTask
from loopdesk.tickets import services as s
from loopdesk.tickets.choices import Status
from loopdesk.workbench.tests.test_browser import browser, shot, sign_in  # noqa: F401  (browser is a fixture)

H = dt.timedelta(hours=1)


def test_agent_records_a_callback_outcome_in_the_browser(world: Any, live_server: Any, browser: Browser) -> None:  # noqa: F811
    ticket = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                                dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    ticket = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=ticket, now=T0 + H)
    ticket = s.do_reply_ticket(acting_user=world.user("specialist"), ticket=ticket, resolution="已调整天线",
                               now=T0 + 2 * H)
    s.do_answer_customer(acting_user=world.user("agent"), ticket=ticket, answer="已告知客户", now=T0 + 3 * H)
    task = CallbackTask.objects.get(ticket=ticket)

    agent = sign_in(browser, live_server.url, "agent", "pw-agent", "zh-hans")
    agent.click("#nav-callbacks")
    row = agent.locator(f'#callbacks tr[data-task="{task.pk}"]')
    expect(row.locator(".badge")).to_have_class("badge sla-overdue")
    row.locator('[data-action="callback"]').click()
    dialog = agent.locator("#action-dialog")
    expect(dialog).to_be_visible()
    # Not satisfied without saying why: refused on the field, in Chinese, and the choice is kept.
    dialog.locator('input[name="verdict"][value="dissatisfied"]').check()
    dialog.locator('button[data-confirm-action="callback"]').click()
    expect(dialog.locator(".field-error")).to_contain_text("不满意的原因")
    expect(dialog.locator('input[name="verdict"][value="dissatisfied"]')).to_be_checked()
    shot(agent, "zh_hans_callback_dialog_error")
    dialog.locator('input[name="verdict"][value="satisfied"]').check()
    dialog.locator("textarea[name=note]").fill("客户表示信号已恢复，满意。")
    with agent.expect_navigation():
        dialog.locator('button[data-confirm-action="callback"]').click()
    assert agent.url.endswith(f"/tickets/{ticket.pk}/")
    expect(agent.locator("#ticket-status")).to_have_class(f"status status-{Status.CALLED_BACK}")
    last = agent.locator("#timeline > li").last
    expect(last).to_have_attribute("data-kind", "callback")
    expect(last.locator(".verdict")).to_contain_text("满意")
    expect(agent.locator(".messages")).to_contain_text("回访已记录")
    shot(agent, "zh_hans_callback_recorded")
    task.refresh_from_db()
    assert task.status == CallbackStatus.DONE and task.verdict == "satisfied"
    agent.context.close()

"""The closed loop in a real browser (Playwright driving Debian's Chromium against Django's live server).

An agent screen-pops a caller, creates and dispatches a complaint; a specialist accepts and replies; the
agent answers the customer and closes. Status, timeline and SLA badge are checked at every step; the
same flow runs once in Chinese and once in English. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect, sync_playwright

from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket

CHROMIUM = os.environ.get("LOOPDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
SHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
CALLER = "13912345678"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser: Browser, base: str, username: str, password: str, language: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale=language)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button.primary")
    expect(page.locator(".topbar")).to_be_visible()
    return page


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def run_action(page: Page, action: str, fields: dict[str, str] | None = None) -> None:
    page.click(f'[data-action="{action}"]')
    dialog = page.locator("#action-dialog")
    expect(dialog).to_be_visible()
    for selector, value in (fields or {}).items():
        dialog.locator(selector).fill(value)
    with page.expect_navigation():
        dialog.locator(f'button[data-confirm-action="{action}"]').click()


def expect_state(page: Page, status: str, kinds: list[str], sla: str) -> None:
    expect(page.locator("#ticket-status")).to_have_class(f"status status-{status}")
    expect(page.locator("#timeline > li")).to_have_count(len(kinds))
    assert page.locator("#timeline > li").evaluate_all("els => els.map(e => e.dataset.kind)") == kinds
    expect(page.locator("#ticket-sla .badge")).to_have_class(f"badge sla-{sla}")


def closed_loop(world: Any, browser: Browser, base: str, language: str) -> None:
    for key in ("agent", "specialist"):
        world.users[key].language = language
        world.users[key].save(update_fields=["language"])
    tag = language.replace("-", "_")

    agent = sign_in(browser, base, "agent", "pw-agent", language)
    agent.goto(f"{base}/desk/?caller={CALLER}")
    search = agent.locator("#id_category_search")
    expect(search).to_be_focused()
    search.fill("室内")
    search.press("Enter")
    expect(agent.locator("#preview-unit")).to_contain_text("netmaint" if language == "en" else "网络维护中心")
    expect(agent.locator("#preview-committed")).to_be_visible()
    agent.fill("#id_description", "客户反映家中室内无信号，已持续三天。")
    shot(agent, f"{tag}_1_desk")
    with agent.expect_navigation():
        agent.click("#create-dispatch")
    ticket = Ticket.objects.get(customer__msisdn=CALLER)
    assert agent.url.endswith(f"/tickets/{ticket.pk}/")
    expect_state(agent, Status.DISPATCHED, ["create", "dispatch"], "normal")
    expect(agent.locator("#current-handler")).to_contain_text("netmaint" if language == "en" else "网络维护中心")
    # The agent may not accept for the department: the action is not offered.
    expect(agent.locator('[data-action="accept"]')).to_have_count(0)
    expect(agent.locator(".masked")).to_contain_text("139****5678")
    shot(agent, f"{tag}_2_ticket_dispatched")

    specialist = sign_in(browser, base, "specialist", "pw-specialist", language)
    # The unit's queue: the row comes with the page, the tabs' counts once it has loaded (htmx).
    specialist.goto(f"{base}/queues/unit/")
    expect(specialist.locator("table.tickets")).to_contain_text(ticket.number)
    expect(specialist.locator('#queue-tabs a[aria-current="page"] .count')).to_have_text("1")
    specialist.goto(f"{base}/tickets/{ticket.pk}/")
    expect(specialist.locator("#reveal")).to_have_count(0)  # specialists never see the full number
    run_action(specialist, "accept")
    expect_state(specialist, Status.IN_PROGRESS, ["create", "dispatch", "accept"], "normal")
    # Bad input: an empty resolution is refused in the dialog, with the error on the field.
    specialist.click('[data-action="reply"]')
    dialog = specialist.locator("#action-dialog")
    dialog.locator('button[data-confirm-action="reply"]').click()
    expect(dialog.locator(".field-error")).to_be_visible()
    shot(specialist, f"{tag}_3_reply_dialog_error")
    dialog.locator("textarea[name=resolution]").fill("已调整附近基站天线方向，室内信号恢复。")
    with specialist.expect_navigation():
        dialog.locator('button[data-confirm-action="reply"]').click()
    expect_state(specialist, Status.REPLIED, ["create", "dispatch", "accept", "reply"], "normal")

    agent.reload()
    expect_state(agent, Status.REPLIED, ["create", "dispatch", "accept", "reply"], "normal")
    run_action(agent, "answer", {"textarea[name=answer]": "已为您优化信号，请再试。"})
    expect_state(agent, Status.ANSWERED, ["create", "dispatch", "accept", "reply", "answer"], "normal")
    expect(agent.locator('#timeline > li[data-kind="answer"] .vis-customer-tag')).to_be_visible()
    run_action(agent, "close")
    expect_state(agent, Status.CLOSED, ["create", "dispatch", "accept", "reply", "answer", "close"], "done")
    shot(agent, f"{tag}_4_closed")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.first_responder_id == world.users["agent"].pk
    agent.context.close()
    specialist.context.close()


def test_closed_loop_in_chinese(world: Any, live_server: Any, browser: Browser) -> None:
    closed_loop(world, browser, live_server.url, "zh-hans")


def test_closed_loop_in_english(world: Any, live_server: Any, browser: Browser) -> None:
    closed_loop(world, browser, live_server.url, "en")

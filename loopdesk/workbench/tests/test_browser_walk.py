"""Defects found walking the web UI in a real browser (Playwright, Debian's Chromium), each the shortest path that
shows it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from loopdesk.tickets.services import do_create_ticket
from loopdesk.workbench.tests.test_browser import CALLER, browser, sign_in  # noqa: F401 - the module-scoped fixture


def test_desk_route_preview_sends_only_what_routing_reads(world: Any, live_server: Any,
                                                          browser: Browser) -> None:  # noqa: F811
    # The preview is a GET fired on every change of the desk form: with the whole form in its URL, a long
    # description (a few hundred Chinese characters, 9 bytes each once encoded) overflowed gunicorn's 4 KB request
    # line (414, "something went wrong") and put the customer's complaint and the CSRF token into access logs.
    page = sign_in(browser, live_server.url, "agent", "pw-agent", "zh-hans")
    page.goto(f"{live_server.url}/desk/?caller={CALLER}")
    page.locator("#id_category_search").fill("室内")
    page.locator("#id_category_search").press("Enter")
    expect(page.locator("#preview-unit")).to_contain_text("网络维护中心")
    page.fill("#id_description", "客户反映家中室内无信号，" * 40)
    with page.expect_response(lambda r: "/desk/preview/" in r.url) as preview:
        page.locator("#id_description").press("Tab")  # the description's change event asks for a preview
    url = preview.value.url
    assert "description=" not in url and "csrfmiddlewaretoken=" not in url, url
    assert preview.value.status == 200 and "category=" in url and len(url) < 400, url
    expect(page.locator("#preview-unit")).to_contain_text("网络维护中心")
    page.context.close()



def test_no_page_logs_a_missing_favicon(world: Any, live_server: Any, browser: Browser) -> None:  # noqa: F811
    # Chromium asks for /favicon.ico where a page names no icon (the admin, the API docs): a 404 and a console
    # error on the first page of every session.
    page = browser.new_context(locale="en").new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/", wait_until="networkidle")
    page.wait_for_timeout(300)
    assert errors == []
    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
    page.context.close()


def test_the_board_fits_the_window(world: Any, live_server: Any, browser: Browser) -> None:  # noqa: F811
    # The by-branch table's unwrapped column titles in the board's narrow column pushed the page sideways.
    for language in ("en", "zh-hans"):
        world.users["supervisor"].language = language
        world.users["supervisor"].save(update_fields=["language"])
        page = sign_in(browser, live_server.url, "supervisor", "pw-supervisor", language)
        page.goto(f"{live_server.url}/board/")
        expect(page.locator("#by-branch")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), language
        page.context.close()


def test_the_ticket_page_and_the_desk_fit_the_window(world: Any, live_server: Any,
                                                    browser: Browser) -> None:  # noqa: F811
    # The hidden legends of the note's and the desk's radio rows (screen-reader text) stuck out to the right of the
    # page: a horizontal scroll bar on every ticket page.
    ticket = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    page = sign_in(browser, live_server.url, "agent", "pw-agent", "en")
    for path in (f"/tickets/{ticket.pk}/", f"/desk/?caller={CALLER}"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("legend").first).to_be_attached()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    page.context.close()

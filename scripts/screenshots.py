"""Screenshots of the main pages of a running LoopDesk, taken in a real browser, and a check that none fails.

    python scripts/screenshots.py --base http://127.0.0.1:8000 --out artifacts/screenshots/demo

Run it against the demo (`bash scripts/demo.sh`) with the same settings (LOOPDESK_VAR_DIR / DATABASE_URL), since it
reads the database once to pick a caller with history and a ticket with a long timeline. It signs in as the demo
users (password `loopdesk-demo`) in Chromium (Debian's /usr/bin/chromium, driven by Playwright), opens each page in
Chinese (the default) and some in English, and saves one PNG per page. It exits 1 if a page answers an error status
or shows no page content, so CI uses it as a smoke test of the demo in a real browser; the PNGs are CI artefacts and
the source of the pictures in README.md and docs/workbench.md (`--out docs/img`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = os.environ.get("LOOPDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "loopdesk-demo"  # noqa: S105 - the documented demo password


def pick_examples() -> tuple[str, int]:
    """A caller with several work orders, and an open ticket with a long timeline (read from the demo database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopdesk.settings")
    import django

    django.setup()
    from django.db.models import Count

    from loopdesk.customers.models import Customer
    from loopdesk.tickets.models import Ticket

    customer = (Customer.objects.annotate(n=Count("tickets")).filter(tickets__is_open=True)
                .order_by("-n", "id").first())
    ticket = (Ticket.objects.filter(is_open=True).annotate(n=Count("events")).order_by("-n", "id").first())
    if customer is None or ticket is None:
        sys.exit("no open work orders in this database: load the demo first (bash scripts/demo.sh)")
    return customer.msisdn, ticket.pk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "screenshots" / "demo"))
    args = parser.parse_args()
    caller, ticket_id = pick_examples()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    # (file name, user, language, path): the pages people use all day, then the managers' pages.
    pages = [
        ("home-agent", "agent1", "zh-hans", "/"),
        ("desk-screen-pop", "agent1", "zh-hans", f"/desk/?caller={caller}"),
        ("queue-dispatch", "dispatcher1", "zh-hans", "/queues/dispatch/"),
        ("queue-risk", "supervisor1", "zh-hans", "/queues/risk/"),
        ("ticket", "supervisor1", "zh-hans", f"/tickets/{ticket_id}/"),
        ("board", "supervisor1", "zh-hans", "/board/"),
        ("policies", "supervisor1", "zh-hans", "/policies/"),
        ("callbacks", "agent1", "zh-hans", "/callbacks/"),
        ("alerts", "specialist_net1", "zh-hans", "/alerts/"),
        ("escalations", "supervisor1", "zh-hans", "/escalations/"),
        ("sms-templates", "supervisor1", "zh-hans", "/sms-templates/"),
        ("spam-reports", "supervisor1", "zh-hans", "/spam/"),
        ("reports-dashboard", "supervisor1", "zh-hans", "/reports/"),
        ("reports-scorecard", "supervisor1", "zh-hans", "/reports/scorecard/"),
        ("en-desk-screen-pop", "agent1", "en", f"/desk/?caller={caller}"),
        ("en-ticket", "supervisor1", "en", f"/tickets/{ticket_id}/"),
        ("en-board", "supervisor1", "en", "/board/"),
    ]
    failures: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        sessions: dict[tuple[str, str], object] = {}
        for name, user, language, path in pages:
            key = (user, language)
            if key not in sessions:
                context = browser.new_context(viewport={"width": 1366, "height": 860}, locale=language,
                                              extra_http_headers={"Accept-Language": language})
                page = context.new_page()
                page.set_default_timeout(30000)
                page.goto(f"{args.base}/accounts/login/")
                page.fill("#id_username", user)
                page.fill("#id_password", PASSWORD)
                page.click("form button.primary")
                page.wait_for_selector(".topbar")
                sessions[key] = page
            page = sessions[key]
            response = page.goto(f"{args.base}{path}", wait_until="networkidle")
            status = response.status if response else 0
            page.wait_for_timeout(300)  # charts finish their animation
            page.screenshot(path=str(out / f"{name}.png"))
            ok = 200 <= status < 300 and page.locator(".topbar").count() == 1
            print(f"{'ok  ' if ok else 'FAIL'} {status} {user:12} {language:8} {path}  -> {name}.png")
            if not ok:
                failures.append(f"{path} as {user}: HTTP {status}")
        browser.close()
    if failures:
        print("pages that failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

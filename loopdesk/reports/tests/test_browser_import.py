"""A large file through the import page in a real browser (Playwright driving Debian's Chromium against Django's
live server): upload, match the columns, dry run in the background, the job's page, Import, done; and the job
page reloading itself while a job runs, until it has finished."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect

from loopdesk.reports import importjobs
from loopdesk.reports.models import ImportJob
from loopdesk.reports.tests.test_import_flow import COL, HEADER, ROWS
from loopdesk.tickets.models import ExternalRef
from loopdesk.workbench.tests.test_browser import browser, shot, sign_in

__all__ = ["browser"]  # the module-scoped Chromium fixture


def test_a_large_file_is_imported_in_the_background(world: Any, live_server: Any, browser: Browser,
                                                    settings: Any, tmp_path: Path) -> None:
    settings.LOOPDESK_IMPORT_BACKGROUND_BYTES = 1  # every file goes to the worker (eager in the tests)
    source = tmp_path / "legacy.csv"
    source.write_bytes((HEADER + "".join(ROWS)).encode("gbk"))
    world.users["agent"].language = "zh-hans"
    world.users["agent"].save(update_fields=["language"])
    page = sign_in(browser, live_server.url, "agent", "pw-agent", "zh-hans")
    page.goto(f"{live_server.url}/reports/import/")
    page.set_input_files("#i-file", str(source))
    page.fill("#i-system", "eoms")
    with page.expect_navigation():
        page.click("#import-upload button.primary")
    for field, header in (("external_id", "编号"), ("created_at", "时间"), ("description", "说明"),
                          ("category", "分类")):
        page.select_option(f"#map-{field}", COL[header])
    with page.expect_navigation():
        page.click('#import-mapping button[value="check"]')
    dry_run = ImportJob.objects.get()
    assert page.url.endswith(f"/reports/import/jobs/{dry_run.pk}/")
    expect(page.locator("#import-job")).to_have_attribute("data-state", "done")
    expect(page.locator("#import-result")).to_contain_text("试运行")
    shot(page, "zh_hans_import_job_dry_run")
    with page.expect_navigation():
        page.click('#import-next button[value="import"]')
    imported = ImportJob.objects.exclude(pk=dry_run.pk).get()
    assert page.url.endswith(f"/reports/import/jobs/{imported.pk}/")
    expect(page.locator("#import-job")).to_have_attribute("data-state", "done")
    expect(page.locator("#import-next")).to_have_count(0)
    assert set(ExternalRef.objects.values_list("external_id", flat=True)) == {"L-1", "L-2"}

    # A running job: its page shows the progress and reloads itself until the job has finished.
    result = imported.result
    ImportJob.objects.filter(pk=imported.pk).update(state="running", result=None)
    importjobs.progress_path(imported).write_text(json.dumps({"step": "write", "rows": 1234, "at": time.time()}))
    page.goto(f"{live_server.url}/reports/import/jobs/{imported.pk}/")
    expect(page.locator("#import-job")).to_have_attribute("data-state", "running")
    expect(page.locator("#import-job")).to_contain_text("1234")
    shot(page, "zh_hans_import_job_running")
    ImportJob.objects.filter(pk=imported.pk).update(state="done", result=result)
    expect(page.locator("#import-job")).to_have_attribute("data-state", "done", timeout=10000)  # reloaded
    expect(page.locator("#import-result")).to_be_visible()
    page.context.close()

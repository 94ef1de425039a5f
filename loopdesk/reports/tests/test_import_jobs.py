"""Large files on the import page run in the background worker (`importjobs`): the page records a job and shows
it; the job's report and the Import button after a dry run that passed; progress; failures; only the user who
started a job sees it. (The worker process itself: test_import_jobs_worker.py.)"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from django.test import Client

from loopdesk.conftest import World
from loopdesk.reports import importjobs, stash
from loopdesk.reports.imports import import_tickets
from loopdesk.reports.models import ImportJob, ImportRun
from loopdesk.reports.tests.test_import_flow import COL, HEADER, MAPPING, ROWS, _client, _token, _upload
from loopdesk.tickets.models import ExternalRef, Ticket

BAD = "L-3,2026-10-07 11:00,1390000000,投诉,基础通信,10086热线,号码少一位,无\n"  # ten digits


def _next_form(html: str) -> dict[str, str]:
    """The hidden fields of the job page's next-step form."""
    form = re.search(r'<form method="post" action="/reports/import/" id="import-next">(.*?)</form>', html, re.S)
    assert form, html[:3000]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1)))


@pytest.fixture
def background(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LOOPDESK_IMPORT_BACKGROUND_BYTES = 1  # every file: the tests' files are small


def _check(client: Client, rows: list[str], django_capture_on_commit_callbacks) -> ImportJob:  # type: ignore[no-untyped-def]
    """Upload and dry-run `rows` through the page; the worker's task runs when the page's transaction commits
    (eagerly in the tests: CELERY_TASK_ALWAYS_EAGER)."""
    page = client.post("/reports/import/", {"step": "upload", "kind": "tickets", "system": "eoms",
                                            "file": _upload(HEADER + "".join(rows))})
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        answer = client.post("/reports/import/", {"step": "check", "token": _token(page.content.decode()),
                                                  **MAPPING})
    assert answer.status_code == 302 and len(callbacks) == 1
    job = ImportJob.objects.get()
    assert answer["Location"] == f"/reports/import/jobs/{job.pk}/"
    job.refresh_from_db()
    return job


def test_a_large_file_is_checked_and_imported_in_the_background(world: World, background,  # type: ignore[no-untyped-def]
                                                                 django_capture_on_commit_callbacks) -> None:
    client = _client(world, "agent")
    job = _check(client, ROWS, django_capture_on_commit_callbacks)
    assert (job.state, job.dry_run, job.kind, job.system) == ("done", True, "tickets", "eoms")
    assert job.result["rows"] == 2 and job.result["valid"] == 2 and job.result["error_count"] == 0
    assert job.columns == {k.removeprefix("map-"): int(v) for k, v in MAPPING.items()}
    assert not Ticket.objects.exists() and not ImportRun.objects.exists()  # a dry run writes nothing
    page = client.get(f"/reports/import/jobs/{job.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-state="done"' in html and "2 行" in html
    assert 'http-equiv="refresh"' not in html  # finished: the page no longer reloads itself
    form = _next_form(html)
    assert {f"map-{k}" for k in job.columns} <= set(form) and form["checked"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/reports/import/", {**form, "step": "import"})
    imported = ImportJob.objects.exclude(pk=job.pk).get()
    assert answer.status_code == 302 and answer["Location"] == f"/reports/import/jobs/{imported.pk}/"
    imported.refresh_from_db()
    assert (imported.state, imported.dry_run, imported.result["created"], imported.result["applied"]) == (
        "done", False, 2, True)
    assert Ticket.objects.count() == 2 and set(ExternalRef.objects.values_list("external_id", flat=True)) == {
        "L-1", "L-2"}
    assert ImportRun.objects.get().created == 2
    assert not list(Path(importjobs.settings.LOOPDESK_IMPORT_DIR).glob("*.upload"))  # imported: file gone
    assert not list(Path(importjobs.settings.LOOPDESK_IMPORT_DIR).glob("*.progress"))
    html = client.get(f"/reports/import/jobs/{imported.pk}/").content.decode()
    assert 'id="import-next"' not in html  # nothing more to do
    assert f'href="/reports/import/jobs/{imported.pk}/"' in client.get("/reports/import/").content.decode()


def test_a_changed_mapping_is_checked_again_not_imported(world: World, background,  # type: ignore[no-untyped-def]
                                                         django_capture_on_commit_callbacks) -> None:
    client = _client(world, "agent")
    job = _check(client, ROWS, django_capture_on_commit_callbacks)
    form = _next_form(client.get(f"/reports/import/jobs/{job.pk}/").content.decode())
    form["map-title"] = COL["备注"]  # a column the dry run did not check
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/reports/import/", {**form, "step": "import"})
    again = ImportJob.objects.exclude(pk=job.pk).get()
    assert again.dry_run and not Ticket.objects.exists()


def test_the_report_of_a_failed_dry_run_is_shown_in_the_users_language(world: World, background,  # type: ignore[no-untyped-def]
                                                                       django_capture_on_commit_callbacks) -> None:
    job = _check(_client(world, "agent"), [*ROWS, BAD], django_capture_on_commit_callbacks)
    assert job.result["error_count"] == 1 and job.language == "zh-hans"
    page = _client(world, "agent").get(f"/reports/import/jobs/{job.pk}/")
    html = page.content.decode()
    assert page.status_code == 422 and "手机号码" in html and 'id="import-next"' not in html  # no Import button
    assert job.result["errors"][0]["row"] == 4


def test_only_the_user_who_started_a_job_sees_it(world: World, background,  # type: ignore[no-untyped-def]
                                                 django_capture_on_commit_callbacks) -> None:
    job = _check(_client(world, "agent"), ROWS, django_capture_on_commit_callbacks)
    assert _client(world, "supervisor").get(f"/reports/import/jobs/{job.pk}/").status_code == 404
    assert Client().get(f"/reports/import/jobs/{job.pk}/").status_code == 302  # to the login page


def test_a_small_file_is_still_checked_at_once(world: World, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    client = _client(world, "agent")
    page = client.post("/reports/import/", {"step": "upload", "kind": "tickets", "system": "eoms",
                                            "file": _upload(HEADER + "".join(ROWS))})
    answer = client.post("/reports/import/", {"step": "check", "token": _token(page.content.decode()), **MAPPING})
    assert answer.status_code == 200 and 'id="import-result"' in answer.content.decode()
    assert not ImportJob.objects.exists()


def test_a_running_job_shows_its_progress_and_reloads_until_it_stalls(world: World, background,  # type: ignore[no-untyped-def]
                                                                      django_capture_on_commit_callbacks) -> None:
    job = _check(_client(world, "agent"), ROWS, django_capture_on_commit_callbacks)
    ImportJob.objects.filter(pk=job.pk).update(state="running", result=None)
    importjobs.progress_path(job).write_text(json.dumps({"step": "write", "rows": 1234, "at": time.time()}))
    html = _client(world, "agent").get(f"/reports/import/jobs/{job.pk}/").content.decode()
    assert 'data-state="running"' in html and "1234" in html and 'http-equiv="refresh"' in html
    assert 'id="import-next"' not in html
    importjobs.progress_path(job).write_text(json.dumps({"step": "write", "rows": 1234, "at": time.time() - 3600}))
    html = _client(world, "agent").get(f"/reports/import/jobs/{job.pk}/").content.decode()
    assert 'http-equiv="refresh"' not in html and 'id="import-next"' in html  # stalled: offered again
    assert _next_form(html)["token"] == job.token


def test_a_job_whose_file_is_gone_fails_with_the_reason_and_runs_once(world: World, background,  # type: ignore[no-untyped-def]
                                                                      django_capture_on_commit_callbacks) -> None:
    client = _client(world, "agent")
    page = client.post("/reports/import/", {"step": "upload", "kind": "tickets", "system": "eoms",
                                            "file": _upload(HEADER + "".join(ROWS))})
    stashed = stash.find(_token(page.content.decode()), user_id=world.users["agent"].pk)
    assert stashed is not None
    job = importjobs.start(world.users["agent"], stashed, {"external_id": 0}, dry_run=True, partial=False)
    stash.drop(stashed)
    importjobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.finished_at is not None and job.failure
    finished = job.finished_at
    importjobs.run(job.pk)  # delivered twice: left alone
    job.refresh_from_db()
    assert job.finished_at == finished
    html = client.get(f"/reports/import/jobs/{job.pk}/").content.decode()
    assert job.failure in html and 'role="alert"' in html


def test_the_import_reports_its_progress(world: World, tmp_path: Path) -> None:
    """`progress(step, rows)` after each chunk or batch: rows checked, then work orders written."""
    from loopdesk.reports.tests.test_imports import BULK_HEADER, _legacy_rows

    seen: list[tuple[str, int]] = []
    path = tmp_path / "legacy.csv"
    path.write_bytes((BULK_HEADER + "".join(_legacy_rows("G", "4"))).encode("gbk"))
    result = import_tickets(acting_user=world.user("agent"), source=path, system="g", batch_size=1,
                            parallel=False, progress=lambda step, rows: seen.append((step, rows)))
    assert result.created == 4
    assert seen == [("check", 4), ("write", 1), ("write", 2), ("write", 3), ("write", 4)]


def test_administrators_see_the_jobs_read_only_in_the_admin(world: World, background,  # type: ignore[no-untyped-def]
                                                            django_capture_on_commit_callbacks) -> None:
    job = _check(_client(world, "agent"), [*ROWS, BAD], django_capture_on_commit_callbacks)
    user = world.user("admin")
    user.is_staff = user.is_superuser = True
    user.save()
    admin = _client(world, "admin")
    listing = admin.get("/admin/reports/importjob/")
    assert listing.status_code == 200 and "legacy.csv" in listing.content.decode()
    page = admin.get(f"/admin/reports/importjob/{job.pk}/change/").content.decode()
    assert "号码" in page and job.token not in page  # the report, not the file's token
    assert admin.get("/admin/reports/importjob/add/").status_code == 403


def test_a_damaged_progress_file_is_ignored(world: World, background,  # type: ignore[no-untyped-def]
                                            django_capture_on_commit_callbacks) -> None:
    job = _check(_client(world, "agent"), ROWS, django_capture_on_commit_callbacks)
    ImportJob.objects.filter(pk=job.pk).update(state="running", result=None)
    for text in ("{", "[]", '{"step": "write", "rows": "many", "at": 1}', '{"step": "delete", "rows": 1, "at": 1}'):
        importjobs.progress_path(job).write_text(text)
        assert importjobs.read_progress(job) is None
        page = _client(world, "agent").get(f"/reports/import/jobs/{job.pk}/")
        assert page.status_code == 200 and "读取文件" in page.content.decode()  # "started: reading the file"


def test_the_customers_import_reports_its_progress(world: World) -> None:
    import io

    from loopdesk.reports.imports import import_customers

    seen: list[tuple[str, int]] = []
    data = "手机号码,客户姓名\n13900000001,李四\n13900000002,王五\n"
    result = import_customers(acting_user=world.user("supervisor"), source=io.BytesIO(data.encode("gbk")),
                              progress=lambda step, rows: seen.append((step, rows)))
    assert result.created == 2 and seen == [("check", 2), ("write", 2)]


@pytest.mark.parametrize("parallel_from", [1, 1 << 30])
def test_the_worker_validates_a_large_file_while_it_writes(world: World, background, monkeypatch,  # type: ignore[no-untyped-def]
                                                           django_capture_on_commit_callbacks,
                                                           parallel_from: int) -> None:
    """From PARALLEL_MIN_BYTES the job asks for the forked validation (a Celery worker has a second thread, so
    the default would not use it); below, the file is validated first."""
    from loopdesk.reports import imports

    monkeypatch.setattr(imports, "PARALLEL_MIN_BYTES", parallel_from)
    client = _client(world, "agent")
    job = _check(client, ROWS, django_capture_on_commit_callbacks)
    form = _next_form(client.get(f"/reports/import/jobs/{job.pk}/").content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/reports/import/", {**form, "step": "import"})
    imported = ImportJob.objects.exclude(pk=job.pk).get()
    assert imported.result["created"] == 2
    assert imported.result["validated_in_parallel"] is (parallel_from == 1)


def test_the_problems_of_a_job_download_as_xlsx_and_csv(world: World, background,  # type: ignore[no-untyped-def]
                                                        django_capture_on_commit_callbacks) -> None:
    import io

    from openpyxl import load_workbook

    job = _check(_client(world, "agent"), [*ROWS, BAD], django_capture_on_commit_callbacks)
    client = _client(world, "agent")
    assert 'id="import-problems"' in client.get(f"/reports/import/jobs/{job.pk}/").content.decode()
    message = job.result["errors"][0]["message"]
    csv_bytes = b"".join(client.get(f"/reports/import/jobs/{job.pk}/problems.csv").streaming_content)
    text = csv_bytes.decode("utf-8-sig")
    assert text.splitlines()[0] == "行号,列,问题" and f"4,手机号码,{message}" in text
    book = load_workbook(io.BytesIO(b"".join(client.get(f"/reports/import/jobs/{job.pk}/problems.xlsx")
                                             .streaming_content)))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "问题") and rows[1] == (4, "手机号码", message)
    assert _client(world, "supervisor").get(f"/reports/import/jobs/{job.pk}/problems.csv").status_code == 404
    assert client.get(f"/reports/import/jobs/{job.pk}/problems.pdf").status_code == 404

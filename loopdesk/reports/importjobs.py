"""Dry runs and imports of large files from the import page, run by the background worker.

A web request must not wait minutes for a million rows (gunicorn ends a worker after its timeout, 30 s by
default, and a reverse proxy gives up too): from `BACKGROUND_BYTES` (`LOOPDESK_IMPORT_BACKGROUND_BYTES`, default
2 MB, about 15,000 work orders) the page records an `ImportJob` and the Celery task `reports.run_import` runs it
(`run`); the page then shows the job (`/reports/import/jobs/<id>/`), which reloads itself while the job runs. The
task runs the same `import_tickets` / `import_customers` as the page does for small files, as the user who
started it, with the columns the page checked, and keeps the report (counts and the first problems, in the
language of the page that started it).

How far it got (`progress`) is written to a small file beside the kept upload, not to the database: the import
runs in one transaction (on SQLite it holds the database's write lock), so a row updated inside it would not be
seen before the end. The worker must therefore see `LOOPDESK_IMPORT_DIR`, as the web processes do (one machine,
or shared storage).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loopdesk.reports import imports, stash
from loopdesk.reports.models import ImportJob

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between two writes of the progress file


def in_background(stashed: stash.Stashed) -> bool:
    """Whether the page runs this kept file's dry run and import in the background."""
    try:
        return stashed.path.stat().st_size >= settings.LOOPDESK_IMPORT_BACKGROUND_BYTES
    except OSError:
        return False


def _record(user: Any, stashed: stash.Stashed, columns: dict[str, int], *, dry_run: bool, partial: bool,
            **state: Any) -> ImportJob:
    """The job of a kept file with the checked columns, in the page's language."""
    return ImportJob.objects.create(
        kind=stashed.kind, dry_run=dry_run, partial=partial, system=stashed.system, filename=stashed.name[-200:],
        file_key=stashed.path.stem, token=stashed.token, columns=columns, language=translation.get_language() or "",
        created_by=user, **state)


def start(user: Any, stashed: stash.Stashed, columns: dict[str, int], *, dry_run: bool, partial: bool) -> ImportJob:
    """Record the job and have the worker run it once this transaction has committed."""
    job = _record(user, stashed, columns, dry_run=dry_run, partial=partial)
    from loopdesk.reports.tasks import run_import

    queue = settings.LOOPDESK_IMPORT_QUEUE or None  # None: the default queue
    transaction.on_commit(lambda: run_import.apply_async((job.pk,), queue=queue))
    return job


def record_finished(user: Any, stashed: stash.Stashed, columns: dict[str, int], result: imports.ImportResult, *,
                    partial: bool) -> ImportJob:
    """A dry run or import the page ran at once (a small file), kept as a finished job, so that its problems can
    be downloaded as XLSX or CSV like a background job's."""
    now = timezone.now()
    return _record(user, stashed, columns, dry_run=result.dry_run, partial=partial, state=ImportJob.State.DONE,
                   started_at=now, finished_at=now, result=report(result))


def progress_path(job: ImportJob) -> Path:
    return Path(settings.LOOPDESK_IMPORT_DIR) / f"{job.file_key}.job{job.pk}.progress"


def read_progress(job: ImportJob) -> dict[str, Any] | None:
    """{"step": "check" | "write", "rows": n, "at": epoch seconds} of a running job, if it has reported yet."""
    try:
        data = json.loads(progress_path(job).read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("step") not in ("check", "write")
            or not isinstance(data.get("rows"), int) or not isinstance(data.get("at"), int | float)):
        return None
    return data


class _Reporter:
    """The import's `progress` callback: the latest (step, rows) into the job's progress file, at most every
    PROGRESS_EVERY seconds (written aside and renamed: a reader never sees half a file)."""

    def __init__(self, job: ImportJob) -> None:
        self.path = progress_path(job)
        self.last = 0.0

    def __call__(self, step: str, rows: int) -> None:
        now = time.time()
        if now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        aside = self.path.with_suffix(".tmp")
        aside.write_text(json.dumps({"step": step, "rows": rows, "at": now}))
        os.replace(aside, self.path)


def report(result: imports.ImportResult) -> dict[str, Any]:
    """What the page shows of a result (the problems' messages are text already, in the job's language)."""
    return {"rows": result.rows, "valid": result.valid, "created": result.created, "updated": result.updated,
            "skipped": result.skipped, "error_count": result.error_count, "error_rows": result.error_rows,
            "dry_run": result.dry_run, "applied": result.applied, "encoding": result.encoding,
            "validated_in_parallel": "validation (in parallel)" in result.seconds,
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in result.errors]}


def import_file(user: Any, kind: str, path: Path, *, name: str, system: str, columns: dict[str, int],
                dry_run: bool, partial: bool, progress: imports.Progress | None = None,
                parallel: bool | None = None) -> imports.ImportResult:
    """The import page's dry run or import of a kept file with the columns it checked: in the web request for a
    small file, in the worker (`run`) for a large one. `parallel` as for `import_tickets`."""
    fields = imports.TICKET_FIELDS if kind == "tickets" else imports.CUSTOMER_FIELDS
    options: dict[str, Any] = {"acting_user": user, "source": path, "name": name,
                               "mapping": {field: columns.get(field) for field in fields}, "dry_run": dry_run,
                               "all_or_nothing": not partial, "progress": progress}
    if kind == "tickets":
        return imports.import_tickets(system=system, parallel=parallel, **options)
    return imports.import_customers(**options)


def run(job_id: int) -> None:
    """Run a queued job (the task's body). A job that is not queued any more (run already, by a task delivered
    twice) is left alone; an error ends the job as failed, with the error, and leaves the data untouched (the
    import is one transaction)."""
    with transaction.atomic():
        job = (ImportJob.objects.select_for_update(of=("self",)).select_related("created_by__unit")
               .filter(pk=job_id).first())
        if job is None or job.state != ImportJob.State.QUEUED:
            return
        job.state, job.started_at = ImportJob.State.RUNNING, timezone.now()
        job.save(update_fields=["state", "started_at"])
    path = stash.kept_path(job.file_key)
    try:
        with translation.override(job.language or settings.LANGUAGE_CODE):
            if not path.is_file():
                raise FileNotFoundError(_("The uploaded file is no longer kept on the server: upload it again."))
            # Work orders: validated in a forked process while the write goes on, as `import_tickets` does by
            # default for such a file in a single-threaded process: asked for here, because a Celery worker runs a
            # second, idle thread (its timer), which the forked child neither inherits nor needs.
            result = import_file(job.created_by, job.kind, path, name=job.filename, system=job.system,
                                 columns=job.columns, dry_run=job.dry_run, partial=job.partial,
                                 progress=_Reporter(job),
                                 parallel=path.stat().st_size >= imports.PARALLEL_MIN_BYTES or None)
    except Exception as exc:  # any failure ends the job as failed, with its reason, for the page
        log.exception("background import %s failed", job.pk)
        job.state, job.failure = ImportJob.State.FAILED, str(exc)[:2000] or exc.__class__.__name__
    else:
        job.state, job.result = ImportJob.State.DONE, report(result)
        if result.applied:
            path.unlink(missing_ok=True)  # imported: the kept file is not needed any more
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "failure", "result", "finished_at"])
    progress_path(job).unlink(missing_ok=True)

"""A large file's import through a real Celery worker process (the embedded default's filesystem broker, a
database file shared with a separate "web" process, the imports' own queue): the web side records the job and
returns at once; a dedicated worker on that queue imports the file (validated in a forked process while it is
written) and the job ends done with its report; the kept file and the progress file are gone."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable
ROWS = 3000

# The "web" side: keep the uploaded file and start the job as the import page does (inside a transaction: the
# task is sent when it commits), then print the job's id.
START = """
import os
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from loopdesk.org.models import User
from loopdesk.reports import importjobs, stash
user = User.objects.select_related("unit").get(username="agent1")
data = open(os.environ["IMPORT_SOURCE"], "rb").read()
stashed = stash.keep(SimpleUploadedFile("legacy.csv", data), user_id=user.pk, kind="tickets", system="eoms")
with transaction.atomic():
    job = importjobs.start(user, stashed, {"external_id": 0, "created_at": 1, "msisdn": 2, "contact_type": 3,
                                           "category": 4, "channel": 5, "description": 6}, dry_run=False,
                           partial=False)
print(job.pk)
"""


def _file(path: Path) -> None:
    """ROWS complaints, with descriptions long enough to make the file larger than PARALLEL_MIN_BYTES."""
    lines = ["编号,时间,手机号码,服务类型,分类,受理渠道,说明"]
    for i in range(ROWS):
        lines.append(f"W-{i},2026-10-{1 + i % 28:02d} 09:{i % 60:02d},139{i:08d},投诉,基础通信>信号覆盖>室内无信号,"
                     f"10086热线,第{i}行：{'家里和单位都没有信号，' * 70}")
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))


def test_the_worker_runs_a_large_import(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "LOOPDESK_VAR_DIR": str(tmp_path / "var"),
           "LOOPDESK_IMPORT_DIR": str(tmp_path / "imports"), "CELERY_BROKER_URL": "filesystem://",
           "CELERY_TASK_ALWAYS_EAGER": "false", "LOOPDESK_IMPORT_BACKGROUND_BYTES": "1",
           "LOOPDESK_IMPORT_QUEUE": "imports",
           "DJANGO_SETTINGS_MODULE": "loopdesk.settings"}

    def run(*args: str) -> str:
        done = subprocess.run([PY, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("manage.py", "migrate", "--noinput", "-v", "0")
    run("manage.py", "load_demo", "--tickets", "0")
    source = tmp_path / "legacy.csv"
    _file(source)
    from loopdesk.reports.imports import PARALLEL_MIN_BYTES

    assert source.stat().st_size >= PARALLEL_MIN_BYTES
    env["IMPORT_SOURCE"] = str(source)
    job_id = int(run("manage.py", "shell", "-c", START).strip().splitlines()[-1])

    def job() -> tuple[str, dict | None]:
        with sqlite3.connect(database, timeout=30) as db:
            state, result = db.execute("SELECT state, result FROM reports_importjob WHERE id = ?", [job_id]).fetchone()
        return state, json.loads(result) if result else None

    assert job() == ("queued", None)  # nothing ran on the web side
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - kept open for the process's life
    # A dedicated import worker, on the imports' own queue (LOOPDESK_IMPORT_QUEUE).
    worker = subprocess.Popen([PY, "-m", "celery", "-A", "loopdesk", "worker", "-Q", "imports", "--pool=solo",
                               "--loglevel=WARNING"],
                              cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and job()[0] != "done":
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.1)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    state, result = job()
    assert state == "done", (tmp_path / "worker.log").read_text()[-3000:]
    assert result is not None and (result["created"], result["error_count"], result["applied"]) == (ROWS, 0, True)
    assert result["validated_in_parallel"] is True  # a solo worker: the file validated while it was written
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0] == ROWS
        assert db.execute("SELECT count(*) FROM tickets_externalref WHERE system = 'eoms'").fetchone()[0] == ROWS
    assert not list((tmp_path / "imports").glob("*.progress"))  # removed at the end
    assert not list((tmp_path / "imports").glob("*.upload"))  # imported: the kept file is gone

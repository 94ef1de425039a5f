"""Proof with real components: a real Redis, a real Celery worker process (with embedded beat), a real database
file shared with a separate "web" process, and the file SMS gateway.

- without Redis (the embedded default's filesystem broker), the same worker and beat deliver a whole life;
- a work order's whole life puts every customer SMS in the gateway file, in order, without duplicates;
- killing the worker in the middle of a batch loses nothing and duplicates nothing after the restart;
- with Redis stopped, work orders are still accepted (the outbox is in the database) and delivery resumes
  when Redis is back.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from loopdesk.notify.gateways import read_file_gateway

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.sms_file = tmp / "sms.jsonl"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "LOOPDESK_VAR_DIR": str(tmp / "var"),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.port}/0",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "LOOPDESK_SMS_GATEWAY": "file",
            "LOOPDESK_SMS_FILE": str(self.sms_file),
            "LOOPDESK_OUTBOX_POLL_SECONDS": "0.5",
            "LOOPDESK_OUTBOX_LEASE_SECONDS": "3",
            "LOOPDESK_OUTBOX_BATCH": "4000",  # the whole bulk in one batch: a wide window to kill it in
            "DJANGO_SETTINGS_MODULE": "loopdesk.settings",
        }
        self.redis: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def run(self, *args: str) -> str:
        done = subprocess.run([PY, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def drive(self, *args: str) -> str:
        return self.run("manage.py", "followup_drive", *args)

    def counts(self) -> dict[str, int]:
        return json.loads(self.drive("counts"))

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.tmp),
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
            self.redis = None

    def start_worker(self) -> None:
        log = open(self.tmp / "worker.log", "ab")  # noqa: SIM115 - kept open for the process's life
        self.worker = subprocess.Popen(
            [PY, "-m", "celery", "-A", "loopdesk", "worker", "-B", "--pool=solo", "--loglevel=WARNING",
             "-s", str(self.tmp / "beat-schedule")], cwd=ROOT, env=self.env, stdout=log, stderr=log,
            start_new_session=True)  # its own process group: the embedded beat is a child process

    def kill_worker(self) -> None:
        if self.worker is not None:
            os.killpg(self.worker.pid, signal.SIGKILL)  # the worker and its beat, as a crash would
            self.worker.wait(10)
            self.worker = None

    def stop_worker(self) -> None:
        if self.worker is not None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
                self.worker.wait(5)
            with contextlib.suppress(ProcessLookupError):  # a beat child that outlived the worker
                os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker = None

    def sms_count(self) -> int:
        return self.sms_file.read_bytes().count(b"\n") if self.sms_file.exists() else 0

    def sms(self) -> list[dict]:
        return read_file_gateway(self.sms_file)

    def wait_for(self, condition, timeout: float, what: str, poll: float = 0.1) -> None:
        self.wait_until(condition, lambda: False, timeout, what, poll)

    def wait_until(self, condition, missed, timeout: float, what: str, poll: float = 0.1) -> bool:
        """Wait for condition (True) or for missed, a state past it (False); time out with an error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if missed():
                return False
            assert self.worker is None or self.worker.poll() is None, (self.tmp / "worker.log").read_text()[-3000:]
            time.sleep(poll)
        log = (self.tmp / "worker.log").read_text()[-3000:] if (self.tmp / "worker.log").exists() else ""
        raise AssertionError(f"timed out waiting for {what}\n{log}")


@pytest.fixture
def stack(tmp_path):
    stack = Stack(tmp_path)
    stack.run("manage.py", "migrate", "--noinput", "-v", "0")
    stack.drive("setup")
    stack.start_redis()
    try:
        yield stack
    finally:
        stack.stop_worker()
        stack.stop_redis()


def test_real_worker_delivers_whole_lives_survives_a_kill_and_a_broker_outage(stack: Stack) -> None:
    # 0. The README's default, no CELERY_BROKER_URL: the broker is kombu's filesystem transport under var/, and
    # the same worker and beat deliver a whole life (delivery is the beat's periodic outbox job) with no Redis.
    redis_url = stack.env.pop("CELERY_BROKER_URL")
    stack.start_worker()
    numbers = stack.drive("life", "1").split()
    stack.wait_for(lambda: len(stack.sms()) >= 4, 120, "a whole life's SMS through the filesystem broker")
    stack.stop_worker()
    assert (stack.tmp / "var" / "celery" / "queue").is_dir()
    stack.env["CELERY_BROKER_URL"] = redis_url

    stack.start_worker()
    numbers += stack.drive("life", "3").split()

    # 1. Whole lives: every SMS of every ticket, in order, none twice.
    stack.wait_for(lambda: len(stack.sms()) >= 16, 120, "16 SMS of four whole lives")
    by_customer: dict[str, list[str]] = defaultdict(list)
    for line in stack.sms():
        by_customer[line["to"]].append(line["id"].split(":")[1])
    assert sorted(by_customer.values()) == [["ack", "info_request", "resolution", "survey"]] * 4
    texts = "".join(line["text"] for line in stack.sms())
    assert all(number in texts for number in numbers)

    # 2. Kill -9 in the middle of a batch (some of its SMS written, none marked delivered): after the restart
    # the claimed rows come back when their lease ends, and every message is in the file exactly once.
    # On a loaded machine this process may not be scheduled while the worker writes the whole batch: then the
    # batch is simply delivered, and the next try queues another one (at most three tries).
    for attempt in range(3):
        before = len(stack.sms())
        stack.stop_worker()  # queue the bulk first, so that we are watching when the worker takes it
        stack.drive("bulk", "4000")
        stack.start_worker()
        if stack.wait_until(lambda: before + 20 <= stack.sms_count() <= before + 3000,
                            lambda: stack.sms_count() > before + 3000, 120, "the middle of the batch", poll=0.002):
            break
        assert attempt < 2, "the middle of the batch was missed three times"
        stack.wait_for(lambda: stack.sms_count() >= before + 4000, 120, "the missed batch")
    stack.kill_worker()
    partial = len(stack.sms()) - before
    assert 0 < partial < 4000
    stack.start_worker()
    stack.wait_for(lambda: len(stack.sms()) >= before + 4000, 180, "every message after the restart")
    ids = [line["id"] for line in stack.sms()]
    assert len(ids) == len(set(ids)) == before + 4000
    counts = stack.counts()
    assert counts["delivered"] == before + 4000 and set(counts) == {"delivered", "max_attempts"}
    assert counts["max_attempts"] == 2  # the interrupted batch was delivered again; the gateway kept one copy

    # 3. Redis stopped: work orders are still accepted, their SMS wait in the outbox, and go out once it is back.
    stack.stop_redis()
    delivered = len(stack.sms())
    stack.drive("life", "1")
    time.sleep(2)
    assert len(stack.sms()) == delivered and stack.counts().get("pending") == 4
    stack.start_redis()
    stack.wait_for(lambda: len(stack.sms()) == delivered + 4, 180, "delivery after Redis came back")
    ids = [line["id"] for line in stack.sms()]
    assert len(ids) == len(set(ids))


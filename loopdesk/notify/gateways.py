"""SMS gateways. `get_gateway()` returns the one configured by LOOPDESK_SMS_GATEWAY.

- file (default): appends one JSON line per SMS to LOOPDESK_SMS_FILE; de-duplicates on the message id, so a
  message redelivered after a crash is written once (what a real gateway does with its message id).
- console: logs each SMS (development).
- http: POSTs JSON {id, to, from, text} to LOOPDESK_SMS_HTTP_URL with basic credentials and an HMAC-SHA256
  signature of "<timestamp>.<body>" in `X-LoopDesk-Signature` (timestamp in `X-LoopDesk-Timestamp`); any
  answer but 2xx is a failure the outbox worker retries. `id` is the de-duplication key.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings

from loopdesk.core.http import NO_REDIRECT_OPENER

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sms:
    id: str
    to: str
    sender: str
    text: str


class SmsGateway(Protocol):
    def send(self, sms: Sms) -> None:
        """Send one SMS; raise on failure."""


class GatewayError(Exception):
    pass


class ConsoleGateway:
    def send(self, sms: Sms) -> None:
        log.warning("SMS %s -> %s: %s", sms.sender, sms.to, sms.text)


class FileGateway:
    """JSON lines, one per SMS, safe with several worker processes (an exclusive lock around each append).

    The file stays open between messages (reopened when it was rotated or deleted); before each append the
    lines other processes wrote since our last look are read, so the duplicate check sees every id.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._seen: set[str] = set()
        self._offset = 0
        self._checked = 0.0

    def _open(self) -> int:
        if self._fd is not None:
            now = time.monotonic()
            if now - self._checked < 1.0:  # look for a rotated file at most once a second
                return self._fd
            self._checked = now
            try:
                if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                    return self._fd
            except FileNotFoundError:
                pass
            os.close(self._fd)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        self._seen.clear()
        self._offset = 0
        return self._fd

    def _catch_up(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size < self._offset:  # truncated: start over
            self._seen.clear()
            self._offset = 0
        if size == self._offset:
            return
        data = os.pread(fd, size - self._offset, self._offset)
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            try:
                self._seen.add(json.loads(line)["id"])
            except (ValueError, KeyError, TypeError):
                continue
        self._offset += end

    def send(self, sms: Sms) -> None:
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            self._catch_up(fd)
            if sms.id in self._seen:
                return
            line = json.dumps({"id": sms.id, "to": sms.to, "from": sms.sender, "text": sms.text,
                               "at": round(time.time(), 3)}, ensure_ascii=False).encode() + b"\n"
            os.write(fd, line)
            self._offset += len(line)
            self._seen.add(sms.id)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def read_file_gateway(path: Path) -> list[dict[str, object]]:
    """Every SMS the file gateway wrote, in order (tests and the demo read it)."""
    if not path.exists():
        return []
    with path.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # the writers hold LOCK_EX while they append a line
        try:
            data = handle.read()
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    # Only whole lines: a writer without the lock could still be half-way through the last one.
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class HttpJsonGateway:
    def __init__(self, url: str, user: str, password: str, secret: str, timeout: float) -> None:
        if not url:
            raise GatewayError("LOOPDESK_SMS_HTTP_URL is not set")
        self.url, self.user, self.password, self.secret, self.timeout = url, user, password, secret, timeout

    def send(self, sms: Sms) -> None:
        body = json.dumps({"id": sms.id, "to": sms.to, "from": sms.sender, "text": sms.text},
                          ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8", "X-LoopDesk-Timestamp": timestamp,
                   "Idempotency-Key": sms.id}
        if self.secret:
            headers["X-LoopDesk-Signature"] = sign(self.secret, timestamp, body)
        if self.user:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            # Not following redirects: a 302 would turn the POST into a GET without the message, "sent".
            with NO_REDIRECT_OPENER.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise GatewayError(f"gateway answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise GatewayError(f"gateway unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise GatewayError(f"gateway answered {status}")


_file_gateways: dict[str, FileGateway] = {}


def get_gateway() -> SmsGateway:
    kind = settings.LOOPDESK_SMS_GATEWAY
    if kind == "file":
        # Called once per message: one instance per file (it keeps the file open and the ids it has seen).
        key = str(settings.LOOPDESK_SMS_FILE)
        gateway = _file_gateways.get(key)
        if gateway is None:
            gateway = _file_gateways[key] = FileGateway(Path(key))
        return gateway
    if kind == "console":
        return ConsoleGateway()
    if kind == "http":
        return HttpJsonGateway(settings.LOOPDESK_SMS_HTTP_URL, settings.LOOPDESK_SMS_HTTP_USER,
                               settings.LOOPDESK_SMS_HTTP_PASSWORD, settings.LOOPDESK_SMS_HTTP_SECRET,
                               settings.LOOPDESK_SMS_HTTP_TIMEOUT)
    raise GatewayError(f"unknown LOOPDESK_SMS_GATEWAY {kind!r}: use file, console or http")

"""LOOPDESK_HTTPS: behind a TLS proxy the cookies are HTTPS-only and requests it marks as HTTPS count as secure;
`manage.py check --deploy` no longer warns about the cookies. Each case is a fresh process (settings are read
once, at start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import django
django.setup()
from django.conf import settings
from django.test import RequestFactory
request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, request.is_secure(), settings.SECURE_HSTS_SECONDS)
"""


def _run(args: list[str], **env: str) -> str:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "loopdesk.settings", "LOOPDESK_SECRET_KEY": "k" * 60,
                   "LOOPDESK_INSECURE_DEV_KEY": "false", "LOOPDESK_ALLOWED_HOSTS": "cs.example.cn", **env}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)
    return done.stdout + done.stderr


def test_plain_http_by_default() -> None:
    assert _run(["-c", PROBE]).split()[-4:] == ["False", "False", "False", "0"]
    warnings = _run(["manage.py", "check", "--deploy"])
    assert "security.W012" in warnings and "security.W016" in warnings


def test_https_behind_a_proxy() -> None:
    assert _run(["-c", PROBE], LOOPDESK_HTTPS="true", LOOPDESK_HSTS_SECONDS="31536000").split()[-4:] == [
        "True", "True", "True", "31536000"]
    warnings = _run(["manage.py", "check", "--deploy"], LOOPDESK_HTTPS="true", LOOPDESK_HSTS_SECONDS="31536000",
                    LOOPDESK_SSL_REDIRECT="true")
    assert "System check identified" in warnings  # it ran (the spectacular schema warnings remain)
    assert [code for code in ("security.W004", "security.W008", "security.W012", "security.W016")
            if code in warnings] == []

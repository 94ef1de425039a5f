"""Sign-in protection (django-axes, configured in settings): whose address a sign-in came from, and the page a
locked-out user sees, in their language."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The address a sign-in came from: the connection's, or behind the TLS proxy (LOOPDESK_HTTPS) the last address
    of X-Forwarded-For, the one the proxy itself appended (earlier ones are whatever the client sent)."""
    if settings.LOOPDESK_HTTPS:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


def locked_out(request: HttpRequest, original_response: Any = None, credentials: dict | None = None) -> HttpResponse:
    """429 with the sign-in page's look: who is locked, for how long, and what to do."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return render(request, "registration/locked_out.html", {
        "username": username, "minutes": minutes, "limit": settings.AXES_FAILURE_LIMIT,
    }, status=429)

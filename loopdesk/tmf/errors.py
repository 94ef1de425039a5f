"""Every error of the TMF API in the spec's shape: code, reason, message, status (+ `errors` per attribute)."""

from __future__ import annotations

import math
from typing import Any

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.response import Response

from loopdesk.core.errors import DomainError, ValidationFailed


class PreconditionFailed(DomainError):
    """The If-Match of the request is not the ticket's current version: nothing of the request was done."""

    status = 412
    code = "precondition_failed"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"relatedParty[0].id": ["..."]}, each message once per attribute (a URL field
    and an http(s) validator both say "Enter a valid URL.")."""
    out = _flatten(detail, prefix)
    return {name: list(dict.fromkeys(messages)) for name, messages in out.items()}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a list serializer's errors by index (DRF >= 3.15)
                name = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "body"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for k, v in _flatten(item, f"{prefix}[{index}]").items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "body"] = [str(detail)]
    return out


def error_body(code: str, reason: Any, http_status: int, errors: dict[str, list[str]] | None = None,
               message: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "reason": str(reason), "status": str(http_status), "@type": "Error"}
    if errors:
        body["errors"] = errors
        body["message"] = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
    elif message is not None:
        body["message"] = str(message)
    body.update(extra)
    return body


def tmf_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, ValidationFailed):
        body = error_body(exc.code, exc.message, exc.status, exc.errors)
        return Response(body, status=exc.status)
    if isinstance(exc, DomainError):
        extra = {k: v for k, v in exc.params.items() if k not in ("code", "reason", "status", "message")}
        return Response(error_body(exc.code, exc.message, exc.status, message=exc.message, **extra), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        field, messages = next(iter(errors.items()))
        reason = _("%(field)s: %(message)s") % {"field": field, "message": messages[0]}
        return Response(error_body("validation_error", reason, 400, errors), status=400)
    if isinstance(exc, exceptions.APIException):
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        detail = exc.detail if isinstance(exc.detail, str) else flatten_errors(exc.detail)
        if isinstance(detail, dict):
            return Response(error_body(exc.default_code, exc.default_detail, exc.status_code, detail),
                            status=exc.status_code, headers=headers)
        return Response(error_body(exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code,
                                   detail, exc.status_code, message=detail),
                        status=exc.status_code, headers=headers)
    return None

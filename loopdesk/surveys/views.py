"""The inbound SMS webhook (HMAC-signed by the gateway) and the one-time survey page."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from loopdesk.core.errors import ValidationFailed
from loopdesk.core.text import ascii_digits
from loopdesk.notify.gateways import sign
from loopdesk.surveys import services
from loopdesk.surveys.models import SCORE_WORDS, SurveyStatus

MAX_CLOCK_SKEW = 300
# The longest concatenated SMS (255 parts of 67 Chinese characters), escaped by the gateway as \uXXXX (6 bytes a
# character), is ~100 KB: it fits. A signed body over this is no SMS a phone can send; it is logged and acknowledged
# (outcome too_large), not refused: any answer but 2xx is retried by the gateway for ever.
MAX_BODY = 128 * 1024


def _error(status: int, message: Any, errors: dict[str, list[str]] | None = None) -> JsonResponse:
    data: dict[str, Any] = {"message": str(message)}
    if errors:
        data["errors"] = errors
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _check_signature(request: HttpRequest, body: bytes) -> JsonResponse | None:
    secret = settings.LOOPDESK_SMS_INBOUND_SECRET
    if not secret:
        return _error(503, _("Inbound SMS is not configured (LOOPDESK_SMS_INBOUND_SECRET)."))
    timestamp = request.headers.get("X-LoopDesk-Timestamp", "")
    signature = request.headers.get("X-LoopDesk-Signature", "")
    if not ascii_digits(timestamp) or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
        return _error(401, _("Missing or stale X-LoopDesk-Timestamp."))
    if not hmac.compare_digest(signature, sign(secret, timestamp, body)):
        return _error(401, _("Bad signature."))
    return None


def _parse(body: bytes) -> tuple[dict[str, Any], dict[str, list[str]]]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}, {"body": [str(_("The body is not valid JSON."))]}
    except RecursionError:  # e.g. 100,000 opening brackets: a 400 as for any unreadable body (loopdesk.core.api)
        return {}, {"body": [str(_("The request body is nested too deeply to be read."))]}
    if not isinstance(data, dict):
        return {}, {"body": [str(_("The body must be a JSON object."))]}
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    # The text has no limit of its own (the body's 64 KiB bounds it): a long text refused was retried by the
    # gateway for ever; it is kept whole and, unless it is a spam report, answered with the help text.
    for field, limit in (("id", 64), ("from", 21), ("to", 21), ("text", len(body))):
        value = data.get(field)
        # An empty or blank text is a message all the same (a mis-tap, an MMS without text): refused, the gateway
        # would retry it for ever; it is logged and answered as any text we do not understand.
        if not isinstance(value, str) or (field != "text" and not value.strip()):
            errors[field] = [str(_("This field is required."))]
        elif len(value) > limit:
            errors[field] = [str(_("At most %(limit)d characters.") % {"limit": limit})]
        else:
            clean[field] = value.strip()
    for field in ("from", "to"):
        number = clean.get(field, "").removeprefix("+")
        if field in clean and not ascii_digits(number):
            errors[field] = [str(_("Digits only."))]
    received = data.get("received_at")
    if received is not None:
        try:  # parse_datetime raises on a well-formed impossible time (Feb 30th, 25:00, an offset of +99:00)
            parsed = parse_datetime(received) if isinstance(received, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            errors["received_at"] = [str(_("An ISO 8601 time with its UTC offset."))]
        else:
            clean["received_at"] = parsed
    return clean, errors


@csrf_exempt
@require_POST
def inbound_sms(request: HttpRequest) -> JsonResponse:
    """POST from the SMS gateway: {"id", "from", "to", "text", "received_at"?}, signed like our outbound calls."""
    body = request.body  # whole (Django's DATA_UPLOAD_MAX_MEMORY_SIZE bounds it): the signature covers all of it
    refused = _check_signature(request, body)
    if refused is not None:
        return refused
    data, errors = _parse(body)
    if errors:
        return _error(400, _("The message was not accepted."), errors)
    if len(body) > MAX_BODY:
        result = services.log_oversized_inbound(gateway_id=data["id"], sender=data["from"], recipient=data["to"],
                                                text=data["text"], received_at=data.get("received_at"))
    else:
        result = services.handle_inbound(gateway_id=data["id"], sender=data["from"], recipient=data["to"],
                                         text=data["text"], received_at=data.get("received_at"))
    return JsonResponse({"outcome": result.inbound.outcome, "duplicate": result.duplicate})


@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the question (never records anything); only the POST of the form records the rating."""
    survey = services.survey_for_token(token)
    if survey is None:
        return render(request, "surveys/survey.html", {"state": "unknown"}, status=404)
    context: dict[str, Any] = {"survey": survey, "scores": sorted(SCORE_WORDS.items(), reverse=True)}
    now = dt.datetime.now(dt.UTC)
    if survey.status == SurveyStatus.ANSWERED:
        context["state"] = "answered"
    elif survey.status == SurveyStatus.EXPIRED or survey.expires_at <= now:
        context["state"] = "expired"
    else:
        context["state"] = "open"
    if request.method == "POST" and context["state"] == "open":
        raw = request.POST.get("score", "")
        score = int(raw) if ascii_digits(raw) and len(raw) < 4 else 0  # anything else: the service's field error
        try:
            services.do_rate_survey(survey=survey, score=score, via="web",
                                    comment=request.POST.get("comment", ""))
        except ValidationFailed as exc:
            # What the customer typed and chose stays in the form they correct.
            context.update(errors=exc.errors, comment=request.POST.get("comment", ""), chosen=score)
            return render(request, "surveys/survey.html", context, status=400)
        context["state"] = "thanks"
    elif request.method == "POST":
        context["errors"] = {"score": [_g("This survey can no longer be answered.")]}
        return render(request, "surveys/survey.html", context, status=409)
    return render(request, "surveys/survey.html", context)

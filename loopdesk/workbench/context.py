"""Template context for every page: the user's role flags (navigation) and the languages to switch to."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from loopdesk.followup.selectors import unread_alert_count
from loopdesk.workbench.common import RoleFlags


def workbench(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None:
        return {}
    context: dict[str, Any] = {"roles": RoleFlags(user)}
    if user.is_authenticated:
        # The top bar's alert badge: one indexed count, only when a page actually shows the top bar.
        context["unread_alerts"] = SimpleLazyObject(lambda: unread_alert_count(user))
    return context

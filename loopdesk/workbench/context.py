"""Template context for every page: the user's role flags (navigation) and the languages to switch to."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from loopdesk.workbench.common import RoleFlags


def workbench(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"roles": RoleFlags(user)}

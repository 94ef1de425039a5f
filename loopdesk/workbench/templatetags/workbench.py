"""Template helpers of the workbench: SLA badges with a live countdown, names in the user's language."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from loopdesk.workbench.queues import count_label
from loopdesk.workbench.sla import badge

register = template.Library()


@register.inclusion_tag("workbench/partials/sla_badge.html")
def sla_badge(ticket: Any) -> dict[str, Any]:
    return {"badge": badge(ticket, timezone.now())}


@register.filter
def dn(obj: Any) -> str:
    """An org unit's or category's name in the active language (English name when there is one)."""
    if obj is None:
        return ""
    display = getattr(obj, "display_name", None)
    if callable(display):
        return str(display(get_language()))
    return str(obj)


@register.filter
def category_label(ticket: Any) -> str:
    """Top category › category, from the two categories loaded with the ticket."""
    leaf = dn(ticket.category)
    if ticket.category_root_id == ticket.category_id:
        return leaf
    return f"{dn(ticket.category_root)} › {leaf}"


@register.simple_tag(takes_context=True)
def query_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters replaced (empty value removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def hours(minutes: int) -> str:
    """Minutes as hours, e.g. 2880 → "48 h"; keeps a decimal when needed."""
    value = (minutes or 0) / 60
    return f"{value:g} h"


@register.filter
def capped(count: int) -> str:
    """A count from `queues.capped_count`: the number, or "1,000+" past the cap."""
    return count_label(count)

"""Template helpers of the workbench: SLA badges with a live countdown, names in the user's language."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from loopdesk.workbench.queues import count_label
from loopdesk.workbench.sla import badge

register = template.Library()


@register.simple_tag
def sla_badge(ticket: Any) -> SafeString:
    """The badge of partials/sla_badge.html, built here: it is on every row of every list, and a template
    render per row cost more than the rest of the row."""
    b = badge(ticket, timezone.now())
    if b.due is None:
        return format_html('<span class="badge sla-{}" title="{}">{}</span>', b.state, b.label, b.label)
    return format_html(
        '<span class="badge sla-{}" title="{}">{} · <time class="countdown" datetime="{}">{}</time></span>',
        b.state, b.label, b.label, b.due.isoformat(), dateformat.format(timezone.localtime(b.due), "m-d H:i"))


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

"""Ticket timeline → TMF621 events, written to the outbox in the ticket's own transaction.

One outbox row per (event, subscriber): a subscriber that is down delays only its own rows, never the
ticket work or other subscribers. The event id is the same for every subscriber (ticket, timeline
sequence, event type), so a receiver can de-duplicate redeliveries on it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone, translation

from loopdesk.outbox.services import enqueue
from loopdesk.sla import refcache
from loopdesk.tickets.models import Ticket
from loopdesk.tmf import mapping
from loopdesk.tmf.auth import tickets_for
from loopdesk.tmf.delivery import CHANNEL
from loopdesk.tmf.models import EventSubscription, SubscriptionKind
from loopdesk.tmf.v4.representation import to_tmf, with_related

FILTER_VALUES = {
    "ticketType": lambda t: {mapping.ticket_type_for(t.contact_type)},
    "severity": lambda t: {mapping.PRIORITY_TO_SEVERITY[t.priority]},
    "status": lambda t: {mapping.tmf_status(t.status)},
    "channel.id": lambda t: {t.channel},
}


def _matches(sub: EventSubscription, event_type: str, ticket: Ticket) -> bool:
    if sub.event_types and event_type not in sub.event_types:
        return False
    for name, wanted in (sub.filters or {}).items():
        getter = FILTER_VALUES.get(name)
        if getter is None or not getter(ticket) & set(wanted):
            return False
    return True


def _scope_user(sub: EventSubscription) -> Any:
    """Whose sight limits the events: the scope user; for a hub listener registered with a token, that token's
    service user even when the scope user was cleared (the token's units limit it either way). None: everything
    (an admin webhook without a scope user)."""
    if sub.owner_id is not None:
        return sub.owner
    if sub.kind == SubscriptionKind.HUB and sub.token is not None:
        return sub.token.user
    return None


def _in_scope(sub: EventSubscription, ticket: Ticket) -> bool:
    user = _scope_user(sub)
    if user is None:
        return True
    return tickets_for(user, sub.token, Ticket.objects.filter(pk=ticket.pk)).exists()


def _linked_in_scope(sub: EventSubscription, ticket: Ticket) -> frozenset[int] | None:
    """The work orders linked to `ticket` (links prefetched) the subscriber may see; None: all (no owner)."""
    user = _scope_user(sub)
    if user is None:
        return None
    ids = {link.to_ticket_id for link in ticket.links_out.all()} | {
        link.from_ticket_id for link in ticket.links_in.all()}
    if not ids:
        return frozenset()
    return frozenset(tickets_for(user, sub.token, Ticket.objects.filter(pk__in=ids)).values_list("pk",
                                                                                                    flat=True))


def envelope(event_id: str, event_type: str, ticket_body: dict[str, Any], at: Any, field_path: str = "") -> dict:
    """The v4 notification structure (e.g. TroubleTicketStatusChangeEvent)."""
    body: dict[str, Any] = {
        "eventId": event_id,
        "eventTime": timezone.localtime(timezone.now()).isoformat(),
        "eventType": event_type,
        "timeOcurred": timezone.localtime(at).isoformat(),
        "domain": "troubleTicket",
        "title": event_type,
        "event": {"troubleTicket": ticket_body},
    }
    if field_path:
        body["fieldPath"] = field_path
    return body


def on_ticket_event(ticket: Ticket, event: Any) -> None:
    """Listener registered with `loopdesk.tickets.events` (runs inside the service's transaction)."""
    tmf_events = mapping.events_for(event.kind, event.from_status, event.to_status)
    if not tmf_events or not refcache.any_active_subscription():
        return
    now = timezone.now()
    subs = [sub for sub in EventSubscription.objects.filter(is_active=True).select_related(
            "owner__unit", "token__user__unit") if sub.is_authorised(now)]
    if not subs:
        return
    scope_cache: dict[int, bool] = {}
    # By the subscriber's system (its externalId, as GET shows it) and the linked work orders it may see.
    bodies: dict[tuple[str | None, frozenset[int] | None], dict[str, Any]] = {}
    seen_cache: dict[int, frozenset[int] | None] = {}
    loaded: Ticket | None = None
    for tmf_event in tmf_events:
        event_id = f"{ticket.pk}-{event.seq}-{tmf_event.event_type}"
        for sub in subs:
            if not _matches(sub, tmf_event.event_type, ticket):
                continue
            if sub.pk not in scope_cache:
                scope_cache[sub.pk] = _in_scope(sub, ticket)
            if not scope_cache[sub.pk]:
                continue
            system = sub.token.system if sub.token is not None else None
            if loaded is None:
                loaded = with_related(Ticket.objects.filter(pk=ticket.pk)).get()
            if sub.pk not in seen_cache:
                seen_cache[sub.pk] = _linked_in_scope(sub, loaded)
            key = (system, seen_cache[sub.pk])
            if key not in bodies:
                # Only the linked work orders the subscriber may see (as its GET shows them).
                loaded.tmf_visible_links = key[1]  # type: ignore[attr-defined]
                # Names (channel, category ...) in the deployment's language, whichever user's action (in
                # whichever language) made the event: a listener sees the same words for the same thing.
                with translation.override(settings.LANGUAGE_CODE):
                    bodies[key] = to_tmf(loaded, system=system)
            body = bodies[key]
            enqueue(
                channel=CHANNEL, topic=tmf_event.event_type, dedupe_key=f"tmf:{sub.pk}:{event_id}",
                payload=envelope(event_id, tmf_event.event_type, body, event.created_at, tmf_event.field_path),
                target=str(sub.pk), ticket_id=ticket.pk, region=ticket.region,
            )

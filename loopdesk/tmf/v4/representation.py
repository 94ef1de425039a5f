"""A work order rendered as a TMF621 v4 TroubleTicket (personal data masked)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from loopdesk.tickets.choices import Channel, EventKind, Visibility
from loopdesk.tickets.models import Ticket, TicketEvent, TicketLink
from loopdesk.tickets.services import CREATED_ROWS
from loopdesk.tmf import mapping

BASE_PATH = "/tmf-api/troubleTicket/v4"
TICKET_TYPE = "TroubleTicket"
ALWAYS = ("id", "href")


def ticket_href(pk: int | str) -> str:
    return f"{BASE_PATH}/troubleTicket/{pk}"


def iso(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def with_related(qs: QuerySet[Ticket], *, known_empty: tuple[str, ...] = ()) -> QuerySet[Ticket]:
    """Everything the full representation reads, in a fixed number of queries per page.

    `known_empty`: relations the caller knows to be empty (e.g. of a ticket it has just created without
    attachments): they are not queried, see `mark_empty`.
    """
    timeline = TicketEvent.objects.filter(Q(kind=EventKind.NOTE) | ~Q(to_status="")).select_related("actor")
    lookups: list[Any] = [
        Prefetch("events", queryset=timeline.order_by("seq"), to_attr="tmf_events"),
        "attachments",
        "external_refs",
        Prefetch("links_out", queryset=TicketLink.objects.select_related("to_ticket")),
        Prefetch("links_in", queryset=TicketLink.objects.select_related("from_ticket")),
    ]
    lookups = [lk for lk in lookups if (lk.prefetch_through if isinstance(lk, Prefetch) else lk) not in known_empty]
    return qs.select_related(
        "category", "customer", "first_responder", "handler_unit", "handler_user"
    ).prefetch_related(*lookups)


def mark_empty(ticket: Ticket, relations: tuple[str, ...]) -> Ticket:
    """Record `relations` of `ticket` as empty, as a prefetch that found nothing would."""
    cache = ticket.__dict__.setdefault("_prefetched_objects_cache", {})
    for name in relations:
        cache[name] = getattr(ticket, name).none()
    return ticket


def _prefetched(ticket: Ticket, name: str, rows: list[Any]) -> None:
    """Store `rows` as the prefetched content of the relation `name`, as `prefetch_related` does."""
    qs = getattr(ticket, name).all()
    qs._result_cache = rows
    qs._prefetch_done = True
    ticket.__dict__.setdefault("_prefetched_objects_cache", {})[name] = qs


def as_created(ticket: Ticket) -> Ticket | None:
    """The ticket `do_create_ticket` has just returned, ready for `to_tmf` with no query: the timeline, links
    and external ids the creation wrote (`services.CREATED_ROWS`), attachments none. The same resource a
    read-back with `with_related` gives. None when the instance does not carry them (not from a creation)."""
    rows = ticket.__dict__.get(CREATED_ROWS)
    if rows is None:
        return None
    ticket.tmf_events = sorted(  # type: ignore[attr-defined]
        (e for e in rows["events"] if e.kind == EventKind.NOTE or e.to_status), key=lambda e: e.seq)
    _prefetched(ticket, "links_out", [link for link in rows["links"] if link.from_ticket_id == ticket.pk])
    _prefetched(ticket, "links_in", [link for link in rows["links"] if link.to_ticket_id == ticket.pk])
    _prefetched(ticket, "external_refs", list(rows["external_refs"]))
    _prefetched(ticket, "attachments", [])
    return ticket


def _events(ticket: Ticket) -> list[TicketEvent]:
    events = getattr(ticket, "tmf_events", None)
    if events is None:
        events = list(ticket.events.filter(Q(kind=EventKind.NOTE) | ~Q(to_status="")).select_related("actor")
                      .order_by("seq"))
        ticket.tmf_events = events  # type: ignore[attr-defined]
    return events


def _status_changes(ticket: Ticket) -> list[dict[str, Any]]:
    """One entry per change of the TMF status. Several workflow statuses map to one TMF status (dispatched,
    accepted, transferred... are all inProgress): consecutive steps within it are one entry, the step that
    entered it (its date and note), not the same status repeated."""
    out: list[dict[str, Any]] = []
    for e in _events(ticket):
        if not e.to_status:
            continue
        status = mapping.tmf_status(e.to_status)
        if out and out[-1]["status"] == status:
            continue
        out.append({"status": status, "changeDate": iso(e.created_at), "changeReason": _change_reason(ticket, e),
                    "@type": "StatusChange"})
    return out


def _change_reason(ticket: Ticket, event: TicketEvent | None) -> str:
    """The note of the step that set the status; the registration's note is the description (the timeline shows it
    there), which is no reason: the registration and its channel are."""
    if event is None:
        return ""
    if event.kind == EventKind.CREATE:
        # In the deployment's language, as the other reasons (texts of the timeline): the same whatever the request's
        # language, so that it is recognised when sent back unchanged (PATCH) or read from an event.
        with translation.override(settings.LANGUAGE_CODE):
            return str(_("Registered through %(channel)s") % {"channel": Channel(ticket.channel).label})
    return event.note


def _notes(ticket: Ticket) -> list[dict[str, Any]]:
    return [
        {"id": str(e.seq), "author": str(e.actor) if e.actor else "", "date": iso(e.created_at), "text": e.note,
         "@type": "CustomerNote" if e.visibility == Visibility.CUSTOMER else "InternalNote"}
        for e in _events(ticket) if e.kind == EventKind.NOTE
    ]


def _parties(ticket: Ticket) -> list[dict[str, Any]]:
    customer = ticket.customer
    parties = [
        {"id": str(customer.pk), "href": f"/api/customers/{customer.pk}/", "name": customer.masked_msisdn,
         "role": mapping.CUSTOMER_ROLE, "@referredType": "Customer"},
        {"id": str(ticket.first_responder_id), "name": str(ticket.first_responder),
         "role": mapping.FIRST_RESPONDER_ROLE, "@referredType": "Individual"},
        {"id": str(ticket.handler_unit_id), "href": f"/api/units/{ticket.handler_unit_id}/",
         "name": ticket.handler_unit.display_name(get_language()), "role": mapping.HANDLER_ROLE,
         "@referredType": "Organization"},
    ]
    if ticket.handler_user_id:
        parties.append({"id": str(ticket.handler_user_id), "name": str(ticket.handler_user),
                        "role": mapping.HANDLER_ROLE, "@referredType": "Individual"})
    return parties


def only_visible_links(tickets: Iterable[Ticket], scope: Callable[[QuerySet[Ticket]], QuerySet[Ticket]]) -> None:
    """Mark on each of `tickets` (their links prefetched) the linked work orders the caller may see (`scope`: the
    caller's tickets of a queryset), in one query for all: `troubleTicketRelationship` names only those (one outside
    the caller's scope is left out, as the ticket page counts it without its number)."""
    tickets = list(tickets)
    ids = {link.to_ticket_id for t in tickets for link in t.links_out.all()} | {
        link.from_ticket_id for t in tickets for link in t.links_in.all()}
    seen = set(scope(Ticket.objects.filter(pk__in=ids)).values_list("pk", flat=True)) if ids else set()
    for ticket in tickets:
        ticket.tmf_visible_links = seen  # type: ignore[attr-defined]


def _relationships(ticket: Ticket) -> list[dict[str, Any]]:
    seen = getattr(ticket, "tmf_visible_links", None)  # None: a listener's copy (events), not a caller's
    out = [
        {"id": str(link.to_ticket_id), "href": ticket_href(link.to_ticket_id), "name": link.to_ticket.number,
         "relationshipType": mapping.RELATIONSHIP_OUT[link.kind]}
        for link in ticket.links_out.all() if seen is None or link.to_ticket_id in seen
    ]
    out += [
        {"id": str(link.from_ticket_id), "href": ticket_href(link.from_ticket_id), "name": link.from_ticket.number,
         "relationshipType": mapping.RELATIONSHIP_IN[link.kind]}
        for link in ticket.links_in.all() if seen is None or link.from_ticket_id in seen
    ]
    return out


def attachment_href(ticket_pk: int | str, attachment_pk: int | str) -> str:
    """Where the attachment's file is downloaded (with the API token, within the ticket's scope)."""
    return f"{ticket_href(ticket_pk)}/attachment/{attachment_pk}"


def _attachments(ticket: Ticket) -> list[dict[str, Any]]:
    return [
        {"id": str(a.pk), "href": attachment_href(ticket.pk, a.pk), "url": attachment_href(ticket.pk, a.pk),
         "name": a.filename, "mimeType": a.content_type, "size": {"amount": a.size, "units": "bytes"},
         "description": "customer" if a.visibility == Visibility.CUSTOMER else "internal",
         "@type": "AttachmentRef"}
        for a in ticket.attachments.all()
    ]


def external_id(ticket: Ticket, system: str | None = None) -> str | None:
    """The system's own id of the ticket; for a system without one, the first (oldest) id it has elsewhere."""
    refs = sorted(ticket.external_refs.all(), key=lambda ref: ref.pk)
    for ref in refs:
        if system and ref.system == system:
            return ref.external_id
    return refs[0].external_id if refs else None


def _characteristics(ticket: Ticket) -> list[dict[str, Any]]:
    values: list[tuple[str, Any]] = [
        ("number", ticket.number),
        ("province", ticket.province),
        ("region", ticket.region),
        ("workflowStatus", ticket.status),
        ("categoryCode", ticket.category.code),
        ("customerTier", ticket.tier),
        ("dueDate", iso(ticket.due_at)),
        ("slaPaused", ticket.sla_paused),
        ("isOvertime", ticket.is_overtime),
        ("isProblem", ticket.is_problem),
        ("isRepeat", ticket.is_repeat),
        ("version", ticket.version),
        ("externalIds", [f"{r.system}:{r.external_id}" for r in ticket.external_refs.all()]),
    ]
    kinds = {bool: "boolean", int: "integer", list: "array"}
    return [{"name": n, "valueType": kinds.get(type(v), "string"), "value": v} for n, v in values]


def _last_status_change(ticket: Ticket) -> TicketEvent | None:
    changes = [e for e in _events(ticket) if e.to_status]
    return changes[-1] if changes else None


FIELDS: dict[str, Callable[[Ticket, str | None], Any]] = {
    "id": lambda t, s: str(t.pk),
    "href": lambda t, s: ticket_href(t.pk),
    "name": lambda t, s: t.title or t.number,
    "description": lambda t, s: t.description,
    "creationDate": lambda t, s: iso(t.created_at),
    "lastUpdate": lambda t, s: iso(t.updated_at),
    "expectedResolutionDate": lambda t, s: iso(t.committed_at),
    "requestedResolutionDate": lambda t, s: iso(t.requested_resolution_at),
    "resolutionDate": lambda t, s: iso(min((d for d in (t.replied_at, t.answered_at) if d), default=None)),
    "severity": lambda t, s: mapping.PRIORITY_TO_SEVERITY[t.priority],
    "priority": lambda t, s: mapping.PRIORITY_TO_TMF_PRIORITY[t.priority],
    "ticketType": lambda t, s: mapping.ticket_type_for(t.contact_type),
    "status": lambda t, s: mapping.tmf_status(t.status),
    "statusChangeDate": lambda t, s: iso(getattr(_last_status_change(t), "created_at", None) or t.created_at),
    "statusChangeReason": lambda t, s: _change_reason(t, _last_status_change(t)),
    "statusChange": lambda t, s: _status_changes(t),
    "externalId": lambda t, s: external_id(t, s),
    "channel": lambda t, s: {"id": t.channel, "name": str(Channel(t.channel).label), "@referredType": "Channel"},
    "relatedParty": lambda t, s: _parties(t),
    "relatedEntity": lambda t, s: [
        {"id": t.category.code, "href": f"/api/categories/{t.category_id}/",
         "name": t.category.display_name(get_language()), "role": mapping.CATEGORY_ROLE, "@referredType": "Category"}
    ],
    "note": lambda t, s: _notes(t),
    "attachment": lambda t, s: _attachments(t),
    "troubleTicketRelationship": lambda t, s: _relationships(t),
    "characteristic": lambda t, s: _characteristics(t),
    "@type": lambda t, s: TICKET_TYPE,
}


def _only(value: Any, keys: set[str]) -> Any:
    """`value` (an object, or a list of them) with only the attributes `keys`."""
    if isinstance(value, list):
        return [_only(item, keys) for item in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in keys}
    return value


def to_tmf(ticket: Ticket, *, fields: Iterable[str] | None = None, system: str | None = None) -> dict[str, Any]:
    """The TroubleTicket for `ticket`; with `fields`, only those attributes (plus id and href). A dotted name
    (`relatedParty.name`, TMF630) selects attributes inside a structured attribute."""
    if fields is None:
        return {name: FIELDS[name](ticket, system) for name in FIELDS}
    whole = set(ALWAYS)
    inner: dict[str, set[str]] = {}
    for name in fields:
        top, dot, sub = name.partition(".")
        if dot:
            inner.setdefault(top, set()).add(sub)
        else:
            whole.add(name)
    body: dict[str, Any] = {}
    for name in [*ALWAYS, *(f for f in FIELDS if f not in ALWAYS)]:
        if name in whole:
            body[name] = FIELDS[name](ticket, system)
        elif name in inner:
            body[name] = _only(FIELDS[name](ticket, system), inner[name])
    return body

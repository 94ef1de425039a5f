"""TMF621 v4 operations translated into LoopDesk service calls (the same services the UI uses).

Nothing here saves a ticket: every change is a `loopdesk.tickets.services.do_*` call, so permissions,
timeline, audit, SLA and outbox events are exactly those of the UI.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.services import record_audit
from loopdesk.core.errors import (
    ConflictError,
    InvalidTransition,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from loopdesk.core.text import is_db_id
from loopdesk.customers.models import Customer
from loopdesk.customers.services import get_or_create_customer
from loopdesk.sla import refcache
from loopdesk.tickets import policy, services
from loopdesk.tickets.choices import (
    Action,
    CallbackVerdict,
    Channel,
    EventKind,
    LinkKind,
    RejectReason,
    Status,
    Visibility,
)
from loopdesk.tickets.models import Category, ExternalRef, Ticket
from loopdesk.tmf import mapping
from loopdesk.tmf.auth import check_registers_in_scope, tickets_for
from loopdesk.tmf.errors import PreconditionFailed
from loopdesk.tmf.models import ApiToken
from loopdesk.tmf.v4.representation import FIELDS, attachment_href, external_id, ticket_href

DEFAULT_SYSTEM = "TMF"
# Fields the services name, and the TMF attribute that carried them.
SERVICE_FIELD_TO_TMF = {
    "info": "statusChangeReason", "question": "statusChangeReason", "reason": "statusChangeReason",
    "resolution": "statusChangeReason", "answer": "statusChangeReason", "note": "statusChangeReason",
    "description": "description", "title": "name", "contact_type": "ticketType", "priority": "priority",
    "channel": "channel.id", "category": "relatedEntity", "customer": "relatedParty", "msisdn": "relatedParty",
    "committed_at": "expectedResolutionDate", "requested_resolution_at": "requestedResolutionDate",
    "external_refs": "externalId", "file": "attachment",
    "to_unit": "status", "duplicate_of": "troubleTicketRelationship", "other": "troubleTicketRelationship",
    "kind": "troubleTicketRelationship", "text": "note", "visibility": "note",
}


def _tmf_errors(exc: ValidationFailed) -> ValidationFailed:
    return ValidationFailed({SERVICE_FIELD_TO_TMF.get(k, k): v for k, v in exc.errors.items()})


def system_of(token: ApiToken | None) -> str:
    return token.system if token is not None else DEFAULT_SYSTEM


def _role(item: dict[str, Any]) -> str:
    return (item.get("role") or "").strip().lower()


def _customer_party(parties: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The related party with role customer, and its index in `relatedParty`."""
    customers = [(index, p) for index, p in enumerate(parties) if _role(p) == mapping.CUSTOMER_ROLE.lower()]
    if len(customers) != 1:
        raise ValidationFailed(field="relatedParty", message=_(
            "Name exactly one related party with role “customer” whose id is the customer's mobile number."))
    return customers[0]


def _customer_name_errors(index: int, party: dict[str, Any]) -> dict[str, list[str]]:
    name = (party.get("name") or "").strip()
    limit = Customer._meta.get_field("name").max_length
    if limit is not None and len(name) > limit:
        return {f"relatedParty[{index}].name": [str(_("At most %(limit)d characters.") % {"limit": limit})]}
    return {}


def _customer_for(user: Any, msisdn: str, name: str) -> Customer:
    """The customer by mobile number. A new customer record, or a known customer without a name, gets the name the
    caller sent (audited); a known customer's stored name is kept whatever was sent (the profile's name is changed
    there, not by registering a ticket). Never refused for the name: a 400 on a name that differs from the stored
    one would tell any caller whether a guessed name belongs to a mobile number; the name sent is kept on the ticket
    instead (`_name_given_note`)."""
    try:
        customer = get_or_create_customer(msisdn=msisdn, acting_user=user, defaults={"name": name} if name else None)
    except ValidationFailed as exc:
        raise ValidationFailed(field="relatedParty", message=exc.message) from None
    if not name or customer.name.strip():
        return customer
    # Only if the record still has the (empty) name read: a name given meanwhile by another request is kept.
    if Customer.objects.filter(pk=customer.pk, name=customer.name).update(name=name):
        customer.name = name
        record_audit(user, "customer.update", customer, data={"fields": ["name"]})
    else:
        customer.refresh_from_db(fields=["name"])
    return customer


def customer_name_sent(data: dict[str, Any]) -> bool:
    """Whether a POST sends the customer's name (kept as a note on the ticket, `_name_given_note`)."""
    return any(_role(p) == mapping.CUSTOMER_ROLE.lower() and (p.get("name") or "").strip()
               for p in data.get("relatedParty") or [])


def _name_given_note(user: Any, token: ApiToken | None, ticket: Ticket, name: str) -> None:
    """The customer's name as the caller sent it, an internal note on the new ticket: nothing is dropped when it
    differs from the stored name, and the note is there whether it differs or not, so that the response (which shows
    internal notes to the integration) does not tell whether the name sent is the customer's."""
    if name:
        integration = token.name if token is not None else system_of(token)
        services.do_add_note(acting_user=user, ticket=ticket, visibility=Visibility.INTERNAL, text=_stored(
            _("Name given by %(integration)s: %(name)s"), integration=integration, name=name))


NOTE_TYPES = ("Note", "InternalNote", "CustomerNote")


def _new_note_errors(notes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """A new note's author is the token's service user and its date the time it is added: sent, they would be
    dropped, so they are refused (an echoed note, with its id, may carry them)."""
    errors: dict[str, list[str]] = {}
    for index, note in enumerate(notes):
        if "id" in note:
            continue
        if note.get("@type", "Note") not in NOTE_TYPES:
            errors[f"note[{index}].@type"] = [str(_(
                "Use CustomerNote for a note the customer may see, InternalNote or Note (or none) for staff only."))]
        for name in ("author", "date"):
            if name in note:
                errors[f"note[{index}].{name}"] = [str(_(
                    "Set by LoopDesk for a new note (the API token's user, the time it is added); put other "
                    "details in the text."))]
    return errors


def _other_party_errors(parties: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {f"relatedParty[{index}].role": [str(_(
        "Only the customer can be named when registering; the first responder is the API token's user and the "
        "handling unit is chosen by dispatch."))]
        for index, party in enumerate(parties) if _role(party) != mapping.CUSTOMER_ROLE.lower()}


def _category(entities: list[dict[str, Any]]) -> Category:
    cats = [e for e in entities if _role(e) == mapping.CATEGORY_ROLE]
    if len(cats) != 1:
        raise ValidationFailed(field="relatedEntity", message=_(
            "Name exactly one related entity with role “category” whose id is a category code."))
    category = refcache.cached("categories_by_code", lambda: {
        c.code: c for c in refcache.categories().values() if c.is_active}).get(cats[0]["id"])
    if category is None:
        raise ValidationFailed(field="relatedEntity", message=_("Unknown or inactive category “%(code)s”.")
                               % {"code": cats[0]["id"]})
    others = [e for e in entities if _role(e) != mapping.CATEGORY_ROLE]
    if others:
        raise ValidationFailed(field="relatedEntity", message=_(
            "Only a related entity with role “category” is supported; put other references in a note."))
    return category


def _upload(item: dict[str, Any], index: int = 0) -> SimpleUploadedFile:
    if not item.get("content"):
        raise ValidationFailed(field="attachment", message=_(
            "Attachments are accepted by value only: send the file in “content” (base64) with “mimeType”."))
    try:
        data = base64.b64decode(item["content"], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(field="attachment", message=_("The attachment content is not valid base64.")) from None
    amount = (item.get("size") or {}).get("amount")
    if amount is not None and amount != len(data):
        raise ValidationFailed(field=f"attachment[{index}].size", message=_(
            "The size does not match the content (%(size)d bytes): leave it out, LoopDesk measures it.")
            % {"size": len(data)})
    return SimpleUploadedFile(item.get("name") or "attachment", data, content_type=item.get("mimeType") or "")


# An attachment's `description` as GET shows it: who may see it (the attachment's visibility).
ATTACHMENT_VISIBILITY = {"customer": Visibility.CUSTOMER, "internal": Visibility.INTERNAL}


def _attachment_visibility(item: dict[str, Any]) -> str:
    return ATTACHMENT_VISIBILITY.get((item.get("description") or "internal").strip().lower(), Visibility.INTERNAL)


def _new_attachment_errors(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """What a new attachment carries beyond its file is used or refused, never dropped: `description` is who may see
    it (as GET shows it); a `url` or `href` or an `attachmentType` LoopDesk would not keep."""
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        if "id" in item:
            continue
        description = (item.get("description") or "").strip().lower()
        if description and description not in ATTACHMENT_VISIBILITY:
            errors[f"attachment[{index}].description"] = [str(_(
                "Use “customer” for an attachment the customer may see, “internal” (or none) for staff only."))]
        for name in ("url", "href"):  # a reference to a file elsewhere: LoopDesk would not fetch it
            if item.get(name):
                errors[f"attachment[{index}].{name}"] = [str(_(
                    "Attachments are accepted by value only: send the file in “content” (base64) with “mimeType”."))]
        if item.get("attachmentType"):
            errors[f"attachment[{index}].attachmentType"] = [str(_(
                "LoopDesk does not keep an attachment type: the file's type is taken from its name and content."))]
    return errors


def _related_ticket(user: Any, token: ApiToken | None, item: dict[str, Any]) -> Ticket:
    """The other ticket of a relationship, within the request's scope (the user's and the token's units)."""
    ticket = tickets_for(user, token).filter(pk=item["id"]).first() if is_db_id(str(item["id"])) else None
    if ticket is None:
        raise ValidationFailed(field="troubleTicketRelationship", message=_("Related trouble ticket %(id)s not found.")
                               % {"id": item["id"]})
    return ticket


# Every relationshipType LoopDesk writes or returns: a client may send the array it received back (merge patch).
KNOWN_RELATIONSHIP_TYPES = {"ischild", *(k.lower() for k in (*mapping.RELATIONSHIP_OUT.values(),
                                                             *mapping.RELATIONSHIP_IN.values()))}


def _check_relationship_types(items: list[dict[str, Any]]) -> None:
    """An unknown relationshipType is a 400 even on a ticket already linked to that id (not skipped as an echo)."""
    for item in items:
        if item["relationshipType"].strip().lower() not in KNOWN_RELATIONSHIP_TYPES:
            raise ValidationFailed(field="troubleTicketRelationship", message=_(
                "Unsupported relationshipType “%(type)s”: use isChild, isParent, isDuplicateOf or relatedTo.")
                % {"type": item["relationshipType"]})


def _link_kind(relationship_type: str) -> str:
    kinds = {"isparent": LinkKind.PARENT, "isduplicateof": LinkKind.DUPLICATE, "relatedto": LinkKind.RELATED}
    kind = kinds.get(relationship_type.strip().lower())
    if kind is None:
        raise ValidationFailed(field="troubleTicketRelationship", message=_(
            "Unsupported relationshipType “%(type)s”: use isChild, isParent, isDuplicateOf or relatedTo.")
            % {"type": relationship_type})
    return kind


def _add_relationships(user: Any, token: ApiToken | None, ticket: Ticket, items: list[dict[str, Any]], *,
                       skip_child: bool) -> None:
    for item in items:
        rel = item["relationshipType"].strip().lower()
        other = _related_ticket(user, token, item)
        if rel == "ischild":
            if not skip_child:
                services.do_link_tickets(acting_user=user, ticket=other, other=ticket, kind=LinkKind.PARENT)
            continue
        kind = _link_kind(item["relationshipType"])
        services.do_link_tickets(acting_user=user, ticket=ticket, other=other, kind=kind)


def create_ticket(user: Any, token: ApiToken | None, data: dict[str, Any]) -> Ticket:
    """POST /troubleTicket: register (and with status inProgress, dispatch) a work order.

    One reading of the reference data for the whole request (the category code and the creation see the same
    copy, and the reference token is read once, not twice)."""
    with refcache.pinned():
        return _create_ticket(user, token, data)


def _create_ticket(user: Any, token: ApiToken | None, data: dict[str, Any]) -> Ticket:
    check_registers_in_scope(user, token)
    errors: dict[str, list[str]] = {}
    contact_type = mapping.contact_type_for(data["ticketType"])
    if contact_type is None:
        errors["ticketType"] = [str(_("Unknown ticketType; use complaint, consultation, suggestion, fault or "
                                      "appeal."))]
    priority = mapping.priority_for(data.get("severity"), None)
    if priority is None:
        errors["severity"] = [str(_("Unknown severity; use Critical, Major or Minor."))]
    if data.get("priority"):
        priority = mapping.priority_for(None, data["priority"]) or priority
        if mapping.priority_for(None, data["priority"]) is None:
            errors["priority"] = [str(_("Unknown priority; use Critical, High, Medium or Low."))]
    channel = (data.get("channel") or {}).get("id", Channel.API)
    if channel not in Channel.values:
        errors["channel.id"] = [str(_("Unknown channel “%(id)s”.") % {"id": channel})]
    status = data.get("status")
    if status not in (None, mapping.ACKNOWLEDGED, mapping.IN_PROGRESS):
        errors["status"] = [str(_("A new trouble ticket is acknowledged, or inProgress to dispatch it at once."))]
    reason = (data.get("statusChangeReason") or "").strip()
    if reason and status != mapping.IN_PROGRESS:
        errors["statusChangeReason"] = [str(_(
            "A reason goes with a status change: send status inProgress to dispatch with it, or put the text in a "
            "note."))]
    relationships = data.get("troubleTicketRelationship") or []
    parents = [r for r in relationships if r["relationshipType"].strip().lower() == "ischild"]
    if len(parents) > 1:
        errors["troubleTicketRelationship"] = [str(_("A trouble ticket has at most one parent."))]
    try:
        category = _category(data["relatedEntity"])
    except ValidationFailed as exc:
        errors.update(exc.errors)
        category = None
    try:
        customer_index, customer_party = _customer_party(data["relatedParty"])
        msisdn = customer_party["id"]
        errors.update(_customer_name_errors(customer_index, customer_party))
    except ValidationFailed as exc:
        errors.update(exc.errors)
        customer_index, customer_party, msisdn = 0, {}, ""
    errors.update(_new_note_errors(data.get("note") or []))
    errors.update(_other_party_errors(data["relatedParty"]))
    for name in ("note", "attachment"):
        for index, item in enumerate(data.get(name) or []):
            if "id" in item:
                errors[f"{name}[{index}].id"] = [str(_(
                    "A new trouble ticket has no notes or attachments yet: leave out the id."))]
    errors.update(_new_attachment_errors(data.get("attachment") or []))
    errors.update(_reference_errors(user, token, data))
    if errors:
        raise ValidationFailed(errors)
    _check_not_registered_already(user, token, data.get("externalId") or "")
    attachments = data.get("attachment") or []
    uploads = [_upload(item, index) for index, item in enumerate(attachments)]
    for upload in uploads:
        try:
            services.validate_upload(upload)
        except ValidationFailed as exc:
            raise _tmf_errors(exc) from None
    parent = _related_ticket(user, token, parents[0]) if parents else None
    external = {system_of(token): data["externalId"]} if data.get("externalId") else None
    try:
        with transaction.atomic():
            customer_name = (customer_party.get("name") or "").strip()
            customer = _customer_for(user, msisdn, customer_name)
            ticket = services.do_create_ticket(
                acting_user=user, customer=customer, contact_type=contact_type or "", category=category,
                channel=channel, description=data["description"], priority=priority or "", title=data.get("name", ""),
                committed_at=data.get("expectedResolutionDate"),
                requested_resolution_at=data.get("requestedResolutionDate"), external_refs=external, parent=parent,
                dispatch=status == mapping.IN_PROGRESS, dispatch_note=reason,
            )
            _name_given_note(user, token, ticket, customer_name)
            _add_notes(user, ticket, data.get("note") or [])
            for upload, item in zip(uploads, attachments, strict=True):
                services.do_add_attachment(acting_user=user, ticket=ticket, upload=upload,
                                           visibility=_attachment_visibility(item))
            _add_relationships(user, token, ticket, relationships, skip_child=True)
    except ValidationFailed as exc:
        if "external_refs" in exc.errors and data.get("externalId"):
            # Registered by another request between our check and our write (two POSTs at once, the loser waits on
            # the unique index until the winner commits): the same 409 as for a retry, now that it can be seen.
            _check_not_registered_already(user, token, data["externalId"])
        raise _tmf_errors(exc) from None
    return ticket


def _check_not_registered_already(user: Any, token: ApiToken | None, value: str) -> None:
    """A POST repeated with the same externalId (a retry after a lost answer, say) registers nothing and answers
    409 with the trouble ticket already registered, when the caller may see it (otherwise the 400 of the service,
    which tells nothing of a ticket outside its scope)."""
    if not value:
        return
    taken = (ExternalRef.objects.filter(system=system_of(token), external_id=value)
             .values_list("ticket_id", flat=True).first())
    if taken is not None and tickets_for(user, token).filter(pk=taken).exists():
        raise ConflictError(_("%(system)s id %(value)s is already trouble ticket %(id)s: read it (GET %(href)s) "
                              "instead of registering it again.")
                            % {"system": system_of(token), "value": value, "id": taken, "href": ticket_href(taken)},
                            params={"existingId": str(taken), "existingHref": ticket_href(taken)})


def _same_address(sent: str, expected: str) -> bool:
    """`sent` is the address `expected` (a path of ours), relative as GET gives it or absolute (any host)."""
    return sent == expected or urlsplit(sent).path == expected


def _mismatch(attribute: str, expected: str) -> str:
    return str(_("This %(attribute)s contradicts the id: LoopDesk's is “%(expected)s”. The id names what is referred "
                 "to: leave the %(attribute)s out or send the one GET shows.")
               % {"attribute": attribute, "expected": expected})


def _not_kept_href() -> str:
    return str(_("LoopDesk keeps no href here: the id names what is referred to; leave the href out."))


def _labels(label: Callable[[], Any]) -> set[str]:
    """A name in every language of the UI (GET gives names in the request's language)."""
    names = set()
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            names.add(str(label()).strip())
    return names


def _reference_errors(user: Any, token: ApiToken | None, data: dict[str, Any],
                      ticket: Ticket | None = None) -> dict[str, list[str]]:
    """References (channel, relatedParty, relatedEntity, troubleTicketRelationship, attachments sent back by id) are
    decided by their `id`: a `name` or `href` that contradicts it is a 400 naming it, never silently ignored (the
    client meant something else than what the id names). An `href` where LoopDesk keeps none is refused too."""
    errors: dict[str, list[str]] = {}
    channel = data.get("channel") or {}
    if channel.get("href"):
        errors["channel.href"] = [_not_kept_href()]
    if channel.get("name") and channel.get("id") in Channel.values:
        names = _labels(lambda: Channel(channel["id"]).label)
        if channel["name"].strip() not in names:
            errors["channel.name"] = [_mismatch("name", str(Channel(channel["id"]).label))]
    for index, party in enumerate(data.get("relatedParty") or []):
        if party.get("href"):  # POST names the customer by MSISDN: no address of ours to compare with
            errors[f"relatedParty[{index}].href"] = [_not_kept_href()]
    categories = refcache.cached("categories_by_code", lambda: {
        c.code: c for c in refcache.categories().values() if c.is_active})
    for index, entity in enumerate(data.get("relatedEntity") or []):
        category = categories.get(entity.get("id"))
        if category is None:
            continue  # an unknown category is its own 400
        href = f"/api/categories/{category.pk}/"
        if entity.get("href") and not _same_address(entity["href"], href):
            errors[f"relatedEntity[{index}].href"] = [_mismatch("href", href)]
        if entity.get("name") and entity["name"].strip() not in {n for n in (category.name, category.name_en) if n}:
            errors[f"relatedEntity[{index}].name"] = [_mismatch("name", category.display_name(
                translation.get_language()))]
    for index, item in enumerate(data.get("troubleTicketRelationship") or []):
        pk = str(item["id"])
        if item.get("href") and not _same_address(item["href"], ticket_href(pk)):
            errors[f"troubleTicketRelationship[{index}].href"] = [_mismatch("href", ticket_href(pk))]
        if (item.get("name") or "").strip() and is_db_id(pk):
            # Compared only with a ticket the caller may see (any other id is the 400 "not found").
            number = tickets_for(user, token).filter(pk=pk).values_list("number", flat=True).first()
            if number is not None and item["name"].strip().upper() != number.upper():
                errors[f"troubleTicketRelationship[{index}].name"] = [_mismatch("name", number)]
    if ticket is not None:
        attachments = {str(a.pk): a for a in ticket.attachments.all()}
        for index, item in enumerate(data.get("attachment") or []):
            attachment = attachments.get(str(item.get("id")))
            if attachment is None:
                continue  # new (its url and href are refused), or an unknown id (its own 400)
            href = attachment_href(ticket.pk, attachment.pk)
            for name in ("href", "url"):
                if item.get(name) and not _same_address(item[name], href):
                    errors[f"attachment[{index}].{name}"] = [_mismatch(name, href)]
            if item.get("name") and item["name"] != attachment.filename:
                errors[f"attachment[{index}].name"] = [_mismatch("name", attachment.filename)]
            if item.get("mimeType") and item["mimeType"] != attachment.content_type:
                errors[f"attachment[{index}].mimeType"] = [_mismatch("mimeType", attachment.content_type)]
    return errors


def _check_echoed_items(ticket: Ticket, data: dict[str, Any]) -> None:
    """A note or attachment with an id is one the ticket has, sent back unchanged (merge patch sends the whole
    array); an id the ticket does not have, or a changed note text, is a 400 naming it, never skipped."""
    errors = _new_note_errors(data.get("note") or [])
    errors.update(_new_attachment_errors(data.get("attachment") or []))
    notes = {str(seq): (text, visibility) for seq, text, visibility in ticket.events.filter(
        kind=EventKind.NOTE).values_list("seq", "note", "visibility")}
    for index, note in enumerate(data.get("note") or []):
        if "id" not in note:
            continue
        if note["id"] not in notes:
            errors[f"note[{index}].id"] = [str(_("This trouble ticket has no note %(id)s.") % {"id": note["id"]})]
            continue
        text, visibility = notes[note["id"]]
        if note["text"].strip() != text.strip():
            errors[f"note[{index}].text"] = [str(_(
                "A note cannot be changed once added; send a new note without an id."))]
        if "@type" in note and note["@type"] != _note_type(visibility):
            errors[f"note[{index}].@type"] = [str(_(
                "A note cannot be changed once added; send a new note without an id."))]
    attachments = {str(pk) for pk in ticket.attachments.values_list("pk", flat=True)}
    for index, item in enumerate(data.get("attachment") or []):
        if "id" in item and item["id"] not in attachments:
            errors[f"attachment[{index}].id"] = [str(_("This trouble ticket has no attachment %(id)s.")
                                                     % {"id": item["id"]})]
        elif "id" in item and item.get("content"):
            errors[f"attachment[{index}].content"] = [str(_(
                "An attachment cannot be replaced; send a new one without an id."))]
    if errors:
        raise ValidationFailed(errors)


def _note_type(visibility: str) -> str:
    """The note's @type as GET shows it (CustomerNote: the customer may see it)."""
    return "CustomerNote" if visibility == Visibility.CUSTOMER else "InternalNote"


def _add_notes(user: Any, ticket: Ticket, notes: list[dict[str, Any]]) -> None:
    for note in notes:
        if "id" in note:
            continue  # already on the ticket (checked by _check_echoed_items)
        visibility = Visibility.CUSTOMER if note.get("@type") == "CustomerNote" else Visibility.INTERNAL
        services.do_add_note(acting_user=user, ticket=ticket, text=note["text"], visibility=visibility)


def _status_kwargs(action: str, ticket: Ticket, reason: str, relationships: list[dict[str, Any]],
                   user: Any, token: ApiToken | None) -> dict[str, Any]:
    if action in (Action.ACCEPT,):
        return {}
    if action in (Action.DISPATCH, Action.RESUME, Action.APPROVE_HOLD, Action.CLOSE):
        return {"note": reason}
    if action == Action.PROVIDE_INFO:
        return {"info": reason}
    if action == Action.REQUEST_INFO:
        return {"question": reason}
    if action == Action.REPLY:
        return {"resolution": reason}
    if action == Action.ANSWER:
        return {"answer": reason, "resolution": "" if ticket.resolution else reason}
    if action == Action.REJECT:
        dup = [r for r in relationships if r["relationshipType"].strip().lower() == "isduplicateof"]
        if dup:
            return {"reason": RejectReason.DUPLICATE, "note": reason,
                    "duplicate_of": _related_ticket(user, token, dup[0])}
        return {"reason": RejectReason.INVALID, "note": reason}
    return {"reason": reason}  # deny_hold, request_hold, reopen, withdraw


def possible_statuses(user: Any, ticket: Ticket) -> list[str]:
    """The TMF statuses this caller may request now: a row of the table for the ticket's status whose action the
    caller's role allows (as the UI offers it: `policy.allowed_actions`), not every reachable one (a status whose
    action the caller may not take would only be refused next, 403)."""
    mine = set(policy.allowed_actions(user, ticket))
    return [tmf for tmf in mapping.reachable_statuses(ticket.status)
            if mapping.action_for_status_request(ticket.status, tmf) in mine]


def _refuse_status(user: Any, ticket: Ticket, requested: str) -> InvalidTransition:
    allowed = possible_statuses(user, ticket)
    possible = ", ".join(allowed) or str(_("none"))
    return InvalidTransition(
        _("The trouble ticket cannot go from “%(current)s” to “%(requested)s” (work order status “%(ours)s”). "
          "Possible now: %(possible)s.")
        % {"current": mapping.tmf_status(ticket.status), "requested": requested,
           "ours": Status(ticket.status).label, "possible": possible},
        params={"status": mapping.tmf_status(ticket.status), "possibleStatus": allowed},
    )


def _check_if_match(ticket: Ticket, expected_version: int | None) -> None:
    """Lock the ticket row for the rest of the request's transaction and compare its version with If-Match, so
    that the whole request (status, notes, attachments, links...) is done on that version or not at all."""
    if expected_version is None:
        return
    current = Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("version", flat=True).first()
    check_version(current, expected_version)


def check_version(current: int | None, expected_version: int | None) -> None:
    """412 when If-Match names another version than the ticket's."""
    if expected_version is not None and current != expected_version:
        raise PreconditionFailed(
            _("The trouble ticket was changed since the version in If-Match (now %(current)s, If-Match "
              "%(expected)s): read it again and send your change with its new ETag.")
            % {"current": current, "expected": expected_version},
            params={"currentVersion": current})


def _check_unchanged(ticket: Ticket, data: dict[str, Any]) -> None:
    """Attributes fixed at registration may be sent back unchanged (merge patch), never changed."""
    current = {
        "description": ticket.description, "name": ticket.title or ticket.number,
        "severity": mapping.PRIORITY_TO_SEVERITY[ticket.priority].lower(),
        "priority": mapping.PRIORITY_TO_TMF_PRIORITY[ticket.priority].lower(),
        "ticketType": mapping.ticket_type_for(ticket.contact_type), "requestedResolutionDate":
            ticket.requested_resolution_at,
    }
    errors: dict[str, list[str]] = {}
    for key, value in current.items():
        if key not in data:
            continue
        sent = data[key]
        if key in ("severity", "priority"):
            sent = (sent or "").lower()
        if key == "ticketType":
            sent = mapping.contact_type_for(sent) or sent
        if sent != value:
            errors[key] = [str(_("This attribute is fixed when the trouble ticket is registered."))]
    if "channel" in data and data["channel"].get("id") != ticket.channel:
        errors["channel"] = [str(_("This attribute is fixed when the trouble ticket is registered."))]
    if errors:
        raise ValidationFailed(errors)


def patch_ticket(user: Any, token: ApiToken | None, ticket: Ticket, data: dict[str, Any],
                 expected_version: int | None) -> Ticket:
    """PATCH /troubleTicket/{id}: a status change is the matching workflow action; notes, attachments,
    relationships, the expected resolution date and an external id go through their services; all or nothing."""
    _check_unchanged(ticket, data)
    _check_echoed_items(ticket, data)
    references = _reference_errors(user, token, data, ticket)
    if references:
        raise ValidationFailed(references)
    reason = (data.get("statusChangeReason") or "").strip()
    # The reason GET shows, sent back unchanged with the status it has (merge patch): no new reason to place.
    echoed_reason = reason == (FIELDS["statusChangeReason"](ticket, None) or "").strip()
    relationships = data.get("troubleTicketRelationship") or []
    _check_relationship_types(relationships)
    new_attachments = [(index, item) for index, item in enumerate(data.get("attachment") or []) if "id" not in item]
    uploads = [(_upload(item, index), _attachment_visibility(item)) for index, item in new_attachments]
    try:
        with transaction.atomic():
            _check_if_match(ticket, expected_version)
            version = expected_version if expected_version is not None else ticket.version
            requested = data.get("status")
            # A row of the table runs even when the TMF status stays the same (returned → inProgress
            # dispatches again, hold_requested → inProgress denies the hold, replied → resolved answers the
            # customer); a request for the status shown now with no row for our status is no change, and so is
            # the status shown sent back with the reason GET shows (the resource echoed, e.g. with a new note):
            # it would otherwise answer the customer with the reply's text, or deny a hold with its request's.
            echoed_status = (requested == mapping.tmf_status(ticket.status) and "statusChangeReason" in data
                             and echoed_reason)
            action = mapping.action_for_status_request(ticket.status, requested) \
                if requested and not echoed_status else None
            if requested and action is None and requested != mapping.tmf_status(ticket.status):
                raise _refuse_status(user, ticket, requested)
            if action == Action.CLOSE and ticket.callback_verdict == CallbackVerdict.DISSATISFIED:
                # A status the ticket cannot take now, as any other: 409 with what is possible (reopen), not the
                # service's 400 on `callback_verdict`, which is no TMF attribute. One who may not close: 403.
                policy.check_may(user, action, ticket)
                raise InvalidTransition(
                    _("The customer was not satisfied at the callback: reopen the work order instead."),
                    params={"status": mapping.tmf_status(ticket.status),
                            "possibleStatus": possible_statuses(user, ticket)})
            reason_used = action is not None
            if action is not None:
                kwargs = _status_kwargs(action, ticket, reason, relationships, user, token)
                try:
                    ticket = services.ACTION_SERVICES[action](acting_user=user, ticket=ticket,
                                                              expected_version=version, **kwargs)
                except PermissionDeniedError as exc:
                    # A status this caller's role may not request: say which ones it may (as the 409 does).
                    exc.params.setdefault("possibleStatus", possible_statuses(user, ticket))
                    raise
                version = ticket.version
                if action == Action.REJECT:
                    relationships = [r for r in relationships
                                     if r["relationshipType"].strip().lower() != "isduplicateof"]
            if data.get("expectedResolutionDate") is not None:
                committed: dt.datetime = data["expectedResolutionDate"]
                if committed != ticket.committed_at:
                    reason_used = True
                    ticket = services.do_set_committed_time(
                        acting_user=user, ticket=ticket, committed_at=committed, expected_version=version,
                        reason=reason or _stored(_("Changed through the TMF621 API.")),
                    )
            _add_notes(user, ticket, data.get("note") or [])
            for upload, visibility in uploads:
                services.do_add_attachment(acting_user=user, ticket=ticket, upload=upload, visibility=visibility)
            # An echo is an (id, relationshipType) the ticket shows already; the same id with another type is new.
            existing = {(str(link.to_ticket_id), mapping.RELATIONSHIP_OUT[link.kind].lower())
                        for link in ticket.links_out.all()} | {
                (str(link.from_ticket_id), mapping.RELATIONSHIP_IN[link.kind].lower())
                for link in ticket.links_in.all()}
            _add_relationships(user, token, ticket, [
                r for r in relationships if (str(r["id"]), r["relationshipType"].strip().lower()) not in existing],
                skip_child=False)
            if data.get("externalId"):
                _add_external_id(user, token, ticket, data["externalId"])
            elif "externalId" in data and data["externalId"] is None and external_id(ticket, system_of(token)):
                raise ValidationFailed(field="externalId", message=_(
                    "An external id cannot be removed once the trouble ticket has one."))
            if reason and not reason_used and not echoed_reason:
                raise ValidationFailed(field="statusChangeReason", message=_(
                    "Nothing in this request uses the reason: it goes with a status change or a new "
                    "expectedResolutionDate; put other text in a note."))
    except ValidationFailed as exc:
        raise _tmf_errors(exc) from None
    return ticket


def _stored(text: Any, **params: Any) -> str:
    """A text LoopDesk writes into the timeline on the caller's behalf, in the deployment's language (staff and the
    customer read it there), not in the language of the request (Accept-Language: en would leave English notes)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text % params if params else text)


def _add_external_id(user: Any, token: ApiToken | None, ticket: Ticket, value: str) -> None:
    from loopdesk.tickets.models import ExternalRef

    system = system_of(token)
    if value == external_id(ticket, system):
        return  # what GET shows this system (its own id, or else the first one): sent back unchanged
    ref = ExternalRef.objects.filter(system=system, external_id=value).first()
    if ref is not None and ref.ticket_id != ticket.pk:
        raise ValidationFailed(field="externalId", message=_("%(system)s id %(id)s is already on another work order.")
                               % {"system": system, "id": value})
    if ref is None:
        if ExternalRef.objects.filter(ticket=ticket, system=system).exists():
            raise ValidationFailed(field="externalId", message=_(
                "This trouble ticket already has an id in %(system)s.") % {"system": system})
        raise ValidationFailed(field="externalId", message=_(
            "An external id can only be given when the trouble ticket is registered."))


def delete_ticket(user: Any, token: ApiToken | None, ticket: Ticket, expected_version: int | None = None) -> Ticket:
    """DELETE /troubleTicket/{id}: a complaint is never destroyed. An open ticket is withdrawn (cancelled)
    through the same service as the UI; deleting a cancelled ticket again changes nothing. With If-Match
    (`expected_version`), only if the ticket is still at that version (else 412)."""
    with transaction.atomic():
        _check_if_match(ticket, expected_version)
        if ticket.status == Status.WITHDRAWN:
            return ticket
        if mapping.action_for_status_request(ticket.status, mapping.CANCELLED) is None:
            raise _refuse_status(user, ticket, mapping.CANCELLED)
        reason = _stored(_("Withdrawn through the TMF621 API by %(system)s."), system=system_of(token))
        return services.do_withdraw_ticket(acting_user=user, ticket=ticket, reason=reason,
                                           expected_version=expected_version)


def get_scoped(qs: Any, pk: str) -> Ticket:
    ticket = qs.filter(pk=pk).first() if is_db_id(str(pk)) else None
    if ticket is None:
        raise NotFoundError(_("Trouble ticket %(id)s not found.") % {"id": pk})
    return ticket

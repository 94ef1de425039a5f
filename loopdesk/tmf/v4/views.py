"""TMF621 Trouble Ticket Management API v4: /tmf-api/troubleTicket/v4/."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import RequestDataTooBig
from django.core.validators import ProhibitNullCharactersValidator
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.http import FileResponse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, localtime, make_aware
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from loopdesk.core.api import JSONParser as CoreJSONParser
from loopdesk.core.api import NestedTooDeeply
from loopdesk.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from loopdesk.core.text import ascii_digits, is_db_id, plus_offset
from loopdesk.customers.services import clean_msisdn
from loopdesk.tickets import policy
from loopdesk.tickets.choices import Action, Channel
from loopdesk.tickets.models import MISSING_FILE, Category, ExternalRef, Ticket, TicketEvent
from loopdesk.tmf import mapping
from loopdesk.tmf.auth import ThrottleUnauthenticated, TokenScopePermission, request_token, scoped_tickets
from loopdesk.tmf.errors import tmf_exception_handler
from loopdesk.tmf.models import ApiToken, EventSubscription, SubscriptionKind
from loopdesk.tmf.v4 import operations, serializers
from loopdesk.tmf.v4.representation import FIELDS, as_created, mark_empty, only_visible_links, to_tmf, with_related

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
LARGEST_PARAM = 999_999_999  # offset: beyond any list, and within the database's integers
DATE_ATTRIBUTES = {
    "creationDate": "created_at",
    "lastUpdate": "updated_at",
    "expectedResolutionDate": "committed_at",
    "requestedResolutionDate": "requested_resolution_at",
}
# Date attributes computed as GET shows them: resolutionDate the earlier of the reply and the answer (none before
# either), statusChangeDate the time of the last status change (the creation before any).
COMPUTED_DATES = {"resolutionDate": "tmf_resolution_date", "statusChangeDate": "tmf_status_change_date"}
DATE_OPERATORS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}


def _with_computed_date(qs: QuerySet[Ticket], name: str) -> QuerySet[Ticket]:
    if name == "resolutionDate":
        return qs.alias(tmf_resolution_date=Case(
            When(replied_at__isnull=True, then=F("answered_at")),
            When(answered_at__isnull=True, then=F("replied_at")),
            When(replied_at__lte=F("answered_at"), then=F("replied_at")),
            default=F("answered_at")))
    last_change = (TicketEvent.objects.filter(ticket=OuterRef("pk")).exclude(to_status="").order_by("-seq")
                   .values("created_at")[:1])
    return qs.alias(tmf_status_change_date=Coalesce(Subquery(last_change), F("created_at")))
PAGING = {"fields", "offset", "limit", "sort"}
SORTS = {"creationDate": "created_at", "lastUpdate": "updated_at", "id": "id"}


class TmfJSONParser(CoreJSONParser):
    """JSON bodies; a body that is too large or not JSON is a field error on `body` in the TMF error shape."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RequestDataTooBig:
            raise ValidationFailed(field="body", message=_("The request body is too large.")) from None
        except ParseError as exc:
            cause = exc.__context__
            message: Any
            if isinstance(exc, NestedTooDeeply):
                message = _("The request body is nested too deeply to be read.")
            elif isinstance(cause, json.JSONDecodeError):
                message = _("The request body is not valid JSON (line %(line)d, column %(column)d).") % {
                    "line": cause.lineno, "column": cause.colno}
            else:  # not in the request's encoding, or NaN/Infinity
                message = _("The request body is not valid JSON.")
            raise ValidationFailed(field="body", message=message) from None


class MergePatchJSONParser(TmfJSONParser):
    media_type = "application/merge-patch+json"


def _errors(*extra: int) -> dict[int, OpenApiResponse]:
    err = OpenApiResponse(serializers.ErrorSerializer)
    return dict.fromkeys((400, 401, 403, 404, 405, 409, *extra, 429), err)


FIELDS_PARAM = OpenApiParameter("fields", str, description="Comma-separated attributes to return (id and href "
                                "always come back); a dot selects inside one: channel.id, relatedParty.name.")


class TmfView(ThrottleUnauthenticated, APIView):
    permission_classes = [*APIView.permission_classes, TokenScopePermission]
    parser_classes = [TmfJSONParser, MergePatchJSONParser]

    def get_exception_handler(self) -> Any:
        return tmf_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and ascii_digits(length) and int(length) > limit:
            raise ValidationFailed(field="body", message=_("The request body is larger than %(limit)d bytes.")
                                   % {"limit": limit})

    def system(self) -> str:
        return operations.system_of(request_token(self.request))


def parse_fields(request: Request) -> list[str] | None:
    # `fields=status&fields=severity` asks for both, as `fields=status,severity` does (not only the last one).
    raw = ",".join(request.query_params.getlist("fields")) if "fields" in request.query_params else None
    if raw is None or not raw.strip():
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise ValidationFailed(field="fields", message=_("Name at least one attribute, or leave out fields."))
    unknown = [name for name in names if not _selectable(name)]
    if unknown:
        raise ValidationFailed(field="fields", message=_("Unknown attribute(s) in fields: %(names)s.")
                               % {"names": ", ".join(unknown)})
    return names


def _sub_attributes() -> dict[str, set[str]]:
    """The attributes inside each structured attribute of the resource (`channel.id`, `relatedParty.name`...)."""
    out: dict[str, set[str]] = {}
    for name, field in serializers.TroubleTicketSerializer().fields.items():
        inner = getattr(field, "child", field)
        if isinstance(inner, Serializer):
            out[name] = {*inner.fields, *serializers.META_FIELDS}
    return out


SUB_ATTRIBUTES = _sub_attributes()


def _selectable(name: str) -> bool:
    """An attribute of the resource, or (TMF630 dot notation) one attribute inside a structured one."""
    top, dot, sub = name.partition(".")
    return name in FIELDS if not dot else sub in SUB_ATTRIBUTES.get(top, ())


def _single(request: Request, name: str) -> str | None:
    """A parameter that takes one value: given twice with different values, which one was meant is unknown (400)."""
    values = request.query_params.getlist(name)
    if len(set(values)) > 1:
        raise ValidationFailed(field=name, message=_("Give this parameter once."))
    return values[0] if values else None


def _int_param(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    raw = _single(request, name)
    if raw is None or raw == "":
        return default
    if not ascii_digits(raw):
        raise ValidationFailed(field=name, message=_("Enter a whole number of at least 0."))
    largest = maximum if maximum is not None else LARGEST_PARAM
    # A number too long to be worth reading (leading zeros do not count) is too large, not "not a number".
    if len(raw.lstrip("0")) > len(str(LARGEST_PARAM)) or int(raw) > largest:
        raise ValidationFailed(field=name, message=_("Too large: at most %(max)d.") % {"max": largest})
    return int(raw)


def _date(name: str, raw: str) -> dt.datetime:
    invalid = ValidationFailed(field=name, message=_("Enter a date-time such as 2026-11-02T09:00:00+08:00."))
    raw = plus_offset(raw)  # the example of our own error message, typed into a URL as it is
    try:
        value = parse_datetime(raw) if "T" in raw or " " in raw else None
        if value is None:
            day = parse_date(raw) if len(raw) == 10 else None
            if day is None:
                raise invalid
            value = dt.datetime.combine(day, dt.time())
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts (e.g. -20:51).
        return (make_aware(value) if is_naive(value) else value).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise invalid from None


def _date_bound(name: str, raw: str, op: str) -> tuple[str, dt.datetime]:
    """The lookup and the time of a date filter. A date without a time names the whole day (Asia/Shanghai):
    `.lte=2026-11-02` and `.gt=2026-11-02` compare with the end of that day, `.gte` / `.lt` with its start."""
    value = _date(name, raw)
    if len(plus_offset(raw)) == 10 and op in ("lte", "gt"):  # a date alone: the next day's start is the bound
        try:
            next_day = localtime(value).date() + dt.timedelta(days=1)
        except OverflowError:  # 9999-12-31 has no next day (an OverflowError was a 500): its end is the end of time
            return DATE_OPERATORS[op], dt.datetime.max.replace(tzinfo=dt.UTC)
        return {"lte": "lt", "gt": "gte"}[op], make_aware(dt.datetime.combine(next_day, dt.time())).astimezone(dt.UTC)
    return DATE_OPERATORS[op], value


def _known(key: str, values: list[str], known: Callable[[str], bool]) -> None:
    """A value the attribute can never have is a 400 (as for status), not an empty list."""
    bad = [v for v in values if not known(v)]
    if bad:
        raise ValidationFailed(field=key, message=_("Unknown value(s) of %(name)s: %(values)s.")
                               % {"name": key, "values": ", ".join(bad)})


# The related parties GET shows (representation._parties): role → @referredType → the ticket's column holding its id.
PARTY_COLUMNS: dict[str, dict[str, str]] = {
    mapping.CUSTOMER_ROLE: {"Customer": "customer_id"},
    mapping.FIRST_RESPONDER_ROLE: {"Individual": "first_responder_id"},
    mapping.HANDLER_ROLE: {"Organization": "handler_unit_id", "Individual": "handler_user_id"},
}
PARTY_QUALIFIERS = ("relatedParty.role", "relatedParty.@referredType")


def _party_values(params: Any, key: str, known: dict[str, str]) -> list[str] | None:
    """The canonical spellings of `relatedParty.role` / `.@referredType` (any case); None when not given."""
    if key not in params:
        return None
    values = [v.strip() for raw in params.getlist(key) for v in raw.split(",") if v.strip()]
    _known(key, values, lambda v: v.lower() in known)
    return [known[v.lower()] for v in values]


def _related_party_q(params: Any, values: list[str]) -> Q:
    """`relatedParty.id`, with `relatedParty.role` and `relatedParty.@referredType` (TMF REST guidelines: the three
    name the same related party as GET shows it). Without a role, the customer: its id as GET shows it, or the
    mobile number POST takes. With a role, the party of that role with that id (handler: the handling unit or the
    handler, unless @referredType names one)."""
    roles = _party_values(params, "relatedParty.role", {r.lower(): r for r in PARTY_COLUMNS})
    types = _party_values(params, "relatedParty.@referredType",
                          {t.lower(): t for columns in PARTY_COLUMNS.values() for t in columns})
    key = "relatedParty.id"
    if roles is None:
        ids = [v for v in values if ascii_digits(v) and len(v) < 11]
        numbers = [clean_msisdn(v, field=key) for v in values if v not in ids]
        q = Q(customer_id__in=[int(v) for v in ids]) | Q(customer__msisdn__in=numbers)
        return q if types is None or "Customer" in types else Q(pk__in=[])
    q = Q(pk__in=[])
    for role in roles:
        ids = [v for v in values if ascii_digits(v) and len(v) < 11]
        if role == mapping.CUSTOMER_ROLE:
            numbers = [clean_msisdn(v, field=key) for v in values if v not in ids]
        else:
            _known(key, values, lambda v: ascii_digits(v) and len(v) < 11)
            numbers = []
        for referred, column in PARTY_COLUMNS[role].items():
            if types is not None and referred not in types:
                continue
            q |= Q(**{f"{column}__in": [int(v) for v in ids]})
            if numbers:
                q |= Q(customer__msisdn__in=numbers)
    return q


def filter_tickets(qs: QuerySet[Ticket], params: Any, system: str | None = None) -> QuerySet[Ticket]:
    """TMF REST guidelines filtering: attribute=value[,value...] (OR), dates with .gt/.gte/.lt/.lte. `system`: the
    caller's (its externalId is the one GET shows it)."""
    for key in params:
        values = [v.strip() for raw in params.getlist(key) for v in raw.split(",") if v.strip()]
        if key in PAGING:
            continue
        if any("\x00" in v for v in values):  # PostgreSQL refuses them in a query: a server error, not no match
            raise ValidationFailed(field=key, message=ProhibitNullCharactersValidator.message)
        if not values:  # `status=` or `creationDate.gt=`: not a filter on nothing, not silently no filter
            raise ValidationFailed(field=key, message=_("Give a value to filter on."))
        name, _dot, op = key.partition(".")
        if name in DATE_ATTRIBUTES and op in DATE_OPERATORS:
            for raw in values:
                lookup, value = _date_bound(key, raw, op)
                qs = qs.filter(**{f"{DATE_ATTRIBUTES[name]}__{lookup}": value})
            continue
        if name in COMPUTED_DATES and op in DATE_OPERATORS:
            bounds = [_date_bound(key, raw, op) for raw in values]
            if COMPUTED_DATES[name] not in qs.query.annotations:
                qs = _with_computed_date(qs, name)
            for lookup, value in bounds:
                qs = qs.filter(**{f"{COMPUTED_DATES[name]}__{lookup}": value})
            continue
        if key == "status":
            bad = [v for v in values if v not in mapping.TMF_STATUSES]
            if bad:
                raise ValidationFailed(field=key, message=_("Unknown status: %(values)s.") % {"values": ", ".join(bad)})
            qs = qs.filter(status__in=[s for v in values for s in mapping.statuses_for(v)])
        elif key == "severity":
            _known(key, values, lambda v: bool(mapping.severities_for(v)))
            qs = qs.filter(priority__in=[p for v in values for p in mapping.severities_for(v)])
        elif key == "priority":
            _known(key, values, lambda v: v.lower() in mapping.TMF_PRIORITY_TO_PRIORITY)
            qs = qs.filter(priority__in=[mapping.TMF_PRIORITY_TO_PRIORITY[v.lower()] for v in values])
        elif key == "ticketType":
            _known(key, values, lambda v: mapping.contact_type_for(v) is not None)
            qs = qs.filter(contact_type__in=[mapping.contact_type_for(v) for v in values])
        elif key == "channel.id":
            _known(key, values, lambda v: v in Channel.values)
            qs = qs.filter(channel__in=values)
        elif key == "externalId":
            # What GET shows the caller's system: its own id, or (when it has none on the ticket) another's.
            refs = ExternalRef.objects.filter(ticket=OuterRef("pk"))
            own = refs.filter(system=system)
            # For a system without its own id: the ticket's first id (representation.external_id's fallback).
            first = ExternalRef.objects.filter(
                pk=Subquery(ExternalRef.objects.filter(ticket=OuterRef(OuterRef("pk"))).order_by("pk").values("pk")[:1]),
                external_id__in=values)
            qs = qs.filter(Q(Exists(own.filter(external_id__in=values))) | (~Q(Exists(own)) & Q(Exists(first))))
        elif key == "id":
            qs = qs.filter(pk__in=[int(v) for v in values if is_db_id(v)])
        elif key == "relatedParty.id":
            qs = qs.filter(_related_party_q(params, values))
        elif key in PARTY_QUALIFIERS:
            if "relatedParty.id" not in params:
                raise ValidationFailed(field=key, message=_(
                    "Give relatedParty.id with it: the filter names a related party by its id and role."))
        elif key == "relatedEntity.id":
            # A code no category has (active or retired) can match nothing: a 400, not "no tickets" for a typo.
            known_codes = set(Category.objects.filter(code__in=values).values_list("code", flat=True))
            _known(key, values, known_codes.__contains__)
            qs = qs.filter(category__code__in=values)
        else:
            raise ValidationFailed(field=key, message=_("Unknown filter attribute “%(name)s”.") % {"name": key})
    return qs


LIST_PARAMETERS = [
    FIELDS_PARAM,
    OpenApiParameter("offset", int, description="Index of the first ticket returned (default 0)."),
    OpenApiParameter("limit", int, description=f"Number of tickets returned (default {DEFAULT_LIMIT}, at most "
                                               f"{MAX_LIMIT})."),
    OpenApiParameter("sort", str, description="creationDate, lastUpdate or id; prefix - for descending "
                                              "(default -creationDate)."),
    OpenApiParameter("status", str, description="TMF status(es), comma-separated."),
    OpenApiParameter("severity", str), OpenApiParameter("priority", str), OpenApiParameter("ticketType", str),
    OpenApiParameter("channel.id", str), OpenApiParameter("externalId", str),
    OpenApiParameter("relatedParty.id", str, description="A related party's id as GET shows it: without "
                     "relatedParty.role the customer (its id, or the customer's MSISDN)."),
    OpenApiParameter("relatedParty.role", str, description="With relatedParty.id: customer, firstResponder or "
                                                           "handler (the handling unit or the handler)."),
    OpenApiParameter("relatedParty.@referredType", str, description="With relatedParty.id: Customer, Individual or "
                                                                    "Organization (handler: the unit)."),
    OpenApiParameter("relatedEntity.id", str, description="A category code."),
    *[OpenApiParameter(f"{name}.{op}", OpenApiTypes.DATETIME) for name in [*DATE_ATTRIBUTES, *COMPUTED_DATES]
      for op in DATE_OPERATORS],
]
COUNT_HEADERS = [
    OpenApiParameter("X-Total-Count", int, OpenApiParameter.HEADER, response=True,
                     description="Total number of tickets matching the filters"),
    OpenApiParameter("X-Result-Count", int, OpenApiParameter.HEADER, response=True,
                     description="Number of tickets in this response"),
]


class TroubleTicketListView(TmfView):
    @extend_schema(operation_id="listTroubleTicket", tags=["troubleTicket"], parameters=LIST_PARAMETERS + COUNT_HEADERS,
                   responses={200: serializers.TroubleTicketSerializer(many=True), **_errors()})
    def get(self, request: Request) -> Response:
        fields = parse_fields(request)
        offset = _int_param(request, "offset", 0)
        limit = _int_param(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        sort = _single(request, "sort")
        sort = "-creationDate" if sort is None else sort
        if sort.lstrip("-") not in SORTS:
            raise ValidationFailed(field="sort", message=_("Sort by creationDate, lastUpdate or id."))
        order = ("-" if sort.startswith("-") else "") + SORTS[sort.lstrip("-")]
        qs = filter_tickets(scoped_tickets(request), request.query_params, self.system())
        total = qs.count()
        page = list(with_related(qs.order_by(order, "-id" if order.startswith("-") else "id"))[offset:offset + limit])
        only_visible_links(page, lambda qs: scoped_tickets(request, qs))
        body = [to_tmf(t, fields=fields, system=self.system()) for t in page]
        return Response(body, headers={"X-Total-Count": str(total), "X-Result-Count": str(len(body))})

    @extend_schema(operation_id="createTroubleTicket", tags=["troubleTicket"],
                   request=serializers.TroubleTicketCreateSerializer,
                   responses={201: serializers.TroubleTicketSerializer, **_errors()})
    def post(self, request: Request) -> Response:
        data = _validated(serializers.TroubleTicketCreateSerializer, request)
        ticket = operations.create_ticket(request.user, request_token(request), data)
        # A request with only what the creation itself writes is shown from what it wrote (no read-back);
        # notes (also the customer's name sent, kept as one), attachments and relationships go through other
        # services: then the ticket is read back.
        linked = [r for r in data.get("troubleTicketRelationship") or []
                  if r["relationshipType"].strip().lower() != "ischild"]  # a parent is linked by the creation
        noted = data.get("note") or operations.customer_name_sent(data)
        shown = None if noted or data.get("attachment") or linked else as_created(ticket)
        if shown is None:
            # What the request did not send, the new ticket does not have: no query for it.
            empty = tuple(name for name, sent in (
                ("attachments", data.get("attachment")), ("external_refs", data.get("externalId")),
                ("links_in", data.get("troubleTicketRelationship"))) if not sent)
            shown = mark_empty(with_related(Ticket.objects.filter(pk=ticket.pk), known_empty=empty).get(), empty)
        ticket = shown
        only_visible_links([ticket], lambda qs: scoped_tickets(request, qs))
        body = to_tmf(ticket, system=self.system())
        return Response(body, status=status.HTTP_201_CREATED,
                        headers={"Location": body["href"], "ETag": _etag(ticket)})


def _validated(serializer_class: type, request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationFailed(field="body", message=_("Send a JSON object."))
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _etag(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


IF_MATCH_ETAG = re.compile(r'(?:W/)?"([^"]*)"|([^"/]*)')


def _if_match(request: Request) -> list[int] | None:
    """The versions If-Match names (RFC 9110 §13.1.1: one ETag or a comma-separated list); None when absent or `*`
    (any current version: the ticket exists, or the request is a 404)."""
    raw = request.headers.get("If-Match")
    if not raw or raw.strip() == "*":
        return None
    versions = []
    for part in raw.split(","):
        # Lenient on purpose: a weak `W/"3"` matches as `"3"` does (proxies that compress a response weaken its
        # ETag, and clients send back what they received), and so does a bare `3`; a half-quoted `"3` does not.
        match = IF_MATCH_ETAG.fullmatch(part.strip())
        value = next((group for group in match.groups() if group is not None), "") if match else ""  # W/"": ""
        if not ascii_digits(value) or len(value) > 9:
            raise ValidationFailed(field="If-Match", message=_("If-Match must be the ETag (version) you received."))
        versions.append(int(value))
    return versions


def _expected_version(ticket: Ticket, versions: list[int] | None) -> int | None:
    """The version the request is made on: the ticket's when If-Match lists it (any listed ETag matches), else the
    first listed (a 412, now or when the locked row is compared again)."""
    if versions is None:
        return None
    return ticket.version if ticket.version in versions else versions[0]


ID_PARAM = OpenApiParameter("id", str, OpenApiParameter.PATH, description="Identifier of the trouble ticket")


class TroubleTicketDetailView(TmfView):
    def ticket(self, request: Request, id: str) -> Ticket:
        ticket = operations.get_scoped(with_related(scoped_tickets(request)), id)
        only_visible_links([ticket], lambda qs: scoped_tickets(request, qs))
        return ticket

    @extend_schema(operation_id="retrieveTroubleTicket", tags=["troubleTicket"], parameters=[ID_PARAM, FIELDS_PARAM],
                   responses={200: serializers.TroubleTicketSerializer, **_errors()})
    def get(self, request: Request, id: str) -> Response:
        unknown = [key for key in request.query_params if key != "fields"]
        if unknown:
            raise ValidationFailed({key: [str(_("Unknown query parameter: a trouble ticket is read with fields= "
                                                "only."))] for key in unknown})
        fields = parse_fields(request)
        ticket = self.ticket(request, id)
        return Response(to_tmf(ticket, fields=fields, system=self.system()), headers={"ETag": _etag(ticket)})

    @extend_schema(operation_id="patchTroubleTicket", tags=["troubleTicket"], parameters=[
        ID_PARAM, OpenApiParameter("If-Match", str, OpenApiParameter.HEADER,
                                   description="The ETag of the version you changed (or a list of ETags: any may be "
                                               "current; * for any version); 412 if changed since.")],
        request=serializers.TroubleTicketUpdateSerializer,
        responses={200: serializers.TroubleTicketSerializer, **_errors(412)})
    def patch(self, request: Request, id: str) -> Response:
        listed = _if_match(request)
        ticket = self.ticket(request, id)
        expected = _expected_version(ticket, listed)
        # One who may change nothing is refused before the precondition (RFC 9110 §13.2.1: a request refused
        # without it ignores it), and learns nothing about versions.
        if policy.is_read_only(request.user):
            raise PermissionDeniedError(_("You may not change this work order."))
        # The precondition before the body (RFC 9110 §13.2.2): a stale If-Match is a 412 whatever the body says;
        # patch_ticket compares again on the locked row.
        operations.check_version(ticket.version, expected)
        data = _validated(serializers.TroubleTicketUpdateSerializer, request)
        operations.patch_ticket(request.user, request_token(request), ticket, data, expected)
        ticket = self.ticket(request, id)
        return Response(to_tmf(ticket, system=self.system()), headers={"ETag": _etag(ticket)})

    @extend_schema(operation_id="deleteTroubleTicket", tags=["troubleTicket"], parameters=[
        ID_PARAM, OpenApiParameter("If-Match", str, OpenApiParameter.HEADER,
                                   description="The ETag of the version you withdraw; 412 if changed since.")],
                   description="A customer's complaint is never destroyed: DELETE withdraws the ticket (status "
                               "cancelled, kept with its whole history and still readable). See docs/tmf621.md.",
                   responses={204: None, **_errors(412)})
    def delete(self, request: Request, id: str) -> Response:
        listed = _if_match(request)
        ticket = self.ticket(request, id)
        expected = _expected_version(ticket, listed)
        if not policy.could_take(request.user, Action.WITHDRAW, ticket):  # before If-Match: as PATCH
            raise PermissionDeniedError(_("You may not “%(action)s” this work order.") % {
                "action": Action.WITHDRAW.label})
        operations.delete_ticket(request.user, request_token(request), ticket, expected)
        return Response(status=status.HTTP_204_NO_CONTENT)


_SEVERITIES = {s.lower(): s for s in mapping.PRIORITY_TO_SEVERITY.values()}
# Each attribute a hub query may filter on: a value as the API accepts it → as an event shows it (None: unknown).
HUB_FILTERS: dict[str, Callable[[str], str | None]] = {
    "ticketType": lambda v: mapping.ticket_type_for(ct) if (ct := mapping.contact_type_for(v)) else None,
    "severity": lambda v: _SEVERITIES.get(v.lower()),
    "status": lambda v: v if v in mapping.TMF_STATUSES else None,
    "channel.id": lambda v: v if v in Channel.values else None,
}


def parse_query(query: str) -> tuple[list[str], dict[str, list[str]]]:
    """`eventType=A,B&ticketType=complaint`: the event types and attribute filters of a subscription. Written as a
    URL's query string may be (a leading ?, percent-encoding: a URL encoder writes the comma as %2C), or as is."""
    event_types: list[str] = []
    filters: dict[str, list[str]] = {}
    for part in (query or "").strip().removeprefix("?").split("&"):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        key = unquote_plus(key).strip()
        values = [v.strip() for v in unquote_plus(value).split(",") if v.strip()]
        if not eq or not values:
            raise ValidationFailed(field="query", message=_("Write the query as name=value[,value]&…"))
        if key in ("eventType", "event.eventType"):
            unknown = [v for v in values if v not in mapping.EVENT_TYPES]
            if unknown:
                raise ValidationFailed(field="query", message=_("Unknown event type(s): %(names)s.")
                                       % {"names": ", ".join(unknown)})
            event_types += values
        elif (name := key.removeprefix("event.troubleTicket.")) in HUB_FILTERS:
            canonical = [HUB_FILTERS[name](v) for v in values]
            bad = [v for v, c in zip(values, canonical, strict=True) if c is None]
            if bad:
                raise ValidationFailed(field="query", message=_("Unknown value(s) of %(name)s: %(values)s.")
                                       % {"name": name, "values": ", ".join(bad)})
            # As the ticket's events show them (loopdesk.tmf.events.FILTER_VALUES), so that they can match. Given
            # twice, an attribute matches either value (as the comma, and as GET /troubleTicket reads it).
            filters[name] = list(dict.fromkeys([*filters.get(name, []), *(c for c in canonical if c is not None)]))
        else:
            raise ValidationFailed(field="query", message=_(
                "Unsupported query attribute “%(name)s”: use eventType, ticketType, severity, status or channel.id.")
                % {"name": key})
    return event_types, filters


def subscription_body(sub: EventSubscription, *, with_secret: bool = False) -> dict[str, Any]:
    body = {"id": str(sub.pk), "callback": sub.callback, "query": sub.query}
    if with_secret:
        body["secret"] = sub.secret
    return body


class HubView(TmfView):
    # Subscribing is reading: a read-only token may listen (to what it may read: events are scoped to its owner
    # and token, loopdesk.tmf.events._in_scope).
    reading_view = True

    @extend_schema(operation_id="registerListener", tags=["events subscription"],
                   request=serializers.EventSubscriptionInputSerializer,
                   responses={201: serializers.EventSubscriptionSerializer, **_errors()})
    def post(self, request: Request) -> Response:
        data = _validated(serializers.EventSubscriptionInputSerializer, request)
        event_types, filters = parse_query(data.get("query", ""))
        token = request_token(request)
        with transaction.atomic():
            # One registration of this integration at a time (the token's row, or the user's without a token):
            # the same registration sent twice at once waits for the first and gets the 409, not a second listener.
            if token is not None:
                ApiToken.objects.select_for_update().filter(pk=token.pk).first()
            else:
                get_user_model().objects.select_for_update().filter(pk=request.user.pk).first()
            _check_not_listening_already(request, token, data["callback"], event_types, filters)
            sub = EventSubscription.objects.create(
                kind=SubscriptionKind.HUB, name=(token.name if token else str(request.user))[:100],  # user names: 150
                callback=data["callback"],
                query=data.get("query", ""), event_types=event_types, filters=filters, owner=request.user, token=token,
            )
        return Response(subscription_body(sub, with_secret=True), status=status.HTTP_201_CREATED,
                        headers={"Location": f"{request.path.rstrip('/')}/{sub.pk}"})


def _same_selection(sub: EventSubscription, event_types: list[str], filters: dict[str, list[str]]) -> bool:
    def canonical(types: list[str], attrs: dict[str, list[str]]) -> tuple[Any, ...]:
        return tuple(sorted(set(types))), tuple(sorted((k, tuple(sorted(set(v)))) for k, v in attrs.items()))
    return canonical(sub.event_types or [], sub.filters or {}) == canonical(event_types, filters)


def _check_not_listening_already(request: Request, token: Any, callback: str, event_types: list[str],
                                 filters: dict[str, list[str]]) -> None:
    """A registration repeated by the same integration (a retry after a lost answer) would add a second listener
    that hears every event again and that the integration cannot unregister (it never learnt its id): 409 with the
    listener it has (unregister it to register again with a new secret)."""
    same = EventSubscription.objects.filter(kind=SubscriptionKind.HUB, is_active=True, owner=request.user,
                                            token=token, callback=callback)
    existing = next((sub for sub in same.order_by("pk") if _same_selection(sub, event_types, filters)), None)
    if existing is not None:
        href = f"{request.path.rstrip('/')}/{existing.pk}"
        raise ConflictError(_("This callback already listens with the same query: listener %(id)s (DELETE %(href)s "
                              "to register it again).") % {"id": existing.pk, "href": href},
                            params={"existingId": str(existing.pk), "existingHref": href})


def _may_unregister(request: Request, sub: EventSubscription) -> bool:
    """Who registered a listener unregisters it, with the same credential: the same token (not another token of
    the same service user: another integration), or, registered in a signed-in session without a token, a session
    of that user (not one of the user's tokens). Someone who may change listeners in the admin may remove any."""
    if request.user.has_perm("tmf.change_eventsubscription"):
        return True
    token = request_token(request)
    return sub.owner_id == request.user.pk and sub.token_id == (token.pk if token else None)


class HubDetailView(TmfView):
    reading_view = True  # unregistering its own listener: as registering it

    @extend_schema(operation_id="unregisterListener", tags=["events subscription"], parameters=[ID_PARAM],
                   responses={204: None, **_errors()})
    def delete(self, request: Request, id: str) -> Response:
        sub = EventSubscription.objects.filter(pk=id, kind=SubscriptionKind.HUB, is_active=True).first() \
            if is_db_id(id) else None
        # Another integration's listener is a 404 as an unknown id is: a 403 told which listener ids exist.
        if sub is None or not _may_unregister(request, sub):
            raise NotFoundError(_("Listener %(id)s not found.") % {"id": id})
        sub.is_active = False
        sub.save(update_fields=["is_active"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentContentView(TmfView):
    """An attachment's file (its `href` and `url` in the trouble ticket): with the API token, of a ticket the token
    may read (the same scope as GET /troubleTicket/{id}), as the work order page offers it to its user."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)  # a file, whatever Accept asks for

    @extend_schema(operation_id="retrieveTroubleTicketAttachment", tags=["troubleTicket"], parameters=[
        ID_PARAM, OpenApiParameter("attachmentId", str, OpenApiParameter.PATH,
                                   description="Identifier of the attachment (its id in the trouble ticket)")],
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY,
                                                                      description="The file, as uploaded"),
                   **_errors()})
    def get(self, request: Request, id: str, attachment_id: str) -> FileResponse:
        ticket = operations.get_scoped(scoped_tickets(request), id)
        attachment = ticket.attachments.filter(pk=attachment_id).first() if is_db_id(attachment_id) else None
        if attachment is None:
            raise NotFoundError(_("Trouble ticket %(id)s has no attachment %(attachment)s.")
                                % {"id": id, "attachment": attachment_id})
        content = attachment.open_for_download()
        if content is None:
            raise NotFoundError(MISSING_FILE % {"name": attachment.filename})
        return FileResponse(content, as_attachment=True, filename=attachment.filename,
                            content_type=attachment.content_type or "application/octet-stream")


class NotFoundView(TmfView):
    """Any other path under the TMF base: the spec's error shape, not an HTML page."""

    @extend_schema(exclude=True)
    def get(self, request: Request, rest: str = "") -> Response:
        raise NotFoundError(_("No such resource in the TMF621 API."))

    post = patch = delete = put = get

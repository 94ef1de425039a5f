"""Our own REST API for work orders: list/detail scoped by policy, create and act through the services."""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField, MultipleChoiceField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loopdesk.core.errors import ConflictError, InvalidTransition, ValidationFailed
from loopdesk.core.text import is_db_id, plus_offset
from loopdesk.customers.services import get_or_create_customer
from loopdesk.followup.services import do_record_ticket_callback
from loopdesk.org.models import OrgUnit
from loopdesk.routing.services import route_ticket
from loopdesk.tickets import services
from loopdesk.tickets.api import serializers as ser
from loopdesk.tickets.api.base import (
    ApiErrorSerializer,
    ApiViewMixin,
    KeysetOrOffsetPagination,
    TreeKeysetPagination,
)
from loopdesk.tickets.choices import Action, Channel, ContactType, Priority, Status
from loopdesk.tickets.models import MISSING_FILE, Category, Ticket
from loopdesk.tickets.policy import allowed_actions
from loopdesk.tickets.selectors import LIST_RELATED
from loopdesk.tmf.auth import check_registers_in_scope, request_token, scoped_tickets

ERRORS = {400: OpenApiResponse(ApiErrorSerializer, description="Bad input: {code, message, field, errors: {field: "
                                "[...]}}"),
          403: OpenApiResponse(ApiErrorSerializer, description="Not allowed"),
          404: OpenApiResponse(ApiErrorSerializer, description="Not found")}


class StrictBooleanField(forms.NullBooleanField):
    """true/false (also 1/0, any case); anything else is a 400 naming the parameter, not silently no filter (the
    default widget read only true/false and 2/3: is_open=0 or is_open=yes listed every work order)."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:
        text = str(value).strip().lower() if value is not None else ""
        if text == "":
            return None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(_("Enter true or false."), code="invalid")


class QueryDateTimeField(IsoDateTimeField):
    """An ISO date-time whose "+" offset arrived as a space (not written %2B in the URL) is read with its offset."""

    def to_python(self, value: Any) -> Any:
        value = super().to_python(plus_offset(value.strip()) if isinstance(value, str) else value)
        try:
            # As the database compares it (UTC): 9999-12-31T23:59:59-12:00 is past year 9999 there (was a 500).
            return value.astimezone(dt.UTC) if value is not None and not timezone.is_naive(value) else value
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class QueryDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = QueryDateTimeField


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class CommaMultipleChoiceField(MultipleChoiceField):
    """Several values repeated (`?status=a&status=b`) or comma-separated (`?status=a,b`, as the TMF621 API takes
    them): `a,b` was one unknown value, a 400."""

    def to_python(self, value: Any) -> list[str]:
        return [part.strip() for item in super().to_python(value) for part in item.split(",")]


class CommaMultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = CommaMultipleChoiceField


class StrictFilterSet(django_filters.FilterSet):
    """Boolean model fields named in Meta.fields are strict too."""

    FILTER_DEFAULTS = {**django_filters.FilterSet.FILTER_DEFAULTS,
                       models.BooleanField: {"filter_class": StrictBooleanFilter}}


class TicketFilter(StrictFilterSet):
    status = CommaMultipleChoiceFilter(choices=Status.choices)
    priority = CommaMultipleChoiceFilter(choices=Priority.choices)
    channel = CommaMultipleChoiceFilter(choices=Channel.choices)
    contact_type = CommaMultipleChoiceFilter(choices=ContactType.choices)
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.all(), method="filter_category",
                                                label=_("category (with its subcategories)"))
    handler_unit = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all())
    is_open = StrictBooleanFilter()
    is_overtime = StrictBooleanFilter()
    is_problem = StrictBooleanFilter()
    created_after = QueryDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = QueryDateTimeFilter(field_name="created_at", lookup_expr="lt")
    number = django_filters.CharFilter(max_length=32, method="filter_number")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_category(self, queryset: QuerySet[Ticket], name: str, value: Category) -> QuerySet[Ticket]:
        return queryset.filter(category__path__startswith=value.path)

    def filter_number(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        """In any case (jm-20261105-000001 as JM-…: it listed nothing), exact otherwise (the number's index)."""
        typed = value.strip()
        return queryset.filter(number__in={typed, typed.upper()})


class TicketViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Work orders the caller may see (`visible_tickets`, narrowed to an API token's units)."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = TicketFilter
    pagination_class = KeysetOrOffsetPagination
    queryset = Ticket.objects.none()  # the real one is per request; this one names the model for the schema

    def get_queryset(self) -> QuerySet[Ticket]:
        return scoped_tickets(self.request).select_related(*LIST_RELATED)

    def get_serializer_class(self) -> type:
        return ser.TicketDetailSerializer if self.action in ("retrieve", "create", "act") else ser.TicketListSerializer

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # An attachment is a file, whatever Accept asks for (its errors are JSON).
        return super().perform_content_negotiation(request, force=force or self.action == "attachment")

    def get_object(self) -> Ticket:
        pk = str(self.kwargs["pk"])
        ticket = self.get_queryset().filter(pk=pk).first() if is_db_id(pk) else None
        if ticket is None:
            raise NotFound(_("Work order not found."))
        return ticket

    def _detail(self, ticket: Ticket, code: int = 200) -> Response:
        ticket = self.get_queryset().get(pk=ticket.pk)
        return Response(ser.TicketDetailSerializer(ticket, context={"request": self.request}).data, status=code)

    @extend_schema(request=ser.TicketCreateSerializer, responses={201: ser.TicketDetailSerializer, 409: OpenApiResponse(
        ApiErrorSerializer, description="An external id already registered (conflict, with existing_id and "
        "existing_href of the work order when the caller may see it)"), **ERRORS})
    def create(self, request: Request) -> Response:
        check_registers_in_scope(request.user, request_token(request))
        data = _validated(ser.TicketCreateSerializer, request.data)
        try:
            with transaction.atomic():  # an unknown caller's new record goes too if the ticket is refused
                customer = get_or_create_customer(msisdn=data["msisdn"], acting_user=request.user)
                ticket = services.do_create_ticket(
                    acting_user=request.user, customer=customer, contact_type=data["contact_type"],
                    category=data["category"], channel=data["channel"], description=data["description"],
                    priority=data["priority"], title=data["title"], committed_at=data.get("committed_at"),
                    requested_resolution_at=data.get("requested_resolution_at"),
                    external_refs=data.get("external_refs"), dispatch=data["dispatch"],
                    dispatch_to=data.get("dispatch_to"),
                )
        except ValidationFailed as exc:
            if "external_refs" in exc.errors:
                self._check_not_registered_already(data.get("external_refs") or {})
            raise
        return self._detail(ticket, status.HTTP_201_CREATED)

    def _check_not_registered_already(self, external_refs: dict[str, str]) -> None:
        """A registration repeated with an external id already registered (a retry after a lost answer, or two at
        once) was a 400 that did not say which work order has it, and the list has no filter to find it: a 409
        naming the work order when the caller may see it (as the TMF621 POST). Else the 400, which tells nothing."""
        q = Q()
        for system, external_id in external_refs.items():
            q |= Q(external_refs__system=system, external_refs__external_id=external_id)
        existing = self.get_queryset().filter(q).order_by("pk").first() if q else None
        if existing is not None:
            raise ConflictError(
                _("Work order %(number)s already has this external id: read it (GET %(href)s) instead of "
                  "registering it again.") % {"number": existing.number, "href": f"/api/tickets/{existing.pk}/"},
                params={"existing_id": existing.pk, "existing_href": f"/api/tickets/{existing.pk}/"})

    @extend_schema(
        parameters=[OpenApiParameter("attachment_id", int, OpenApiParameter.PATH,
                                     description="The attachment's id (in the detail's attachments)")],
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY,
                                                                      description="The file, as uploaded"),
                   404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]+)")
    def attachment(self, request: Request, pk: str, attachment_id: str) -> FileResponse:
        """An attachment's file, for a work order the caller may see (as on its page): 404 otherwise."""
        ticket = self.get_object()
        found = ticket.attachments.filter(pk=attachment_id).first() if is_db_id(attachment_id) else None
        if found is None:
            raise NotFound(_("File not found."))
        content = found.open_for_download()
        if content is None:
            raise NotFound(MISSING_FILE % {"name": found.filename})
        return FileResponse(content, as_attachment=True, filename=found.filename,
                            content_type=found.content_type or "application/octet-stream")

    @extend_schema(
        request=ser.ActionSerializer,
        parameters=[OpenApiParameter("action_name", str, OpenApiParameter.PATH,
                                     enum=[a for a in Action.values if a != Action.CREATE])],
        responses={200: ser.TicketDetailSerializer, 409: OpenApiResponse(
            ApiErrorSerializer, description="Changed meanwhile (version: conflict) or not possible in this state "
            "(invalid_transition, with allowed_actions)"), **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path=r"actions/(?P<action_name>[a-z_]+)")
    def act(self, request: Request, pk: str, action_name: str) -> Response:
        """Take one action of the closed loop (dispatch, accept, transfer, …) with optimistic locking."""
        service = services.ACTION_SERVICES.get(action_name)
        if action_name == Action.CALLBACK:  # with the follow-up policy's outcome (reopen or escalate), as in the UI
            service = do_record_ticket_callback
        if service is None:
            raise NotFound(_("Unknown action “%(action)s”.") % {"action": action_name})
        ticket = self.get_object()
        data = _validated(ser.ActionSerializer, request.data)
        kwargs = _service_kwargs(service, data, request)
        try:
            ticket = service(acting_user=request.user, ticket=ticket, expected_version=data["version"], **kwargs)
        except InvalidTransition as exc:
            # What the caller may do now, as the detail's allowed_actions (the service names every action of the
            # status, also those the caller's role may not take: each of them a 403).
            current = self.get_queryset().filter(pk=ticket.pk).first()
            exc.params["allowed_actions"] = allowed_actions(request.user, current) if current is not None else []
            raise
        return self._detail(ticket)


def _validated(serializer_class: type, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed(field="body", message=_("Send a JSON object."))
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _service_kwargs(service: Any, data: dict[str, Any], request: Request) -> dict[str, Any]:
    """The fields this action's service takes; a field it does not take is an error, a missing required one is
    passed empty so the service names it."""
    params = inspect.signature(service).parameters
    names = {n for n in params if n not in ("acting_user", "ticket", "expected_version", "now")}
    unused = [k for k in data if k != "version" and k not in names]
    if unused:
        raise ValidationFailed({k: [str(_("This action does not use this field."))] for k in unused})
    kwargs: dict[str, Any] = {}
    for name in names:
        if name in data:
            kwargs[name] = data[name]
        elif params[name].default is inspect.Parameter.empty:
            kwargs[name] = None if name == "to_unit" else ""
    if kwargs.get("duplicate_of"):
        other = scoped_tickets(request).filter(pk=kwargs["duplicate_of"]).first()
        if other is None:
            raise ValidationFailed(field="duplicate_of", message=_("Work order not found."))
        kwargs["duplicate_of"] = other
    return kwargs


class CategoryFilter(StrictFilterSet):
    class Meta:
        model = Category
        fields = ["is_active", "parent"]


class UnitFilter(StrictFilterSet):
    region = django_filters.CharFilter(field_name="region", lookup_expr="iexact", max_length=8)  # jm as JM

    class Meta:
        model = OrgUnit
        fields = ["is_active", "parent", "region", "function"]


class CategoryViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """The category tree (active and retired nodes), in tree order."""

    serializer_class = ser.CategorySerializer
    queryset = Category.objects.order_by("path")
    pagination_class = None
    filter_backends = [DjangoFilterBackend]
    filterset_class = CategoryFilter


class UnitViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """The organisation units, in tree order."""

    serializer_class = ser.UnitSerializer
    queryset = OrgUnit.objects.order_by("path")
    pagination_class = TreeKeysetPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = UnitFilter


class RoutePreviewView(ApiViewMixin, APIView):
    """Where would a ticket with these attributes go, and why (the routing rules, tried in order)."""

    @extend_schema(parameters=[ser.RoutePreviewQuerySerializer], responses={200: ser.RouteDecisionSerializer,
                                                                             **ERRORS})
    def get(self, request: Request) -> Response:
        data = _validated(ser.RoutePreviewQuerySerializer, request.query_params.dict())
        unit = getattr(request.user, "unit", None)
        branch = data.get("branch")
        # The ticket's region is its customer's: the branch's when one is given (as the workbench's preview).
        region = (data.get("region") or (branch.region if branch else "") or getattr(unit, "region", "")
                  or settings.LOOPDESK_DEFAULT_REGION)
        decision = route_ticket(region=region, category=data["category"], contact_type=data["contact_type"],
                                tier=data["tier"], channel=data["channel"], branch_id=branch.pk if branch else None)
        return Response(decision.as_dict())


class ApiNotFoundView(ApiViewMixin, APIView):
    """Any other path under /api/ ending in a slash: the documented 404 body, not Django's HTML page (a path without
    its slash still goes to CommonMiddleware, which redirects it when the slash makes it a real one)."""

    permission_classes: list[Any] = []  # a path that names nothing: 404 for everyone

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound()

    post = put = patch = delete = head = options = get

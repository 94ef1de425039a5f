"""Customers in our REST API: masked for everyone; the full number and name only by an audited reveal."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from loopdesk.core.errors import ValidationFailed
from loopdesk.core.text import is_db_id
from loopdesk.customers.models import Customer
from loopdesk.customers.services import clean_msisdn, do_reveal_customer
from loopdesk.tickets.api.base import ApiViewMixin, IdKeysetPagination
from loopdesk.tickets.api.serializers import MaskedCustomerSerializer, StrictInputSerializer, TicketListSerializer
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.policy import can_create
from loopdesk.tickets.selectors import LIST_RELATED
from loopdesk.tmf.auth import scoped_tickets


class RevealSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=200, help_text="Why you need the full number (kept in the audit log).")
    msisdn = serializers.CharField(max_length=32, required=False, help_text=(
        "The caller's number, for a customer without a work order in your scope (front-line roles: the caller on "
        "the line, as the desk's screen-pop)."))


MSISDN_LOOKUP = OpenApiParameter("msisdn", str, description="The customer's number (front-line roles: a customer "
                                 "without a work order in your scope)")


class CustomerViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Customers the caller has a ticket of in scope. `?msisdn=` looks one caller up by number (front-line roles
    may look up any number: they take calls from anyone)."""

    serializer_class = MaskedCustomerSerializer
    pagination_class = IdKeysetPagination
    extra_query_params = frozenset({"msisdn"})
    queryset = Customer.objects.none()
    reading_view = False  # True on the reveal action (an audited read)

    def _by_number(self) -> str | None:
        raw = self.request.query_params.get("msisdn")
        return clean_msisdn(raw) if raw else None

    def get_queryset(self) -> QuerySet[Customer]:
        number = self._by_number() if self.action == "list" else None
        qs = Customer.objects.all()
        if number is not None:
            qs = qs.filter(msisdn=number)
            if can_create(self.request.user):
                return qs
        in_scope = scoped_tickets(self.request, Ticket.objects.filter(customer=OuterRef("pk")))
        return qs.filter(Exists(in_scope))

    def get_object(self, number: str | None = None) -> Customer:
        """A customer with a work order in the caller's scope (the token's units included). Front-line roles take
        calls from anyone: they also reach a customer by the number they have (`?msisdn=`, as the list's lookup and
        the desk's screen-pop), never any customer by id alone (that listed and revealed every customer)."""
        pk = str(self.kwargs["pk"])
        qs = self.get_queryset()
        if number is None and self.request.query_params.get("msisdn"):
            number = clean_msisdn(self.request.query_params["msisdn"])
        if number is not None and can_create(self.request.user):
            qs = Customer.objects.filter(msisdn=number)
        customer = qs.filter(pk=pk).first() if is_db_id(pk) else None
        if customer is None:
            raise NotFound(_("Customer not found."))
        return customer

    @extend_schema(parameters=[MSISDN_LOOKUP])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(parameters=[OpenApiParameter("msisdn", str, description="Exact mobile number")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RevealSerializer, responses={200: inline_serializer(
        "RevealedCustomer", {"msisdn": serializers.CharField(), "name": serializers.CharField()})})
    # A reveal is an audited read: a read-only token may reveal if its user may (reading_view, TokenScopePermission).
    @action(detail=True, methods=["post"], reading_view=True)
    def reveal(self, request: Request, pk: str) -> Response:
        """The full number and name, for roles allowed to see them; every reveal is written to the audit log."""
        if not isinstance(request.data, dict):
            raise ValidationFailed(field="body", message=_("Send a JSON object."))
        serializer = RevealSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        number = serializer.validated_data.get("msisdn")
        customer = self.get_object(clean_msisdn(number) if number else None)
        return Response(do_reveal_customer(acting_user=request.user, customer=customer,
                                           reason=serializer.validated_data["reason"]))

    @extend_schema(parameters=[MSISDN_LOOKUP], responses={200: TicketListSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)  # one list, not a page (also in the schema)
    def tickets(self, request: Request, pk: str) -> Response:
        """The customer's work orders the caller may see, newest first (at most 200)."""
        customer = self.get_object()
        qs = scoped_tickets(request).filter(customer=customer).select_related(*LIST_RELATED)
        return Response(TicketListSerializer(qs.order_by("-created_at", "-id")[:200], many=True).data)

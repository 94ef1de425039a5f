"""What every viewset of our own REST API shares: error shape, pagination."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.response import Response

from loopdesk.core.api import NestedTooDeeply
from loopdesk.core.api import exception_handler as core_exception_handler
from loopdesk.core.text import ascii_digits
from loopdesk.tmf.auth import ThrottleUnauthenticated
from loopdesk.tmf.errors import flatten_errors


def body_error(exc: Exception) -> exceptions.ValidationError | None:
    """A body that could not be read as a field error on `body` in the request's language: malformed JSON (with its
    line and column) was DRF's English {"code": "parse_error"}, a body over DATA_UPLOAD_MAX_MEMORY_SIZE Django's
    HTML "Bad Request (400)" page."""
    if isinstance(exc, RequestDataTooBig):
        return exceptions.ValidationError({"body": [_("The request body is too large.")]})
    if isinstance(exc, exceptions.ParseError):
        cause = exc.__context__
        if isinstance(exc, NestedTooDeeply):
            message = _("The request body is nested too deeply to be read.")
        elif isinstance(cause, json.JSONDecodeError):
            message = _("The request body is not valid JSON (line %(line)d, column %(column)d).") % {
                "line": cause.lineno, "column": cause.colno}
        elif isinstance(cause, ValueError):  # not in the request's encoding, or NaN/Infinity
            message = _("The request body is not valid JSON.")
        else:  # a form or multipart body that could not be read
            message = _("The request is not valid.")
        return exceptions.ValidationError({"body": [message]})
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Bad input as {"code", "message", "errors": {field: [...]}}, the same shape services' ValidationFailed has."""
    exc = body_error(exc) or exc
    if isinstance(exc, Http404):  # get_object of the units and categories: {"detail"} only, no code and message
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        field, messages = next(iter(errors.items()), ("body", [str(_("The request is not valid."))]))
        return Response({"code": "validation_error", "message": messages[0], "field": field, "errors": errors},
                        status=400)
    response = core_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException) and isinstance(response.data, dict) \
            and set(response.data) == {"detail"}:
        # 401, 403, 404, 405, 406, 415, 429 of the framework in the same shape as the services' errors: a client
        # reads `code` and `message` whatever refused it (`detail` kept for clients that read it).
        codes = exc.get_codes()
        response.data = {"code": codes if isinstance(codes, str) else exc.default_code,
                         "message": str(response.data["detail"]), "detail": response.data["detail"]}
    return response


class ApiErrorSerializer(serializers.Serializer):
    """Every refusal of our API (services' errors, bad input, the framework's 401/403/404/405/415/429)."""

    code = serializers.CharField(help_text="validation_error, not_authenticated, authentication_failed, "
                                 "permission_denied, not_found, conflict, invalid_transition, throttled, …")
    message = serializers.CharField(help_text="In the request's language")
    field = serializers.CharField(required=False, help_text="Bad input: the (first) field at fault")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Bad input: every field at fault with its messages")
    detail = serializers.CharField(required=False, help_text="The framework's refusals: the message again")
    status = serializers.CharField(required=False, help_text="invalid_transition: the work order's status now")
    allowed_actions = serializers.ListField(child=serializers.CharField(), required=False,
                                            help_text="invalid_transition: the actions possible in that status")


class ApiAutoSchema(AutoSchema):
    """Every operation of our API lists the refusals it can answer with, in the shape they have: 400 (bad input;
    an unknown query parameter, also on a detail), 401, 429, and 403 for writes, 404 where an id is in the path."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        codes = [400, 401, 429]
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes.append(403)
        if "{" in self.path:
            codes.append(404)
        for code in sorted(codes):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(ApiErrorSerializer, str(code), direction=direction)
        return dict(sorted(responses.items()))


TREE_PATH = re.compile(r"(?:/[0-9]+)+/")  # a materialised path, /1/4/17/ (loopdesk.core.tree)
PAGING_PARAMS = frozenset({"cursor", "page_size", "offset", "limit"})


class ApiViewMixin(ThrottleUnauthenticated):
    extra_query_params: frozenset[str] = frozenset()  # e.g. customers: msisdn
    schema = ApiAutoSchema()

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def known_query_params(self) -> set[str]:
        """What a GET of this endpoint reads from the query string: its filters and pages (lists), `format`."""
        known = {"format", *self.extra_query_params}
        if getattr(self, "action", None) == "list":
            filterset = getattr(self, "filterset_class", None)
            if filterset is not None:
                known |= set(filterset.base_filters)
            if getattr(self, "pagination_class", None) is not None:
                known |= PAGING_PARAMS
        return known

    def repeatable_query_params(self) -> set[str]:
        """The filters that take several values (`?status=new&status=assigned`: either); every other parameter once."""
        filterset = getattr(self, "filterset_class", None)
        if getattr(self, "action", None) != "list" or filterset is None:
            return set()
        return {name for name, item in filterset.base_filters.items()
                if issubclass(item.field_class, forms.MultipleChoiceField)}

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if request.method not in ("GET", "HEAD"):
            return
        if hasattr(self, "action"):
            # A misspelt filter (?state=new) is a 400 naming it, not silently every work order.
            unknown = [key for key in request.query_params if key not in self.known_query_params()]
            if unknown:
                raise exceptions.ValidationError({key: [_("Unknown query parameter.")] for key in unknown})
        # ?is_open=true&is_open=false used the last value only, silently: a 400 naming the parameter.
        repeatable = self.repeatable_query_params()
        repeated = [key for key, values in request.query_params.lists() if len(values) > 1 and key not in repeatable]
        if repeated:
            raise exceptions.ValidationError({key: [_("Give this parameter only once.")] for key in repeated})


class KeysetOrOffsetPagination(CursorPagination):
    """Keyset (cursor) pages by default: stable and index-friendly at any depth. With `?offset=`, plain
    limit/offset pages with a total `count` (for UIs that jump to page N)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-created_at", "-id")

    def __init__(self) -> None:
        self.offset_pager: LimitOffsetPagination | None = None
        self.model: Any = None

    def check_paging(self, request: Any) -> None:
        """`offset` a whole number from 0, `limit` and `page_size` from 1 (above the maximum: the maximum); anything
        else is a 400 naming the parameter, not a silent default page."""
        errors: dict[str, list[str]] = {}
        for name, least in (("offset", 0), ("limit", 1), (self.page_size_query_param, 1)):
            if name not in request.query_params:
                continue
            value = request.query_params[name].strip()
            if not (ascii_digits(value) and len(value) <= 12 and int(value) >= least):
                errors[name] = [str(_("Give a whole number of at least %(least)d.") % {"least": least})]
        if "offset" in request.query_params and self.cursor_query_param in request.query_params:
            # The offset page was answered and the cursor silently ignored.
            message = str(_("Give either offset or cursor, not both."))
            errors.update({"offset": [message], self.cursor_query_param: [message]})
        if errors:
            raise exceptions.ValidationError(errors)

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        self.check_paging(request)
        self.model = queryset.model  # what a cursor's position is checked against
        if "offset" in request.query_params:
            self.offset_pager = LimitOffsetPagination()
            self.offset_pager.default_limit = self.page_size
            self.offset_pager.max_limit = self.max_page_size
            return self.offset_pager.paginate_queryset(queryset.order_by(*self.ordering), request, view)
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Any) -> Any:
        """A cursor cut short or edited by hand is bad input, a 400 naming `cursor` (DRF answers 404, as if the list
        did not exist); so is one whose position is not a value of the order's first field (it went into the query:
        a server error)."""
        invalid = exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise invalid from None
        if cursor is not None and cursor.position is not None and not self.position_is_valid(cursor.position):
            raise invalid
        return cursor

    def position_is_valid(self, position: str) -> bool:
        if "\x00" in position:  # PostgreSQL refuses it in any text
            return False
        field = self.model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            field.to_python(position)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            return False
        return True

    def get_paginated_response(self, data: Any) -> Response:
        if self.offset_pager is not None:
            return self.offset_pager.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"] = {"type": "integer", "description": "Only with ?offset="}
        return described

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [*super().get_schema_operation_parameters(view),
                *LimitOffsetPagination().get_schema_operation_parameters(view)]


class IdKeysetPagination(KeysetOrOffsetPagination):
    ordering = ("id",)


class TreeKeysetPagination(KeysetOrOffsetPagination):
    """Tree order (the materialised path: each node right after its parent, a subtree together), as documented;
    the keyset pagination's own ordering replaced the queryset's (the units came by id)."""

    ordering = ("path",)

    def position_is_valid(self, position: str) -> bool:
        return bool(TREE_PATH.fullmatch(position))

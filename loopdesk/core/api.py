"""REST framework glue shared by every app's API."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from loopdesk.core.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map domain errors raised by services to clear JSON responses; leave the rest to DRF."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    return drf_exception_handler(exc, context)


class NestedTooDeeply(exceptions.ParseError):
    """A JSON body nested deeper than the decoder can follow."""


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, but a body nested too deeply for the decoder (e.g. 100,000 opening brackets) is a parse
    error (`NestedTooDeeply`: a 400 on `body`), not a server error with an HTML page."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise NestedTooDeeply("JSON parse error - nested too deeply") from None

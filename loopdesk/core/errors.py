"""Domain errors raised by services. Views and the API map them to 4xx responses.

Every message is translatable and never built with f-strings, so it can be shown in the user's language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base of every error a service raises on purpose. `status` is the HTTP status it maps to."""

    status = 400
    code = "invalid"

    def __init__(self, message: Any = None, *, field: str | None = None, params: dict[str, Any] | None = None):
        self.message = message if message is not None else _("The request is not valid.")
        self.field = field
        self.params = params or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.field:
            data["field"] = self.field
        data.update({k: v for k, v in self.params.items() if k not in data})
        return data


class ValidationFailed(DomainError):
    """Bad input: a field-level error. Nothing was stored."""

    status = 400
    code = "validation_error"

    def __init__(self, errors: dict[str, list[str]] | None = None, message: Any = None, *, field: str | None = None):
        if errors is None and field is not None and message is not None:
            errors = {field: [str(message)]}
        self.errors = {k: [str(m) for m in v] for k, v in (errors or {}).items()}
        if message is None:
            first = next(iter(self.errors.values()), [str(_("The request is not valid."))])
            message = first[0]
        super().__init__(message, field=field or next(iter(self.errors), None))

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data["errors"] = self.errors
        return data


class PermissionDeniedError(DomainError):
    status = 403
    code = "permission_denied"


class NotFoundError(DomainError):
    status = 404
    code = "not_found"


class ConflictError(DomainError):
    """Someone else changed the object first (optimistic concurrency)."""

    status = 409
    code = "conflict"


class InvalidTransition(DomainError):
    """The action is not allowed in the ticket's current state. Names the state and what is allowed now."""

    status = 409
    code = "invalid_transition"

"""Writing the audit log. Called by services inside their transaction."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from loopdesk.audit.models import AuditLog


def record_audit(
    actor: Any,
    action: str,
    obj: models.Model,
    *,
    data: dict[str, Any] | None = None,
    at: Any = None,
) -> AuditLog:
    """Append one audit record for `obj`. `actor` may be None for the system."""
    entry = audit_entry(actor, action, obj, data=data, at=at)
    entry.save(force_insert=True)
    return entry


def audit_entry(
    actor: Any,
    action: str,
    obj: models.Model,
    *,
    data: dict[str, Any] | None = None,
    at: Any = None,
) -> AuditLog:
    """The record `record_audit` appends, unsaved: for a service that writes many at once (`bulk_create`)."""
    return AuditLog(
        created_at=at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:100],
        province=getattr(obj, "province", "") or "",
        region=getattr(obj, "region", "") or "",
        data=data or {},
    )

"""Writing the audit log. Called by services inside their transaction."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from django.db import models
from django.utils import timezone

from loopdesk.audit.models import AuditLog


class AuditOptions(TypedDict, total=False):
    """What `record_audit` and `audit_entry` take besides actor, action and object."""

    data: dict[str, Any] | None
    at: Any  # the time of the record (aware datetime); now when left out


def record_audit(actor: Any, action: str, obj: models.Model, **options: Unpack[AuditOptions]) -> AuditLog:
    """Append one audit record for `obj`. `actor` may be None for the system."""
    entry = audit_entry(actor, action, obj, **options)
    entry.save(force_insert=True)
    return entry


def audit_entry(actor: Any, action: str, obj: models.Model, **options: Unpack[AuditOptions]) -> AuditLog:
    """The record `record_audit` appends, unsaved: for a service that writes many at once (`bulk_create`)."""
    region = getattr(obj, "region", "") or ""
    province = getattr(obj, "province", "") or ""
    if region and not hasattr(obj, "province"):  # a city's row without a province column (a routing rule, a scheme)
        province = _province_of_region(region)
    return AuditLog(
        created_at=options.get("at") or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:100],
        province=province,
        region=region,
        data=options.get("data") or {},
    )


def _province_of_region(region: str) -> str:
    """The province of a region code, from its units: a province's auditors read the records of their cities' rows
    (`audit.admin.in_users_regions` goes by the province column)."""
    from loopdesk.org.models import OrgUnit

    return OrgUnit.objects.filter(region=region).values_list("province", flat=True).first() or ""

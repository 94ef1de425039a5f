"""Changes to customers, and the audited reveal of their personal data."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.services import record_audit
from loopdesk.core.errors import PermissionDeniedError, ValidationFailed
from loopdesk.core.text import normalize_msisdn, validate_msisdn
from loopdesk.customers.models import Customer
from loopdesk.tickets import policy


def clean_msisdn(value: str, field: str = "msisdn") -> str:
    """Normalise and validate a mobile number, or raise a field-level error."""
    msisdn = normalize_msisdn(value)
    try:
        validate_msisdn(msisdn)
    except ValidationError as exc:
        raise ValidationFailed(field=field, message=exc.messages[0]) from None
    return msisdn


def get_or_create_customer(*, msisdn: str, acting_user: Any, defaults: dict[str, Any] | None = None) -> Customer:
    """The customer with this number; a caller unknown to the platform gets a minimal record in the
    acting user's region (the profile is filled in from the billing system later)."""
    number = clean_msisdn(msisdn)
    existing = Customer.objects.filter(msisdn=number).first()
    if existing is not None:
        return existing
    unit = getattr(acting_user, "unit", None)
    values = {"province": getattr(unit, "province", ""), "region": getattr(unit, "region", "")}
    values.update(defaults or {})
    try:
        with transaction.atomic():
            customer = Customer.objects.create(msisdn=number, **values)
            record_audit(acting_user, "customer.create", customer)
            return customer
    except IntegrityError:
        return Customer.objects.get(msisdn=number)


def do_reveal_customer(*, acting_user: Any, customer: Customer, reason: str = "") -> dict[str, str]:
    """Show a customer's full number and name: allowed to some roles only, and always audited."""
    if not policy.can_reveal(acting_user):
        raise PermissionDeniedError(_("You may not see customers' full phone numbers and names."))
    with transaction.atomic():
        record_audit(acting_user, "customer.reveal", customer, data={"reason": (reason or "")[:200]})
    return {"msisdn": customer.msisdn, "name": customer.name}

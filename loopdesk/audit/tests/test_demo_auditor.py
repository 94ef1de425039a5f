"""Auditors read the audit log (and the work orders, customers and policy) in the admin (docs/access.md), but the
demo's `auditor1` had no staff status: the admin sent them back to the sign-in page. The demo's auditors are staff now,
read-only there as their role's view permissions make them."""

from __future__ import annotations

import pytest
from django.test import Client

from loopdesk.core.reference import seed_reference
from loopdesk.org.models import User
from loopdesk.tickets.generator import Reference, ensure_staff


@pytest.mark.django_db
def test_the_demo_auditor_reads_the_audit_log_in_the_admin_and_changes_nothing() -> None:
    seed_reference()
    ensure_staff(Reference.load(), 1)
    client = Client(headers={"accept-language": "en"})
    client.force_login(User.objects.get(username="auditor1"))
    assert client.get("/admin/audit/auditlog/").status_code == 200
    assert client.get("/admin/tickets/category/").status_code == 200
    assert client.get("/admin/tickets/category/add/").status_code == 403

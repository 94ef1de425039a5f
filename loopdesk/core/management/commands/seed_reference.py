"""`manage.py seed_reference`: create the reference data (roles, organisation, categories, SLA, routing)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loopdesk.core.reference import seed_reference

LABELS = {
    "groups": "role groups",
    "group_permissions": "permissions granted to role groups",
    "org_units": "organisation units",
    "categories": "categories",
    "calendars": "business calendars",
    "sla_policies": "SLA policies",
    "routing_rules": "routing rules",
}


class Command(BaseCommand):
    help = "Create the reference data a new installation needs. Idempotent: existing rows are left as they are."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = seed_reference()
        for key, count in counts.items():
            self.stdout.write(f"  {LABELS.get(key, key)}: {count} created")
        total = sum(counts.values())
        if total:
            self.stdout.write(self.style.SUCCESS(f"Reference data seeded: {total} objects created."))
        else:
            self.stdout.write(self.style.SUCCESS("Reference data already complete: nothing created."))

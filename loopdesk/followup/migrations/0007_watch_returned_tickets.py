"""Open work orders returned (退单) before the SLA sweep watched returned ones got no overtime / problem watch at the
return (`followup.services._watches_for`); this gives them the watches the listener now keeps, so the sweep marks,
alerts and escalates their crossings (one already past is acted on at the next sweep). `sync_followup` does not:
it fills in only tickets that have no watch at all, and these have their due-soon one."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone


def watch_returned(apps: Any, schema_editor: Any) -> None:
    Ticket = apps.get_model("tickets", "Ticket")
    SlaWatch = apps.get_model("followup", "SlaWatch")
    now = timezone.now()
    rows = (Ticket.objects.filter(is_open=True, status="returned", sla_paused=False, sla_policy__isnull=False)
            .order_by("pk").values_list("pk", "overtime_at", "problem_at", "is_overtime", "is_problem"))
    watches = []
    for pk, overtime_at, problem_at, is_overtime, is_problem in rows.iterator(chunk_size=2000):
        if overtime_at and (not is_overtime or overtime_at > now):
            watches.append(SlaWatch(ticket_id=pk, kind="overtime", fire_at=overtime_at))
        if problem_at and (not is_problem or problem_at > now):
            watches.append(SlaWatch(ticket_id=pk, kind="problem", fire_at=problem_at))
        if len(watches) >= 2000:
            SlaWatch.objects.bulk_create(watches, ignore_conflicts=True)
            watches = []
    SlaWatch.objects.bulk_create(watches, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("followup", "0006_staffalert_texts"),
        ("tickets", "0008_verbose_names"),
    ]

    operations = [migrations.RunPython(watch_returned, migrations.RunPython.noop)]

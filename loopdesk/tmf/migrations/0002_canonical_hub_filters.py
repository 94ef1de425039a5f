"""Hub listeners registered before their query values were checked kept them as sent ("severity=major",
"ticketType=incident"), which never match an event ("Major", "fault"): store them as events show them. A value
that can never match is left as it is (the listener's owner sees it in the admin). The tables are a copy of
loopdesk.tmf.mapping at the time of writing, so that the migration does not change with the code."""

from django.db import migrations

TICKET_TYPES = {"complaint": "complaint", "complain": "complaint", "consultation": "consultation",
                "request": "consultation", "inquiry": "consultation", "suggestion": "suggestion", "fault": "fault",
                "incident": "fault", "appeal": "appeal"}
SEVERITIES = {"critical": "Critical", "major": "Major", "minor": "Minor"}


def canonical(name: str, value: str) -> str:
    key = value.strip().lower()
    if name == "ticketType":
        return TICKET_TYPES.get(key, value)
    if name == "severity":
        return SEVERITIES.get(key, value)
    return value


def forwards(apps, schema_editor):
    EventSubscription = apps.get_model("tmf", "EventSubscription")
    for sub in EventSubscription.objects.exclude(filters={}).only("pk", "filters"):
        if not isinstance(sub.filters, dict):
            continue
        filters = {name: [canonical(name, str(v)) for v in values] if isinstance(values, list) else values
                   for name, values in sub.filters.items()}
        if filters != sub.filters:
            EventSubscription.objects.filter(pk=sub.pk).update(filters=filters)


class Migration(migrations.Migration):
    dependencies = [("tmf", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

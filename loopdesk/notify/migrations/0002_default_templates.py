"""Store the built-in SMS texts as templates, so supervisors find and edit them in the admin."""

from django.db import migrations


def add_templates(apps, schema_editor):
    from loopdesk.notify.defaults import DEFAULT_TEXTS

    MessageTemplate = apps.get_model("notify", "MessageTemplate")
    existing = set(MessageTemplate.objects.values_list("kind", flat=True))
    MessageTemplate.objects.bulk_create(
        MessageTemplate(kind=kind, text=text, is_active=True) for kind, text in DEFAULT_TEXTS.items()
        if kind not in existing
    )


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial")]
    operations = [migrations.RunPython(add_templates, migrations.RunPython.noop)]

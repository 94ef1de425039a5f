from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "loopdesk.sla"
    label = "sla"
    verbose_name = _("SLA")

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_migrate

        from loopdesk.sla.checks import calendar_years_covered
        from loopdesk.sla.refcache import install_triggers

        post_migrate.connect(install_triggers, sender=self, dispatch_uid="loopdesk.sla.refcache")
        checks.register(calendar_years_covered)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "loopdesk.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from loopdesk.audit.append_only import after_migrate

        post_migrate.connect(after_migrate, sender=self, dispatch_uid="loopdesk.audit.append_only")

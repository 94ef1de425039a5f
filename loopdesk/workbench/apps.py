from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkbenchConfig(AppConfig):
    """The web UI for agents, hall clerks, specialists and supervisors (server-rendered, htmx)."""

    name = "loopdesk.workbench"
    label = "workbench"
    verbose_name = _("Workbench")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "loopdesk.reports"
    label = "reports"
    verbose_name = _("Reports and KPIs")

    def ready(self) -> None:
        from loopdesk.reports.rollups import on_ticket_event
        from loopdesk.tickets.events import register_listener

        register_listener("reports.rollups", on_ticket_event)

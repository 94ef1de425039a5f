from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TmfConfig(AppConfig):
    name = "loopdesk.tmf"
    label = "tmf"
    verbose_name = _("Integrations (TMF621)")

    def ready(self) -> None:
        import loopdesk.tmf.schema  # noqa: F401 - registers the OpenAPI description of token authentication
        from loopdesk.outbox.services import register_deliverer, register_purger
        from loopdesk.tickets.events import register_listener
        from loopdesk.tmf.delivery import CHANNEL, deliver, destination
        from loopdesk.tmf.events import on_ticket_event
        from loopdesk.tmf.models import purge_delivery_log

        register_listener("tmf621-events", on_ticket_event)
        register_deliverer(CHANNEL, deliver, destination)
        register_purger("delivery_log", purge_delivery_log)

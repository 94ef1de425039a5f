from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    name = "loopdesk.followup"
    label = "followup"
    verbose_name = _("Follow-up")

    def ready(self) -> None:
        from loopdesk.followup import services
        from loopdesk.tickets.events import register_listener

        register_listener("followup.sla_watches", services.sync_watches)
        register_listener("followup.callbacks", services.on_ticket_event_callbacks)
        register_listener("followup.sla_crossings", services.on_crossing_event)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "loopdesk.surveys"
    label = "surveys"
    verbose_name = _("Satisfaction surveys")

    def ready(self) -> None:
        from loopdesk.surveys import services
        from loopdesk.tickets.events import register_listener

        register_listener("surveys.close_survey", services.on_ticket_event)

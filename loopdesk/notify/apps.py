from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "loopdesk.notify"
    label = "notify"
    verbose_name = _("Customer messages")

    def ready(self) -> None:
        from loopdesk.notify import services
        from loopdesk.outbox.services import register_deliverer
        from loopdesk.tickets.events import register_listener

        register_listener("notify.customer_sms", services.on_ticket_event)
        register_deliverer(services.SMS_CHANNEL, services.deliver_sms)

from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class TicketsConfig(AppConfig):
    name = "loopdesk.tickets"
    label = "tickets"
    # A context of its own: reports use "Work orders" as the name of a count (工单数), the admin as a section (工单).
    verbose_name = pgettext_lazy("app name", "Work orders")

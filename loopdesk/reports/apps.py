from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "loopdesk.reports"
    label = "reports"
    verbose_name = _("Reports and KPIs")

    def ready(self) -> None:
        from django.db.models.signals import post_save, pre_save

        from loopdesk.customers.models import Customer
        from loopdesk.org.models import OrgUnit
        from loopdesk.reports.rollups import (
            on_customer_saved,
            on_survey_saved,
            on_ticket_event,
            on_tickets_recategorised,
            on_unit_saved,
            on_unit_saving,
        )
        from loopdesk.surveys.models import Survey
        from loopdesk.tickets.events import register_listener, tickets_recategorised

        register_listener("reports.rollups", on_ticket_event)
        # Surveys have no event hub: a saved survey (created, answered) is noted for the fold.
        post_save.connect(on_survey_saved, sender=Survey, dispatch_uid="reports.rollups.survey")
        # A customer's brand is a dimension of their tickets' facts (an edit in the admin; imports note it themselves).
        post_save.connect(on_customer_saved, sender=Customer, dispatch_uid="reports.rollups.customer")
        # A window survey counts under the centre above the unit rated: a moved unit takes its surveys along.
        pre_save.connect(on_unit_saving, sender=OrgUnit, dispatch_uid="reports.rollups.unit-before")
        post_save.connect(on_unit_saved, sender=OrgUnit, dispatch_uid="reports.rollups.unit")
        tickets_recategorised.connect(on_tickets_recategorised, dispatch_uid="reports.rollups.recategorised")

"""A survey's page in the admin showed the contact channel as its stored code ('hotline', 'hall'), in the Chinese
admin too; it is named in the reader's language now (10086 热线 / Hotline 10086)."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World, staff_client
from loopdesk.surveys.models import Survey
from loopdesk.tickets import services


def test_the_survey_page_names_the_contact_channel(world: World) -> None:
    ticket = world.replied_ticket(answered=True)
    ticket = services.do_callback(acting_user=world.user("agent"), ticket=ticket, verdict="satisfied",
                                  now=T0 + dt.timedelta(hours=4))
    services.do_close_ticket(acting_user=world.user("agent"), ticket=ticket, now=T0 + dt.timedelta(hours=5))
    survey = Survey.objects.get(ticket=ticket)
    assert survey.channel == "hotline"
    url = f"/admin/surveys/survey/{survey.pk}/change/"
    for language, label in (("zh-hans", "10086 热线"), ("en", "Hotline 10086")):
        text = staff_client(world, "admin", language=language, superuser=True).get(url).content.decode()
        assert label in text, language
        assert ">hotline<" not in text, language

"""Staff alerts read in the language of the person they are for (their chosen language, else the site's), not in
the language of whoever's action or which background sweep raised them."""

from __future__ import annotations

import datetime as dt

from django.utils import translation

from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.followup.models import AlertKind, StaffAlert
from loopdesk.tickets import services as s

H = dt.timedelta(hours=1)


def _message(world: World, user_key: str, kind: str) -> str:
    return StaffAlert.objects.get(user=world.users[user_key], kind=kind).message


def test_the_callback_alert_is_in_the_first_responders_language_not_the_repliers(world: World) -> None:
    agent = world.users["agent"]
    agent.language = "en"
    agent.save(update_fields=["language"])
    t = s.do_create_ticket(acting_user=agent, now=T0, dispatch=True, dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    with translation.override("zh-hans"):  # the specialist works in Chinese
        s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已调整天线", now=T0 + 2 * H)
    message = _message(world, "agent", AlertKind.CALLBACK_DUE)
    assert message.startswith("Call back the customer of"), message


def test_sla_alerts_follow_each_recipients_language(world: World) -> None:
    head = world.users["head"]
    head.language = "en"
    head.save(update_fields=["language"])
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    with translation.override("en"):  # e.g. a worker or an English page that noticed the crossing
        f.sweep_sla(now=t.problem_at)
    english = _message(world, "head", AlertKind.PROBLEM)
    chinese = _message(world, "specialist", AlertKind.PROBLEM)  # no language chosen: the site's, Chinese
    assert "problem ticket" in english, english
    assert "problem ticket" not in chinese and t.number in chinese, chinese
    assert "escalated" not in _message(world, "supervisor", AlertKind.ESCALATED), "the site's language"

"""A staff alert was stored as text in its addressee's language of the moment it was raised: one who switched language
afterwards (or an administrator reading it in the admin) read it in the other language. Each alert now keeps its
message in every language and is shown in the reader's; alerts raised before it was kept show their stored text."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World, staff_client
from loopdesk.followup import services as f
from loopdesk.followup.models import AlertKind, StaffAlert
from loopdesk.tickets import services as s

H = dt.timedelta(hours=1)


def _set_language(world: World, key: str, language: str) -> None:
    user = world.users[key]
    user.language = language
    user.save(update_fields=["language"])


def test_an_alert_raised_in_chinese_reads_in_english_after_the_reader_switches(world: World) -> None:
    _set_language(world, "agent", "zh-hans")
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    t = s.do_accept_ticket(acting_user=world.user("specialist"), ticket=t, now=T0 + H)
    s.do_reply_ticket(acting_user=world.user("specialist"), ticket=t, resolution="已调整天线", now=T0 + 2 * H)
    assert "Call back" not in StaffAlert.objects.get(user=world.users["agent"], kind=AlertKind.CALLBACK_DUE).message
    _set_language(world, "agent", "en")
    page = staff_client(world, "agent").get("/alerts/").content.decode()
    assert f"Call back the customer of {t.number}" in page


def test_the_sla_sweeps_alerts_follow_the_readers_language_of_the_moment(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    f.sweep_sla(now=t.problem_at)
    stored = StaffAlert.objects.get(user=world.users["specialist"], kind=AlertKind.PROBLEM).message
    assert "problem ticket" not in stored  # raised for a reader of no chosen language: the site's, Chinese
    _set_language(world, "specialist", "en")
    page = staff_client(world, "specialist").get("/alerts/").content.decode()
    assert "problem ticket" in page and stored not in page


def test_an_alert_kept_before_its_languages_were_shows_its_stored_text(world: World) -> None:
    StaffAlert.objects.create(user=world.users["agent"], kind=AlertKind.DUE_SOON, occasion="old", message="旧提醒",
                              created_at=T0)
    _set_language(world, "agent", "en")
    assert "旧提醒" in staff_client(world, "agent").get("/alerts/").content.decode()


def test_the_alerts_admin_page_shows_the_message_in_the_readers_language(world: World) -> None:
    """The list showed it in the reader's language, the alert's own page the stored text: an English administrator
    read '请在 … 前回访工单 …' there."""
    t = world.replied_ticket()
    alert = StaffAlert.objects.get(user=world.users["agent"], kind=AlertKind.CALLBACK_DUE)
    assert "Call back" not in alert.message  # stored in the addressee's language, the site's: Chinese
    url = f"/admin/followup/staffalert/{alert.pk}/change/"
    page = staff_client(world, "admin", language="en", superuser=True).get(url).content.decode()
    assert f"Call back the customer of {t.number}" in page
    assert alert.message not in page
    page = staff_client(world, "admin", language="zh-hans", superuser=True).get(url).content.decode()
    assert alert.message in page

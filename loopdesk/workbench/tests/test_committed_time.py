"""The committed resolution time: the first responder or a supervisor may change it with a reason, which the customer
sees on the timeline (docs/sla.md). The workbench had no way to do it (only the TMF API), so e.g. a reopened work
order kept a promise already past. The time typed is Asia/Shanghai time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from loopdesk.conftest import World
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.choices import EventKind, Visibility
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_create_ticket


def _ticket(world: World) -> Ticket:
    return do_create_ticket(acting_user=world.user("agent"), dispatch=True, **world.ticket_kwargs())


def _local(day: dt.datetime) -> str:
    return day.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def test_the_first_responder_changes_it_in_shanghai_time(world: World, client_for: Any) -> None:
    t = _ticket(world)
    client = client_for("agent")
    assert 'id="commit-time"' in client.get(f"/tickets/{t.pk}/").content.decode()
    when = (timezone.now() + dt.timedelta(days=3)).astimezone(SHANGHAI).replace(hour=18, minute=0, second=0,
                                                                                   microsecond=0)
    response = client.post(f"/tickets/{t.pk}/committed-time/",
                           {"version": t.version, "committed_at": _local(when), "reason": "需上门测试"})
    assert response.status_code == 302
    stored = Ticket.objects.get(pk=t.pk)
    assert stored.committed_at == when  # 18:00 in Shanghai, not 18:00 UTC
    event = stored.events.get(kind=EventKind.COMMIT_TIME)
    assert event.note == "需上门测试" and event.visibility == Visibility.CUSTOMER
    page = client.get(f"/tickets/{t.pk}/").content.decode()
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    assert f"Committed to the customer: {when:%Y-%m-%d} 18:00" in timeline  # the new promise, in Shanghai time


def test_bad_input_is_a_field_error_in_the_users_language_and_nothing_changes(world: World,
                                                                             client_for: Any) -> None:
    t = _ticket(world)
    before = Ticket.objects.get(pk=t.pk).committed_at
    client = client_for("agent", "zh-hans")
    past = _local(timezone.now() - dt.timedelta(hours=1))
    response = client.post(f"/tickets/{t.pk}/committed-time/",
                           {"version": t.version, "committed_at": past, "reason": "客户要求"})
    assert response.status_code == 422
    assert response.context["commit_errors"]["committed_at"] and "客户要求" in response.content.decode()
    missing = client.post(f"/tickets/{t.pk}/committed-time/", {"version": t.version, "committed_at": "明天"})
    assert missing.status_code == 422
    assert set(missing.context["commit_errors"]) == {"committed_at", "reason"}
    assert "明天" in missing.content.decode()
    later = _local(timezone.now() + dt.timedelta(days=2))
    stale = client.post(f"/tickets/{t.pk}/committed-time/",
                        {"version": t.version - 1, "committed_at": later, "reason": "客户要求"})
    assert stale.status_code == 409 and stale.context["commit_errors"]["general"]
    assert Ticket.objects.get(pk=t.pk).committed_at == before
    assert not Ticket.objects.get(pk=t.pk).events.filter(kind=EventKind.COMMIT_TIME).exists()


def test_a_time_more_than_a_year_ahead_is_refused_on_its_field(world: World, client_for: Any) -> None:
    # The customer's SMS names the day without its year (12月31日23:59): 9999 (or 2207 for 2027) was stored and told.
    t = _ticket(world)
    before = Ticket.objects.get(pk=t.pk).committed_at
    client = client_for("agent", "zh-hans")
    for typed in ("9999-12-31T23:59", _local(timezone.now() + dt.timedelta(days=367))):
        response = client.post(f"/tickets/{t.pk}/committed-time/",
                               {"version": t.version, "committed_at": typed, "reason": "客户要求"})
        assert response.status_code == 422, typed
        assert "一年" in response.context["commit_errors"]["committed_at"][0]
        assert typed in response.content.decode()
    assert Ticket.objects.get(pk=t.pk).committed_at == before
    assert not Ticket.objects.get(pk=t.pk).events.filter(kind=EventKind.COMMIT_TIME).exists()
    within = _local(timezone.now() + dt.timedelta(days=300))
    assert client.post(f"/tickets/{t.pk}/committed-time/",
                       {"version": t.version, "committed_at": within, "reason": "客户要求"}).status_code == 302


def test_only_the_first_responders_side_and_supervisors_may(world: World, client_for: Any) -> None:
    t = _ticket(world)
    later = _local(timezone.now() + dt.timedelta(days=2))
    for role in ("specialist", "auditor"):
        client = client_for(role)
        assert 'id="commit-time"' not in client.get(f"/tickets/{t.pk}/").content.decode()
        response = client.post(f"/tickets/{t.pk}/committed-time/",
                               {"version": t.version, "committed_at": later, "reason": "x"})
        assert response.status_code == 403, role
    assert client_for("supervisor").post(f"/tickets/{t.pk}/committed-time/", {
        "version": t.version, "committed_at": later, "reason": "监管要求"}).status_code == 302


def test_once_the_customer_is_answered_the_form_is_gone_and_a_post_is_a_field_error(world: World,
                                                                                   client_for: Any) -> None:
    """After the answer a new committed time would SMS 'time changed' to a customer who has the result: not
    offered, and a form posted from an older page is refused under its field (was a 302 and an SMS)."""
    from loopdesk.tickets.services import do_answer_customer

    t = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    t = do_answer_customer(acting_user=world.user("agent"), ticket=t, answer="已解决", resolution="已解决")
    client = client_for("agent", "zh-hans")
    assert 'id="commit-time"' not in client.get(f"/tickets/{t.pk}/").content.decode()
    later = _local(timezone.now() + dt.timedelta(days=2))
    response = client.post(f"/tickets/{t.pk}/committed-time/",
                           {"version": t.version, "committed_at": later, "reason": "客户要求"})
    assert response.status_code == 422
    assert "已答复客户" in response.context["commit_errors"]["committed_at"][0]
    assert "已答复客户，承诺时间不能再变更" in response.content.decode()  # shown under the field
    assert not Ticket.objects.get(pk=t.pk).events.filter(kind=EventKind.COMMIT_TIME).exists()

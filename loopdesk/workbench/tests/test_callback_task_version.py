"""The callback page compared the version its form showed with the work order read at the start of the request, then
recorded the callback without it: a change committed in between (another agent's note, the department's second
reply) was not seen and the verdict was recorded over it. The version now goes to the service and is compared under
the row lock; the workbench view passes it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from loopdesk.conftest import T0, World
from loopdesk.core.errors import ConflictError
from loopdesk.followup import services as f
from loopdesk.followup.models import CallbackTask
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def _answered(world: World) -> Ticket:
    return world.replied_ticket(answered=True)


def test_a_stale_version_is_a_conflict_and_nothing_is_recorded(world: World) -> None:
    t = _answered(world)
    task = CallbackTask.objects.get(ticket=t)
    with pytest.raises(ConflictError):
        f.do_record_callback(acting_user=world.user("agent"), task=task, verdict="satisfied",
                             expected_version=t.version - 1, now=T0 + 4 * H)
    stored = Ticket.objects.get(pk=t.pk)
    assert (stored.status, stored.version, stored.callback_verdict) == (Status.ANSWERED, t.version, "")
    assert CallbackTask.objects.get(pk=task.pk).status == "open"
    f.do_record_callback(acting_user=world.user("agent"), task=task, verdict="satisfied",
                         expected_version=t.version, now=T0 + 4 * H)
    assert Ticket.objects.get(pk=t.pk).status == Status.CALLED_BACK


def test_the_page_passes_the_version_it_showed(world: World, client_for: Any, monkeypatch: Any) -> None:
    t = _answered(world)
    task = CallbackTask.objects.get(ticket=t)
    seen: dict[str, Any] = {}
    original = f.do_record_callback

    def spy(**kwargs: Any) -> Ticket:
        seen.update(kwargs)
        return original(**kwargs)

    monkeypatch.setattr("loopdesk.workbench.views.followup.do_record_callback", spy)
    response = client_for("agent").post(f"/callbacks/{task.pk}/record/", {"verdict": "satisfied", "note": "",
                                                                    "version": t.version})
    assert response.status_code in (200, 302), response.content.decode()[:500]
    assert seen["expected_version"] == t.version
    assert Ticket.objects.get(pk=t.pk).status == Status.CALLED_BACK

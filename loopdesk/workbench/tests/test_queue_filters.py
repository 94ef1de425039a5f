"""Each queue filter narrows the list to the tickets that match it, alone (parametrised over every filter)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from loopdesk.conftest import World
from loopdesk.org.choices import UnitFunction, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets.choices import Channel, ContactType, Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.services import do_create_ticket

NOV_10 = dt.datetime(2026, 11, 10, 12, 0, tzinfo=SHANGHAI)


def _heshan(world: World) -> OrgUnit:
    return OrgUnit.objects.get_or_create(code="BRANCH_HS", defaults={
        "name": "鹤山分公司", "name_en": "Heshan", "parent": world.units["jm"], "level": UnitLevel.CENTRE,
        "function": UnitFunction.FRONT_LINE, "province": "GD", "region": "JM"})[0]


# filter name -> (query value, what makes the one matching ticket differ from the others: create kwargs, row update)
CASES: dict[str, tuple[Callable[[World], Any], dict[str, Any], Callable[[World], dict[str, Any]]]] = {
    "status": (lambda w: Status.IN_PROGRESS, {}, lambda w: {"status": Status.IN_PROGRESS}),
    "contact_type": (lambda w: ContactType.FAULT, {"contact_type": ContactType.FAULT}, lambda w: {}),
    "channel": (lambda w: Channel.HALL, {"channel": Channel.HALL}, lambda w: {}),
    "category": (lambda w: w.categories["calls"].pk, {"category": "calls"}, lambda w: {}),
    "branch": (lambda w: _heshan(w).pk, {}, lambda w: {"branch": _heshan(w)}),
    "tier": (lambda w: "vip", {}, lambda w: {"tier": "vip"}),
    "flag=overtime": (lambda w: "overtime", {}, lambda w: {"is_overtime": True}),
    "flag=problem": (lambda w: "problem", {}, lambda w: {"is_overtime": True, "is_problem": True}),
    "created_from": (lambda w: "2026-11-15", {}, lambda w: {"created_at": NOV_10 + dt.timedelta(days=10)}),
    "created_to": (lambda w: "2026-11-05", {}, lambda w: {"created_at": NOV_10 - dt.timedelta(days=9)}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_filter_narrows_the_queue_to_the_matching_ticket(world: World, client_for: Any, case: str) -> None:
    value, create, update = CASES[case]
    agent = world.user("agent")
    _heshan(world)

    def ticket(**kwargs: Any) -> Ticket:
        if "category" in kwargs:
            kwargs["category"] = world.categories[kwargs["category"]]
        t = do_create_ticket(acting_user=agent, dispatch=True, dispatch_to=world.units["netmaint"],
                             **world.ticket_kwargs(**kwargs))
        Ticket.objects.filter(pk=t.pk).update(created_at=NOV_10)
        return t

    others = [ticket(), ticket()]
    match = ticket(**create)
    Ticket.objects.filter(pk=match.pk).update(**update(world))
    client = client_for("agent")
    unfiltered = client.get("/queues/mine/")
    assert {t.number for t in unfiltered.context["rows"]} == {t.number for t in [*others, match]}
    name = case.split("=")[0]
    response = client.get("/queues/mine/", {name: value(world)})
    assert response.status_code == 200 and not response.context["form"].errors
    assert [t.number for t in response.context["rows"]] == [match.number]
    # The htmx refresh of the list (what the filter form sends) narrows the same way.
    partial = client.get("/queues/mine/", {name: value(world)},
                         headers={"HX-Request": "true", "HX-Target": "queue-results"})
    text = partial.content.decode()
    assert match.number in text and not any(t.number in text for t in others)

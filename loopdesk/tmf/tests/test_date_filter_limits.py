"""Date filters at the edge of the calendar: the last day (9999-12-31) as a whole day had no next day and an offset
that takes a date-time past year 9999 in UTC could not be compared; both were a 500 with an HTML page."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from loopdesk.conftest import World
from loopdesk.tmf.tests.conftest import BASE, client_for, issue_token
from loopdesk.tmf.tests.test_trouble_ticket_api import create

pytestmark = pytest.mark.django_db


def test_tmf_the_last_day_as_a_whole_day_bounds_everything(world: World, crm) -> None:
    pk = create(crm, world).json()["id"]
    for query, expected in (("creationDate.lte=9999-12-31", [pk]), ("creationDate.gt=9999-12-31", []),
                            ("statusChangeDate.lte=9999-12-31", [pk]), ("lastUpdate.gt=9999-12-31", [])):
        response = crm.get(f"{BASE}/troubleTicket?{query}&fields=id")
        assert response.status_code == 200, (query, response.content[:200])
        assert [t["id"] for t in response.json()] == expected, query


def test_our_api_a_date_time_beyond_year_9999_in_utc_is_a_400_naming_it(world: World) -> None:
    client = APIClient()
    client.force_login(world.users["agent"])
    for name, value in (("created_after", "9999-12-31T23:59:59-12:00"),
                        ("created_before", "0001-01-01T00:00:00%2B14:00")):
        response = client.get(f"/api/tickets/?{name}={value}", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, (name, response.content[:200])
        assert list(response.json()["errors"]) == [name]
    reader = client_for(issue_token(world.users["agent"], write=False))
    assert reader.get("/api/tickets/?created_after=9999-12-31T00:00:00%2B08:00").status_code == 200

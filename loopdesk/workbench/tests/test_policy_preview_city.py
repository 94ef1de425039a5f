"""The "where would this go" preview for a province / HQ supervisor: their unit has no city, so without a branch no
city rule matched and the preview said "region GD has no second-line support room". They choose the city (or the
customer's branch); a city user's own city stays the default."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World

QUERY = {"contact_type": "complaint", "tier": "regular", "channel": "hotline", "priority": "normal"}



def test_a_province_user_chooses_the_city(world: World, client_for: Any) -> None:
    world.users["supervisor"].unit = world.units["gd"]
    world.users["supervisor"].save(update_fields=["unit"])
    client = client_for("supervisor")
    query = {**QUERY, "category": world.categories["indoor"].pk}
    asked = client.get("/policies/preview/", query)
    assert asked.status_code == 422
    assert asked.context["form"].errors["city"]
    answered = client.get("/policies/preview/", {**query, "city": world.units["jm"].pk})
    assert answered.status_code == 200
    assert answered.context["result"].route.unit == world.units["netmaint"]
    by_branch = client.get("/policies/preview/", {**query, "branch": world.units["branch_xh"].pk})
    assert by_branch.status_code == 200 and by_branch.context["result"].route.unit == world.units["netmaint"]
    page = client.get("/policies/").content.decode()
    assert 'name="city"' in page


def test_a_city_user_needs_no_city(world: World, client_for: Any) -> None:
    response = client_for("supervisor").get("/policies/preview/", {**QUERY, "category": world.categories["indoor"].pk})
    assert response.status_code == 200
    assert response.context["result"].route.unit == world.units["netmaint"]


def test_a_branch_of_another_city_is_refused(world: World, client_for: Any) -> None:
    response = client_for("supervisor").get("/policies/preview/", {
        **QUERY, "category": world.categories["indoor"].pk, "city": world.units["zh"].pk,
        "branch": world.units["branch_xh"].pk})
    assert response.status_code == 422 and response.context["form"].errors["branch"]

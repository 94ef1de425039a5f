"""Numbers in query strings and forms are ASCII digits: str.isdigit() also takes "²" (int() refuses it, a 500)
and "١" / "１" (int() reads them as 1), which no user typed as a number."""

from __future__ import annotations

from typing import Any

import pytest

from loopdesk.conftest import World
from loopdesk.core.text import ascii_digits
from loopdesk.reports.tests.conftest import make_history


@pytest.mark.parametrize(("text", "expected"), [
    ("0", True), ("20261122", True), ("", False), ("²", False), ("١", False), ("１２", False), ("1.5", False),
    ("-1", False), (" 1", False),
])
def test_ascii_digits(text: str, expected: bool) -> None:
    assert ascii_digits(text) is expected


def test_pages_given_other_digits_answer_without_a_500(world: World, client_for: Any) -> None:
    make_history(world)
    supervisor = client_for("supervisor")
    home = supervisor.get("/?counts=²,1", headers={"HX-Request": "true", "HX-Target": "home-counts"})
    assert home.status_code == 200
    for query in ("20261122-²", "²"):
        found = supervisor.get("/find/", {"q": query})
        assert found.status_code in (200, 302, 404), query  # found, or "no such work order"
    for extra in ("branch=²", "after=²", "category=١", "department=99999999999999999999999"):
        page = supervisor.get(f"/reports/tickets/?month=2026-11&measure=volume&{extra}")
        assert page.status_code == 200, extra

"""The reports' tabs link only to pages the user may open."""

from __future__ import annotations

import pytest
from django.test import Client

from loopdesk.conftest import World


@pytest.mark.parametrize(("who", "may_import"), [("auditor", False), ("head", False), ("supervisor", True),
                                                 ("admin", True)])
def test_the_import_tab_is_offered_only_to_those_who_may_import(world: World, who: str, may_import: bool) -> None:
    client = Client()
    client.force_login(world.users[who])
    html = client.get("/reports/").content.decode()
    assert ('href="/reports/import/"' in html) is may_import
    assert client.get("/reports/import/").status_code == (200 if may_import else 403)

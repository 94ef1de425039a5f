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


@pytest.mark.parametrize(("who", "link"), [("agent", "/reports/import/"), ("clerk", "/reports/import/"),
                                           ("specialist", None), ("supervisor", "/reports/")])
def test_the_main_navigation_leads_to_the_import_page_for_those_who_may_import(
        world: World, who: str, link: str | None) -> None:
    """Agents and hall clerks may import legacy work orders but may not read the reports, so no menu led them to
    /reports/import/ (only the Reports menu's tab did, and they have none). Readers who may import keep the Reports
    menu (its Import tab); a specialist may do neither."""
    client = Client()
    client.force_login(world.users[who])
    html = client.get("/").content.decode()
    main = html.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    links = {href for href in ("/reports/import/", "/reports/") if f'href="{href}"' in main}
    assert links == ({link} if link else set())
    if link:
        page = client.get(link)
        assert page.status_code == 200
        assert 'href="/reports/import/"' in page.content.decode()
    else:
        assert client.get("/reports/import/").status_code == 403

"""The dashboard reads rollups, not work orders: for a region-wide supervisor the only query on tickets_ticket is
the stale probe (rollups_stale: the newest ticket's id), however many tickets there are."""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loopdesk.conftest import World
from loopdesk.reports import measures as m
from loopdesk.tickets.models import Ticket

TICKET_TABLE = re.compile(r'\btickets_ticket\b(?!_|event)', re.I)


def test_region_supervisor_dashboard_reads_no_tickets_but_the_stale_probe(world: World,
                                                                          full_history: list[Ticket]) -> None:
    supervisor = world.user("supervisor")
    scope = m.rollup_scope(supervisor)
    assert scope is not None and scope.children  # region-wide: rollups narrowed to the region, not "all"
    client = Client()
    client.force_login(world.users["supervisor"])
    for query in ("month=2026-11", "month=2026-11&channel=hotline", "start=2026-11-01&end=2026-11-15",
                  f"month=2026-11&department={world.units['netmaint'].pk}"):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/reports/?" + query)
        assert response.status_code == 200
        on_tickets = [q["sql"] for q in captured.captured_queries if TICKET_TABLE.search(q["sql"])]
        assert len(on_tickets) == 1, (query, on_tickets)
        probe = on_tickets[0]
        assert "ORDER BY" in probe and "LIMIT 1" in probe and "WHERE" not in probe, probe
        assert any("rpt_" in q["sql"] or "reports_" in q["sql"] for q in captured.captured_queries)

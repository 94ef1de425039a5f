"""An auditor (read-only) reads everything the supervisors read: the board, the policy pages with the "where would
it go" preview, the escalation list; and changes nothing there (no buttons, the actions stay refused)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.followup.models import Escalation
from loopdesk.tickets import services as s


def test_an_auditor_reads_the_board_policies_and_escalations(world: World, client_for: Any) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    f.sweep_sla(now=t.problem_at + dt.timedelta(minutes=1))
    escalation = Escalation.objects.get(ticket=t)
    client = client_for("auditor")
    home = client.get("/").content.decode()
    for link in ('href="/board/"', 'href="/policies/"', 'href="/escalations/"'):
        assert link in home, link
    board = client.get("/board/")
    assert board.status_code == 200
    page = board.content.decode()
    assert t.number in page and 'data-action="reassign"' not in page and 'data-action="escalate"' not in page
    policies = client.get("/policies/")
    assert policies.status_code == 200 and "link-sms-templates" not in policies.content.decode()
    preview = client.get("/policies/preview/", {"category": world.categories["indoor"].pk, "contact_type": "complaint",
                                                "tier": "regular", "channel": "hotline", "priority": "normal"})
    assert preview.status_code == 200
    escalations = client.get("/escalations/")
    assert escalations.status_code == 200
    assert t.number in escalations.content.decode() and 'data-action="resolve"' not in escalations.content.decode()
    # Read only: the supervisors' changes stay refused.
    assert client.post(f"/board/escalate/{t.pk}/", {"note": "x"}).status_code == 403
    assert client.post(f"/escalations/{escalation.pk}/resolve/", {"note": "x"}).status_code == 403
    assert client.get("/sms-templates/").status_code == 403
    escalation.refresh_from_db()
    assert escalation.resolved_at is None

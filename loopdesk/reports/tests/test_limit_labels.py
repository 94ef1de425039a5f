"""The overtime and problem figures count the SLA flags, which follow each ticket's policy (regulator appeals and
VIP customers have shorter limits): the columns do not promise "48–72 h" / "over 72 h"."""

from __future__ import annotations

import datetime as dt

from django.utils import translation

from loopdesk.conftest import T0, World
from loopdesk.reports import measures as m
from loopdesk.reports import rollups
from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets import services as s


def test_an_appeal_overtime_after_its_own_limit_is_counted_under_a_true_heading(world: World) -> None:
    SlaPolicy.objects.create(name="申诉", position=5, contact_type="appeal", calendar=world.calendars["24x7"],
                             overtime_minutes=24 * 60, problem_minutes=36 * 60)
    agent, spec = world.user("agent"), world.user("specialist")
    t = s.do_create_ticket(acting_user=agent, now=T0, dispatch=True, dispatch_to=world.units["netmaint"],
                           **world.ticket_kwargs(contact_type="appeal", channel="regulator"))
    t = s.do_accept_ticket(acting_user=spec, ticket=t, now=T0)
    t = s.do_reply_ticket(acting_user=spec, ticket=t, resolution="已处理", now=T0 + dt.timedelta(hours=30))
    assert t.is_overtime and not t.is_problem  # 30 h: past the appeal's 24 h, well inside "48–72 h"
    rollups.fold_pending()
    rows = m.table(world.user("supervisor"), m.Period.month(2026, 11), "contact_type")
    assert [r.values["overtime"] for r in rows if r.key == "appeal"] == [1]
    for language, wrong in (("en", ("48", "72")), ("zh-hans", ("48", "72"))):
        with translation.override(language):
            labels = [str(m.MEASURES[name][0]) for name in ("overtime", "problem")]
        assert not any(hours in label for label in labels for hours in wrong), labels

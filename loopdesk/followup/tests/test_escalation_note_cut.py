"""A dissatisfied customer's callback note (up to 2000 characters) or a low rating's comment (up to 500) becomes the
escalation's note, which holds 300: it was cut mid-sentence with nothing to say so, and the supervisors read the
customer's reason as if it ended there. A cut note now ends with "…" (the whole text stays with the callback on the
timeline, or the survey)."""

from __future__ import annotations

import datetime as dt

from loopdesk.conftest import T0, World
from loopdesk.followup import services as f
from loopdesk.followup.models import Escalation
from loopdesk.tickets import services as s

H = dt.timedelta(hours=1)


def test_a_long_reason_is_cut_with_an_ellipsis(world: World) -> None:
    t = s.do_create_ticket(acting_user=world.user("agent"), now=T0, dispatch=True,
                           dispatch_to=world.units["netmaint"], **world.ticket_kwargs())
    long_note = "客户仍然不满意，信号问题没有解决。" * 30  # 510 characters
    f.do_escalate_ticket(ticket=t, reason="dissatisfied", occasion="test:1", note=long_note, now=T0 + H)
    note = Escalation.objects.get().note
    assert len(note) == 300 and note.endswith("…") and long_note.startswith(note[:-1])
    f.do_escalate_ticket(ticket=t, reason="low_rating", occasion="test:2", note="太慢", now=T0 + 2 * H)
    assert Escalation.objects.get(occasion="test:2").note == "太慢"

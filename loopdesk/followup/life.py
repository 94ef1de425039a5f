"""A work order's whole life through the real services, for tests, the real-worker proof and the demo."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loopdesk.tickets import services as s
from loopdesk.tickets.models import Ticket

H = dt.timedelta(hours=1)


def whole_life(*, agent: Any, specialist: Any, customer: Any, category: Any, start: dt.datetime,
               unit: Any = None, with_info_request: bool = True) -> Ticket:
    """Register → dispatch → accept → (information requested and supplied) → reply → answer → callback → close."""
    t = s.do_create_ticket(acting_user=agent, customer=customer, contact_type="complaint", category=category,
                           channel="hotline", description="客户反映家中室内无信号。", dispatch=True,
                           dispatch_to=unit, now=start)
    t = s.do_accept_ticket(acting_user=specialist, ticket=t, now=start + H)
    if with_info_request:
        t = s.do_request_info(acting_user=specialist, ticket=t, question="请提供具体地址。", now=start + 2 * H)
        t = s.do_provide_info(acting_user=agent, ticket=t, info="江门市新会区会城街道。", now=start + 3 * H)
    t = s.do_reply_ticket(acting_user=specialist, ticket=t, resolution="已调整天线，信号恢复。", now=start + 4 * H)
    t = s.do_answer_customer(acting_user=agent, ticket=t, answer="已电话告知客户处理结果。", now=start + 5 * H)
    t = s.do_callback(acting_user=agent, ticket=t, verdict="satisfied", now=start + 6 * H)
    return s.do_close_ticket(acting_user=agent, ticket=t, now=start + 7 * H)


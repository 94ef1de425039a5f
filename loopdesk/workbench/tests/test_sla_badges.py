"""SLA badges: every state's colour class, label (both languages) and countdown, by priority, as each list draws it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from loopdesk.sla.models import SlaPolicy
from loopdesk.tickets.models import Ticket
from loopdesk.workbench.sla import DEFAULT_WARN_MINUTES, badge, due_badge
from loopdesk.workbench.templatetags.workbench import _badge_html

NOW = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _ticket(**kwargs: Any) -> Ticket:
    values: dict[str, Any] = {"is_open": True, "is_problem": False, "is_overtime": False, "sla_paused": False,
                              "due_at": NOW + 48 * HOUR}
    values.update(kwargs)
    return Ticket(**values)


# (ticket fields, state, English label, zh-Hans label, counts down)
CASES = [
    ({}, "normal", "On time", "正常", True),
    ({"due_at": NOW + HOUR}, "at_risk", "At risk", "即将超时", True),
    ({"due_at": NOW - HOUR}, "overdue", "Overdue", "已逾期", True),
    ({"is_overtime": True, "due_at": NOW - 30 * HOUR}, "overtime", "Overtime", "超时", True),
    ({"is_problem": True, "is_overtime": True, "due_at": NOW - 80 * HOUR}, "problem", "Problem ticket", "问题工单",
     True),
    ({"sla_paused": True, "due_at": NOW - HOUR}, "paused", "Clock paused", "暂停计时", False),
    ({"is_open": False, "is_problem": True, "due_at": NOW - HOUR}, "done", "Finished", "已完成", False),
]


@pytest.mark.parametrize(("fields", "state", "label_en", "label_zh", "countdown"), CASES,
                         ids=[c[1] for c in CASES])
def test_badge_state_colour_label_and_countdown(fields: dict[str, Any], state: str, label_en: str, label_zh: str,
                                                countdown: bool) -> None:
    ticket = _ticket(**fields)
    with translation.override("en"):
        b = badge(ticket, NOW)
        html = _badge_html(ticket, NOW)
        included = render_to_string("workbench/partials/sla_badge.html", {"badge": b})
    assert (b.state, b.label) == (state, label_en)
    assert b.due == (ticket.due_at if countdown else None)
    for markup in (html, included):
        assert f'class="badge sla-{state}"' in markup and label_en in markup
        assert ('class="countdown"' in markup) == countdown
        if countdown:
            assert f'datetime="{ticket.due_at.isoformat()}"' in markup
    with translation.override("zh-hans"):
        assert badge(ticket, NOW).label == label_zh


def test_every_badge_state_has_a_colour_in_the_stylesheet() -> None:
    css = (Path(settings.BASE_DIR) / "loopdesk" / "static" / "loopdesk" / "app.css").read_text()
    for state in {c[1] for c in CASES}:
        rule = re.search(rf"\.sla-{state} \{{([^}}]*)\}}", css)
        assert rule and "background" in rule.group(1) and "color" in rule.group(1), state


def test_paused_problem_and_overtime_keep_their_colour_without_a_countdown() -> None:
    for fields, state in [({"is_problem": True}, "problem"), ({"is_overtime": True}, "overtime")]:
        b = badge(_ticket(sla_paused=True, **fields), NOW)
        assert (b.state, b.due) == (state, None)


def test_at_risk_follows_the_policys_warning_time_when_loaded_with_the_ticket() -> None:
    ticket = _ticket(due_at=NOW + 3 * HOUR)
    assert badge(ticket, NOW).state == "at_risk"  # default warning: 4 h
    assert DEFAULT_WARN_MINUTES == 240
    ticket.sla_policy = SlaPolicy(name="short warning", warn_before_minutes=60)
    assert badge(ticket, NOW).state == "normal"
    ticket.due_at = NOW + 30 * dt.timedelta(minutes=1)
    assert badge(ticket, NOW).state == "at_risk"


def test_a_plain_deadline_badge() -> None:
    assert due_badge(NOW - HOUR, NOW).state == "overdue"
    assert due_badge(NOW + HOUR, NOW).state == "at_risk"
    assert due_badge(NOW + 5 * HOUR, NOW).state == "normal"

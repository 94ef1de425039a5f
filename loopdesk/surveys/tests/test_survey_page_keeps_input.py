"""The survey page's comment box allows 500 characters as the browser counts them (a line break is one), but the
form posts each line break as CR LF (two): a customer's multi-line comment near the limit was refused as too long,
and the refused page came back with the comment and the chosen score gone. Line breaks now count once, as the
browser counts them, and a refused form keeps what the customer typed and chose."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from loopdesk.conftest import T0, World
from loopdesk.followup.life import whole_life
from loopdesk.notify.models import CustomerMessage
from loopdesk.surveys.models import Survey


def _url(world: World) -> tuple[str, Survey]:
    t = whole_life(agent=world.user("agent"), specialist=world.user("specialist"), customer=world.customer(),
                   category=world.categories["indoor"], start=T0, unit=world.units["netmaint"],
                   with_info_request=False)
    survey = Survey.objects.get(ticket=t)
    survey.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    survey.save()
    token = CustomerMessage.objects.get(ticket_id=t.pk, kind="survey").text.split("/s/")[1].split("/")[0]
    return reverse("surveys:survey", args=[token]), survey


def test_a_multi_line_comment_within_the_box_limit_is_taken(world: World, client) -> None:
    url, survey = _url(world)
    comment = "\r\n".join(["信号时好时坏"] * 70)  # 6 × 70 + 69 line breaks = 489 as the browser counts it
    response = client.post(url, {"score": "3", "comment": comment})
    assert response.status_code == 200, response.content.decode()
    survey.refresh_from_db()
    assert survey.score == 3 and survey.comment == comment.replace("\r\n", "\n")


def test_a_refused_form_keeps_the_comment_and_the_score(world: World, client) -> None:
    url, survey = _url(world)
    comment = "太慢了" * 200  # 600 characters: too long
    response = client.post(url, {"score": "2", "comment": comment})
    assert response.status_code == 400
    page = response.content.decode()
    assert f">{comment}</textarea>" in page
    assert 'value="2" required checked' in page and page.count("checked") == 1
    survey.refresh_from_db()
    assert survey.status == "open" and survey.score is None

"""Sign-in, session expiry, language per user, friendly error pages and the home page per role."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from loopdesk.org.models import User
from loopdesk.tickets.services import do_create_ticket


def test_sign_in_page_answers_and_sign_in_returns_to_the_page(world: Any) -> None:
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.get("/queues/mine/?status=new")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    response = client.post("/accounts/login/", {"username": "agent", "password": "pw-agent",
                                                "next": "/queues/mine/?status=new"})
    assert response.status_code == 302
    assert response["Location"] == "/queues/mine/?status=new"


def test_wrong_password_shows_an_error_and_keeps_the_user_name(world: Any) -> None:
    response = Client().post("/accounts/login/", {"username": "agent", "password": "nope"})
    assert response.status_code == 200
    assert 'value="agent"' in response.content.decode()
    assert response.context["form"].non_field_errors()


def test_expired_session_on_an_htmx_request_sends_the_page_to_sign_in(world: Any) -> None:
    response = Client().get("/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tickets/5/"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/tickets/5/"


def test_home_requires_sign_in(world: Any) -> None:
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"


def test_language_follows_the_user_setting(world: Any, client_for: Any) -> None:
    response = client_for("agent", language="en").get("/")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()
    response = client_for("agent", language="zh-hans").get("/")
    assert response["Content-Language"] == "zh-hans"


def test_switching_language_is_remembered_on_the_user(world: Any, client_for: Any) -> None:
    client = client_for("agent", language="zh-hans")
    response = client.post("/me/language/", {"language": "en", "next": "/queues/mine/"})
    assert response.status_code == 302 and response["Location"] == "/queues/mine/"
    assert User.objects.get(username="agent").language == "en"
    assert client.get("/")["Content-Language"] == "en"


def test_switching_to_an_unknown_language_changes_nothing(world: Any, client_for: Any) -> None:
    client = client_for("agent", language="zh-hans")
    response = client.post("/me/language/", {"language": "xx", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert User.objects.get(username="agent").language == "zh-hans"


def test_unknown_page_is_a_friendly_404(world: Any, client_for: Any) -> None:
    response = client_for("agent").get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find this page" in response.content.decode()


def test_server_error_page_is_friendly_and_translated() -> None:
    with translation.override("en"):
        html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
    assert 'lang="en"' in html


def test_home_shows_each_role_what_needs_them(world: Any, client_for: Any) -> None:
    agent = world.user("agent")
    do_create_ticket(acting_user=agent, **world.ticket_kwargs(), dispatch=True)
    page = client_for("specialist").get("/").content.decode()
    assert "Waiting for your unit to accept" in page
    assert page.count("JM-") >= 1
    page = client_for("agent").get("/").content.decode()
    assert "Replies to answer to the customer" in page
    page = client_for("supervisor").get("/").content.decode()
    assert "Problem tickets (past their problem limit)" in page


def test_home_query_count_does_not_grow_with_tickets(world: Any, client_for: Any) -> None:
    agent = world.user("agent")
    client = client_for("specialist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    do_create_ticket(acting_user=agent, **world.ticket_kwargs(), dispatch=True)
    few = queries()
    for _ in range(6):
        do_create_ticket(acting_user=agent, **world.ticket_kwargs(), dispatch=True)
    assert queries() == few


def test_plain_post_after_the_session_expired_returns_to_the_form_page_after_sign_in(world: Any) -> None:
    ticket = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    page = f"/tickets/{ticket.pk}/"
    client = Client()  # the session expired: not signed in any more
    response = client.post(f"{page}note/", {"text": "客户来电催办"}, headers={"Referer": f"http://testserver{page}"})
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={page}"
    login = client.get(response["Location"])
    assert f'value="{page}"' in login.content.decode()
    response = client.post("/accounts/login/", {"username": "agent", "password": "pw-agent", "next": page})
    assert response.status_code == 302 and response["Location"] == page
    response = client.get(page)
    assert response.status_code == 200 and ticket.number in response.content.decode()
    assert not ticket.events.filter(kind="note").exists()  # nothing was posted while signed out


def test_plain_post_after_expiry_without_a_referer_returns_to_the_ticket_or_home(world: Any) -> None:
    client = Client()
    response = client.post("/tickets/7/link/", {"other": "JM-1"})
    assert response["Location"] == "/accounts/login/?next=/tickets/7/"
    # A foreign Referer is ignored; the bulk form has no ticket page: home.
    response = client.post("/queues/bulk-dispatch/", {"ids": [1]}, headers={"Referer": "https://evil.example/x/"})
    assert response["Location"] == "/accounts/login/?next=/"
    response = client.post("/queues/bulk-dispatch/", {"ids": [1]},
                           headers={"Referer": "http://testserver/queues/dispatch/?status=registered"})
    assert response["Location"] == "/accounts/login/?next=/queues/dispatch/%3Fstatus%3Dregistered"


def test_a_post_without_csrf_token_is_a_friendly_403_in_the_users_language_and_stores_nothing(world: Any) -> None:
    ticket = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    user = User.objects.get(username="agent")
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 200  # sets the CSRF cookie; the form is not sent
    response = client.post(f"/tickets/{ticket.pk}/note/", {"text": "没有令牌的备注"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "无法安全提交此表单" in html and 'lang="zh-hans"' in html
    assert "CSRF verification failed" not in html
    assert not ticket.events.filter(kind="note").exists()
    token = client.cookies["csrftoken"].value
    response = client.post(f"/tickets/{ticket.pk}/note/", {"text": "带令牌的备注", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and ticket.events.filter(kind="note").count() == 1

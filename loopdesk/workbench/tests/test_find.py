"""The header's search box: a full number, the tail of today's number, or a phone number."""

from __future__ import annotations

from typing import Any

from loopdesk.tickets.services import do_create_ticket


def _ticket(world: Any) -> Any:
    return do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs(), dispatch=True)


def test_a_full_number_opens_the_ticket_and_an_unseen_one_is_not_found(world: Any, client_for: Any) -> None:
    t = _ticket(world)
    assert client_for("specialist").get("/find/", {"q": t.number.lower()})["Location"] == f"/tickets/{t.pk}/"
    assert client_for("zh_agent").get("/find/", {"q": t.number}).status_code == 404


def test_the_tail_of_todays_number_opens_the_ticket(world: Any, client_for: Any) -> None:
    t = _ticket(world)
    tail = t.number.rsplit("-", 1)[1]
    for q in (tail, tail.lstrip("0"), t.number.split("-", 1)[1]):
        response = client_for("agent").get("/find/", {"q": q})
        assert response.status_code == 302 and response["Location"] == f"/tickets/{t.pk}/", q


def test_a_phone_number_opens_the_desk_for_the_front_line(world: Any, client_for: Any) -> None:
    t = _ticket(world)
    response = client_for("agent").get("/find/", {"q": t.customer.msisdn})
    assert response.status_code == 302 and response["Location"].startswith("/desk/?caller=")


def test_a_phone_number_lists_the_visible_tickets_for_roles_that_do_not_register(world: Any,
                                                                                 client_for: Any) -> None:
    t = _ticket(world)
    response = client_for("specialist", "zh-hans").get("/find/", {"q": t.customer.msisdn})
    assert response.status_code == 200
    page = response.content.decode()
    assert t.number in page and t.customer.masked_msisdn in page  # the table shows the number masked
    other = client_for("it_specialist").get("/find/", {"q": t.customer.msisdn})
    assert other.status_code == 404 and t.number not in other.content.decode()


def test_a_phone_number_typed_with_spaces_dashes_a_country_code_or_full_width_digits_is_a_phone_number(
        world: Any, client_for: Any) -> None:
    """As the desk takes it (normalize_msisdn): "138 0013 8000" or a Chinese IME's "１３８…" was looked up as a
    work-order number and not found."""
    t = _ticket(world)
    msisdn = t.customer.msisdn
    full_width = msisdn.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for q in (f"{msisdn[:3]} {msisdn[3:7]} {msisdn[7:]}", f"{msisdn[:3]}-{msisdn[3:7]}-{msisdn[7:]}",
              f"+86 {msisdn}", full_width):
        response = client_for("agent").get("/find/", {"q": q})
        assert response.status_code == 302 and response["Location"] == f"/desk/?caller={msisdn}", q
        listed = client_for("specialist").get("/find/", {"q": q})
        assert listed.status_code == 200 and [r.number for r in listed.context["rows"]] == [t.number], q


def test_full_width_digits_of_a_work_order_number_find_it(world: Any, client_for: Any) -> None:
    t = _ticket(world)
    typed = t.number.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    response = client_for("agent").get("/find/", {"q": typed})
    assert response.status_code == 302 and response["Location"] == f"/tickets/{t.pk}/"


def test_a_short_number_is_searched_in_every_city_a_province_or_hq_user_oversees(world: Any, client_for: Any) -> None:
    """Above a city the unit's code (GD, HQ) was put before the short number: "1" meant GD-<today>-000001, on no
    work order, for the province's and HQ's supervisors. Now every city's they oversee; several are listed, and
    the link form asks for the full number."""
    from loopdesk.conftest import _staff
    from loopdesk.org.choices import Role

    _staff(world, "gd_sup", "gd", Role.SUPERVISOR)
    _staff(world, "hq_sup", "hq", Role.SUPERVISOR)
    jm1 = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    zh1 = do_create_ticket(acting_user=world.user("zh_agent"), **world.ticket_kwargs(
        customer=world.customer(region="ZH")))
    jm2 = do_create_ticket(acting_user=world.user("agent"), **world.ticket_kwargs())
    assert jm1.number.endswith("-000001") and zh1.number.endswith("-000001") and jm2.number.endswith("-000002")
    for key in ("gd_sup", "hq_sup"):
        client = client_for(key)
        response = client.get("/find/", {"q": "2"})
        assert response.status_code == 302 and response["Location"] == f"/tickets/{jm2.pk}/", key
        listed = client.get("/find/", {"q": "1"})
        assert listed.status_code == 200 and [r.number for r in listed.context["rows"]] == sorted(
            [jm1.number, zh1.number]), key
        assert client.get("/find/", {"q": zh1.number.split("-", 1)[1]}).status_code == 200  # day-sequence: both
        linked = client.post(f"/tickets/{jm2.pk}/link/", {"kind": "related", "other": "1"})
        assert linked.status_code == 422 and zh1.number in linked.content.decode(), key
    assert client_for("agent").get("/find/", {"q": "1"})["Location"] == f"/tickets/{jm1.pk}/"  # a city: its own
    assert client_for("gd_sup").post(f"/tickets/{jm2.pk}/link/", {"kind": "related", "other": zh1.number}
                                     ).status_code == 302

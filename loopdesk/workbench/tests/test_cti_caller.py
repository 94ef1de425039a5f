"""The screen-pop takes the caller as CTI systems send it: "8613800138000" (country code without "+"), and
"/desk/?caller=+8613800138000" whose unencoded "+" arrives as a space. Both were "not a valid mobile number", so the
agent had to retype the number while the customer waited."""

from __future__ import annotations

from typing import Any

from loopdesk.conftest import World
from loopdesk.core.text import normalize_msisdn


def test_a_caller_with_the_country_code_opens_the_customer(world: World, client_for: Any) -> None:
    customer = world.customer()
    client = client_for("agent")
    for url in (f"/desk/?caller=86{customer.msisdn}", f"/desk/?caller=+86{customer.msisdn}"):
        response = client.get(url)
        assert response.status_code == 200 and not response.context["caller_error"], url
        assert response.context["caller"] == customer.msisdn
        assert response.context["view"].customer == customer


def test_only_a_full_number_after_86_is_read_so() -> None:
    assert normalize_msisdn("8613800138000") == "13800138000"
    assert normalize_msisdn("861380013800") == "861380013800"  # 12 digits: left as typed (invalid)
    assert normalize_msisdn("86２３８００１３８０００") == "8623800138000"  # not a mobile number after 86

"""The language switchers name each language in that language: a user who landed on the wrong one finds theirs."""

from __future__ import annotations

import re

from django.test import Client

from loopdesk.conftest import World


def test_each_language_is_named_in_itself_whatever_the_page_language(world: World) -> None:
    for language in ("en", "zh-hans"):
        world.users["agent"].language = language
        world.users["agent"].save(update_fields=["language"])
        client = Client()
        client.cookies["django_language"] = language
        login = client.get("/accounts/login/").content.decode()
        assert re.search(r'value="zh-hans"[^>]*>简体中文</button>', login), language
        assert re.search(r'value="en"[^>]*>English</button>', login), language
        client.force_login(world.users["agent"])
        home = client.get("/").content.decode()
        assert re.search(r'<option value="zh-hans"[^>]*>简体中文</option>', home), language
        assert re.search(r'<option value="en"[^>]*>English</option>', home), language

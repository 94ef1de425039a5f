"""Fixtures of the workbench tests: signed-in clients for the roles of the shared `world`."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from loopdesk.conftest import World


@pytest.fixture
def client_for(world: World) -> Any:
    def make(key: str, language: str = "en") -> Client:
        user = world.users[key]
        if user.language != language:
            user.language = language
            user.save(update_fields=["language"])
        client = Client()
        client.force_login(user)
        return client

    return make

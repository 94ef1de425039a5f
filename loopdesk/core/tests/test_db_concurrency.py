"""`insert_unless_exists` from several connections at once (PostgreSQL): one row per key, every caller answered."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from loopdesk.conftest import World
from loopdesk.core.db import insert_unless_exists
from loopdesk.followup.models import StaffAlert
from loopdesk.tickets.tests.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_inserts_of_one_key_store_one_row_and_the_others_are_told(world: World) -> None:
    user = world.user("agent")

    def insert(i: int) -> bool:
        with transaction.atomic():
            inserted = insert_unless_exists(StaffAlert(user=user, kind="escalated", occasion="esc:race",
                                                       message=f"第{i}个", created_at=timezone.now()),
                                            ["user", "occasion"])
            # The transaction goes on after a skipped duplicate (no savepoint was needed to survive it).
            StaffAlert.objects.create(user=user, kind="escalated", occasion=f"own:{i}", message="自己的",
                                      created_at=timezone.now())
        return inserted

    results = race(*[(lambda i=i: insert(i)) for i in range(6)])
    assert sorted(results, key=str) == [False] * 5 + [True], results
    assert StaffAlert.objects.filter(occasion="esc:race").count() == 1
    assert StaffAlert.objects.filter(occasion__startswith="own:").count() == 6


def test_a_rolled_back_insert_leaves_the_key_free_for_the_waiting_one(world: World) -> None:
    import threading
    import time

    user = world.user("agent")
    first_inserted, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                outcome["first"] = insert_unless_exists(StaffAlert(
                    user=user, kind="escalated", occasion="esc:rb", message="先", created_at=timezone.now()),
                    ["user", "occasion"])
                first_inserted.set()
                release.wait(10)
                transaction.set_rollback(True)  # the first caller's transaction fails after all
        finally:
            connection.close()

    def second() -> None:
        try:
            first_inserted.wait(10)
            with transaction.atomic():
                outcome["second"] = insert_unless_exists(StaffAlert(
                    user=user, kind="escalated", occasion="esc:rb", message="后", created_at=timezone.now()),
                    ["user", "occasion"])
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_inserted.wait(10)
    time.sleep(0.5)  # time for the second to reach its INSERT and wait on the first's uncommitted row
    release.set()
    for t in threads:
        t.join(20)
    assert outcome == {"first": True, "second": True}
    assert list(StaffAlert.objects.filter(occasion="esc:rb").values_list("message", flat=True)) == ["后"]

"""Foreign keys checked a batch at a time for bulk loads (`references_checked_by_batch`, `lock_references`)."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from loopdesk.conftest import World
from loopdesk.core.db import lock_references, references_checked_by_batch
from loopdesk.customers.models import Customer
from loopdesk.tickets.models import Category, Ticket


def _role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_only_postgresql_with_the_setting_on_turns_the_row_checks_off(settings) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic(), references_checked_by_batch() as by_batch:
        assert by_batch is (connection.vendor == "postgresql")
        if by_batch:
            assert _role() == "replica"
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with references_checked_by_batch():
                pass
            assert _role() == "origin"  # set back when the block ends, inside the same transaction
    settings.LOOPDESK_BULK_REFERENCE_CHECKS = False
    with transaction.atomic(), references_checked_by_batch() as by_batch:
        assert by_batch is False


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses_rather_than_lasting_one_statement() -> None:
    with pytest.raises(RuntimeError), references_checked_by_batch():
        pass


@pytest.mark.django_db
def test_a_missing_row_is_named_and_own_rows_are_not_looked_up(world: World) -> None:
    agent = world.user("agent")
    category = Category.objects.filter(children__isnull=True).first()
    assert category is not None
    columns = ["id", "category_id", "first_responder_id", "handler_user_id"]
    rows = [["1", str(category.pk), str(agent.pk), "\\N"], ["2", str(category.pk), str(agent.pk), None]]
    lock_references(Ticket, columns, rows)  # every referred row exists: nothing raised
    missing = Category.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    bad = [*rows, ["3", str(missing), str(agent.pk), None], ["4", str(missing + 1), str(agent.pk), None]]
    with pytest.raises(IntegrityError) as raised:
        lock_references(Ticket, columns, bad)
    message = str(raised.value)
    assert f"(category_id)=({missing})" in message and "and 1 more" in message, message
    # Rows this transaction created itself are not looked up: none of these ids exist, yet nothing is raised.
    lock_references(Ticket, columns, bad, own={Category: {missing, missing + 1}})


@pytest.mark.django_db
def test_rows_locked_by_an_earlier_batch_are_not_looked_up_again(world: World) -> None:
    agent, other = world.user("agent"), world.user("specialist")
    category = Category.objects.filter(children__isnull=True).first()
    assert category is not None
    columns = ["id", "category_id", "first_responder_id"]
    locked: dict = {}
    with CaptureQueriesContext(connection) as first:
        lock_references(Ticket, columns, [["1", str(category.pk), str(agent.pk)]], locked=locked)
    assert len(first.captured_queries) == 2  # one look-up per foreign key
    assert locked[Category] == {category.pk} and agent.pk in locked[type(agent)]
    with CaptureQueriesContext(connection) as again:  # the next batch: the same rows, and one user not seen yet
        lock_references(Ticket, columns, [["2", str(category.pk), str(agent.pk)],
                                          ["3", str(category.pk), str(other.pk)]], locked=locked)
    assert len(again.captured_queries) == 1, again.captured_queries  # only the user not seen yet
    assert type(agent)._meta.db_table in again.captured_queries[0]["sql"], again.captured_queries
    assert other.pk in locked[type(agent)]
    # A row not there is still refused, and is not remembered as found.
    missing = Category.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    with pytest.raises(IntegrityError):
        lock_references(Ticket, columns, [["4", str(missing), str(agent.pk)]], locked=locked)
    assert missing not in locked[Category]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_referred_rows_are_locked_against_deletion_until_commit(world: World) -> None:
    """As the foreign-key trigger does: another transaction cannot delete a referred customer meanwhile."""
    customer = Customer.objects.create(msisdn="13900000077", name="王五")
    locked, done = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def other() -> None:
        try:
            locked.wait(10)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
                cursor.execute("DELETE FROM customers_customer WHERE id = %s", [customer.pk])
            outcome["deleted"] = True
        except OperationalError as exc:
            outcome["error"] = exc
        finally:
            done.set()
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    with transaction.atomic():
        lock_references(Ticket, ["id", "customer_id"], [["1", str(customer.pk)]])
        locked.set()
        done.wait(10)
    thread.join(10)
    assert "deleted" not in outcome and "lock timeout" in str(outcome.get("error")), outcome
    assert Customer.objects.filter(pk=customer.pk).exists()

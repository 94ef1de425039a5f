"""The per-process copy of reference data: reused while nothing changed, never stale after a change."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from loopdesk.conftest import T0, World
from loopdesk.sla import refcache
from loopdesk.sla.models import ReferenceVersion, SlaPolicy
from loopdesk.sla.services import committed_time
from loopdesk.tickets import services as s
from loopdesk.tickets.models import Category

REFERENCE_TABLES = ("tickets_category", "sla_slapolicy", "sla_businesscalendar", "routing_routingrule",
                    "org_orgunit", "followup_followuppolicy", "notify_messagetemplate", "tmf_eventsubscription")


@pytest.fixture(autouse=True)
def token_row(db) -> None:
    # A transactional test elsewhere may have flushed the row away (then nothing is cached at all).
    ReferenceVersion.objects.update_or_create(pk=1, defaults={"token": uuid.uuid4().hex})
    refcache.install_triggers()


def _token() -> str | None:
    return ReferenceVersion.objects.values_list("token", flat=True).first()


def test_every_change_of_a_reference_table_renews_the_token(world: World) -> None:
    before = _token()
    Category.objects.filter(pk=world.categories["indoor"].pk).update(name="室内覆盖")  # bulk: no signals
    after_update = _token()
    with connection.cursor() as cursor:  # raw SQL, as another process or a script would
        cursor.execute("UPDATE sla_slapolicy SET name = name")
    assert len({before, after_update, _token()}) == 3


def test_a_rolled_back_change_leaves_no_stale_copy(world: World) -> None:
    refcache.clear()
    assert refcache.sla_policies()[1][world.policies["default"].pk].resolution_minutes == \
        world.policies["default"].resolution_minutes
    with pytest.raises(RuntimeError), transaction.atomic():
        SlaPolicy.objects.filter(pk=world.policies["default"].pk).update(resolution_minutes=1)
        assert refcache.sla_policies()[1][world.policies["default"].pk].resolution_minutes == 1
        raise RuntimeError("roll back")
    assert refcache.sla_policies()[1][world.policies["default"].pk].resolution_minutes == \
        world.policies["default"].resolution_minutes


def test_a_supervisors_edit_takes_effect_on_the_next_action(world: World) -> None:
    agent = world.user("agent")
    first = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())  # warms the copy
    SlaPolicy.objects.filter(pk=first.sla_policy_id).update(resolution_minutes=first.sla_policy.resolution_minutes * 2)
    second = s.do_create_ticket(acting_user=agent, now=T0, **world.ticket_kwargs())
    edited = SlaPolicy.objects.select_related("calendar").get(pk=first.sla_policy_id)
    assert second.sla_policy_id == first.sla_policy_id
    assert second.committed_at == committed_time(edited, T0) != first.committed_at
    world.categories["indoor"].refresh_from_db()
    Category.objects.filter(pk=world.categories["indoor"].pk).update(name="室内覆盖（新）")
    assert refcache.categories()[world.categories["indoor"].pk].name == "室内覆盖（新）"


def test_warm_actions_read_no_reference_table_and_lock_in_one_query(world: World) -> None:
    agent, specialist = world.user("agent"), world.user("specialist")
    warm = s.do_create_ticket(acting_user=agent, now=T0, dispatch=True, dispatch_to=world.units["netmaint"],
                              **world.ticket_kwargs())
    s.do_accept_ticket(acting_user=specialist, ticket=warm, now=T0)
    with CaptureQueriesContext(connection) as create:
        t = s.do_create_ticket(acting_user=agent, now=T0, dispatch=True, dispatch_to=world.units["netmaint"],
                               **world.ticket_kwargs())
    with CaptureQueriesContext(connection) as accept:
        s.do_accept_ticket(acting_user=specialist, ticket=t, now=T0)
    statements = [q["sql"] for q in (*create.captured_queries, *accept.captured_queries)]
    for table in REFERENCE_TABLES:
        assert not [sql for sql in statements if f'FROM "{table}"' in sql], table
    ticket_reads = [sql for sql in accept.captured_queries if 'FROM "tickets_ticket"' in sql["sql"]]
    assert len(ticket_reads) == 1  # lock, read with its relations and the reference token: one statement
    assert "sla_referenceversion" in ticket_reads[0]["sql"]

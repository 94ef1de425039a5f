"""Per-process copies of the reference data every ticket action reads, valid while nothing changed.

Categories, SLA policies with their calendars, routing rules, org units, the follow-up policy, SMS templates and
whether any TMF event subscription is active are read on nearly every ticket action. They change a few times a
month, by supervisors. Each process keeps one copy of them, tagged with the token of the `ReferenceVersion` row;
database triggers on the reference tables give that row a new random token in the same statement that changes
them (so admin edits, bulk updates, raw SQL and other processes all count). Reading the token is one
indexed single-row query, and a service reads it once per action (`pinned()`), or for free inside the query
that locks the ticket (`token_subquery()`): a supervisor's edit takes effect on the next action everywhere.

A random token (not a counter) means a rolled-back change never makes an old copy look current. Without the
row (e.g. after a test flush) nothing is cached: every read goes to the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.apps import apps
from django.db import connection
from django.db.models import Subquery

T = TypeVar("T")

# Tables whose changes give the reference data a new token (app label, model name).
WATCHED_MODELS = (
    ("tickets", "Category"),
    ("sla", "SlaPolicy"),
    ("sla", "BusinessCalendar"),
    ("sla", "CalendarDay"),
    ("routing", "RoutingRule"),
    ("org", "OrgUnit"),
    ("followup", "FollowupPolicy"),
    ("notify", "MessageTemplate"),
    ("tmf", "EventSubscription"),
)
TOKEN_TABLE = "sla_referenceversion"  # noqa: S105 - a table name

_UNSET: Any = object()
_PENDING: Any = object()
CURRENT: Any = object()  # "the token as of now" (the default of the accessors below)
_local = threading.local()
_lock = threading.Lock()
_copy: dict[str, Any] = {"token": None, "values": {}}


def _read_token() -> str | None:
    from loopdesk.sla.models import ReferenceVersion

    return ReferenceVersion.objects.filter(pk=1).values_list("token", flat=True).first()


def token_subquery() -> Subquery:
    """The current token as a subquery, to annotate onto a query the service runs anyway."""
    from loopdesk.sla.models import ReferenceVersion

    return Subquery(ReferenceVersion.objects.filter(pk=1).values("token")[:1])


def current_token() -> str | None:
    pinned_token = getattr(_local, "token", _UNSET)
    if pinned_token is _UNSET:
        return _read_token()
    if pinned_token is _PENDING:
        _local.token = pinned_token = _read_token()
    return pinned_token  # type: ignore[no-any-return]


@contextmanager
def pinned() -> Iterator[None]:
    """Within the block (one service call), read the token at most once; nested blocks share the outer one."""
    if hasattr(_local, "token"):
        yield
        return
    _local.token = _PENDING
    try:
        yield
    finally:
        del _local.token


def note_token(token: str | None) -> None:
    """A token read by the caller's own query (see `token_subquery`): saves the separate read in a pinned block."""
    if getattr(_local, "token", _UNSET) is _PENDING:
        _local.token = token


def cached(name: str, loader: Callable[[], T], token: Any = CURRENT) -> T:
    """`loader()`'s result, reused for as long as the reference data keeps the same token.

    `token`: one the caller has just read itself (e.g. with `token_subquery`), instead of the current one.
    """
    if token is CURRENT:
        token = current_token()
    if token is None:
        return loader()
    with _lock:
        if _copy["token"] != token:
            _copy["token"], _copy["values"] = token, {}
        values = _copy["values"]
        if name in values:
            return values[name]  # type: ignore[no-any-return]
    value = loader()
    with _lock:
        if _copy["token"] == token:
            _copy["values"][name] = value
    return value


def clear() -> None:
    with _lock:
        _copy["token"], _copy["values"] = None, {}


# --- the reference data ----------------------------------------------------------------------------


def categories() -> dict[int, Any]:
    """Every category by id."""
    Category = apps.get_model("tickets", "Category")
    return cached("categories", lambda: Category.objects.in_bulk())


def sla_policies(token: Any = CURRENT) -> tuple[list[Any], dict[int, Any]]:
    """(active policies in the order they are tried, every policy by id), with their calendars."""
    SlaPolicy = apps.get_model("sla", "SlaPolicy")

    def load() -> tuple[list[Any], dict[int, Any]]:
        every = list(SlaPolicy.objects.select_related("calendar").order_by("position", "id"))
        return [p for p in every if p.is_active], {p.pk: p for p in every}

    return cached("sla_policies", load, token)


def units(token: Any = CURRENT) -> dict[int, Any]:
    """Every org unit by id."""
    OrgUnit = apps.get_model("org", "OrgUnit")
    return cached("units", lambda: OrgUnit.objects.in_bulk(), token)


def routing_rules() -> list[Any]:
    """Active routing rules whose target unit is active, in the order they are tried."""
    RoutingRule = apps.get_model("routing", "RoutingRule")
    return cached("routing_rules", lambda: list(
        RoutingRule.objects.filter(is_active=True, target_unit__is_active=True).select_related("target_unit")
        .order_by("position", "id")))


def followup_policy() -> Any:
    FollowupPolicy = apps.get_model("followup", "FollowupPolicy")
    return cached("followup_policy", FollowupPolicy.current)


def message_templates() -> dict[str, Any]:
    MessageTemplate = apps.get_model("notify", "MessageTemplate")
    return cached("message_templates", lambda: {t.kind: t for t in MessageTemplate.objects.all()})


def any_active_subscription() -> bool:
    EventSubscription = apps.get_model("tmf", "EventSubscription")
    return cached("tmf_subscriptions", lambda: EventSubscription.objects.filter(is_active=True).exists())


# --- the triggers ------------------------------------------------------------------------------------


def _tables() -> list[str]:
    existing = set(connection.introspection.table_names())
    tables = []
    for label, name in WATCHED_MODELS:
        try:
            table = apps.get_model(label, name)._meta.db_table
        except LookupError:
            continue
        if table in existing:
            tables.append(table)
    return tables


def install_triggers(**_kwargs: Any) -> None:
    """(Re)create the triggers that renew the token. Idempotent; connected to `post_migrate`, because some
    schema changes (SQLite rebuilds a table to alter it) drop a table's triggers."""
    if TOKEN_TABLE not in connection.introspection.table_names():
        return
    renew_pg = "UPDATE sla_referenceversion SET token = md5(random()::text || clock_timestamp()::text) WHERE id = 1"
    renew_sqlite = "UPDATE sla_referenceversion SET token = lower(hex(randomblob(16))) WHERE id = 1"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE OR REPLACE FUNCTION loopdesk_renew_reference_token() RETURNS trigger AS $$ "
                           f"BEGIN {renew_pg}; RETURN NULL; END $$ LANGUAGE plpgsql")
            for table in _tables():
                cursor.execute(
                    f'CREATE OR REPLACE TRIGGER "{table}_refcache" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                    f'ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION loopdesk_renew_reference_token()')
        elif connection.vendor == "sqlite":
            for table in _tables():
                for operation in ("INSERT", "UPDATE", "DELETE"):
                    cursor.execute(f'CREATE TRIGGER IF NOT EXISTS "{table}_refcache_{operation.lower()}" '
                                   f'AFTER {operation} ON "{table}" BEGIN {renew_sqlite}; END')
        else:  # another database: no triggers, so no caching (every read goes to the database)
            cursor.execute("DELETE FROM sla_referenceversion")
    clear()

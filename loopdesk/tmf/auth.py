"""API tokens: authentication, read/write scope, unit scope and rate limiting (shared by /api/ and /tmf-api/)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.throttling import SimpleRateThrottle

from loopdesk.core.errors import PermissionDeniedError
from loopdesk.tickets.models import Ticket, TicketUnitAccess
from loopdesk.tickets.policy import visible_tickets
from loopdesk.tmf.models import TOKEN_PREFIX, ApiToken

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_COUNT_LOCK = threading.Lock()  # the local-memory rate counters of this process: one request counted at a time


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer ld_<prefix>_<secret>`. The request acts as the token's service user."""

    keyword = b"bearer"

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword:
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected “Bearer <token>”."))
        try:
            raw = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid API token.")) from None
        return self.authenticate_token(raw)

    def authenticate_token(self, raw: str) -> tuple[Any, ApiToken]:
        invalid = exceptions.AuthenticationFailed(_("Invalid API token."))
        if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
            raise invalid
        prefix = raw[len(TOKEN_PREFIX):].split("_", 1)[0]
        token = (
            ApiToken.objects.select_related("user__unit").filter(prefix=prefix).first()
        )
        if token is None or not token.matches(raw):
            raise invalid
        now = timezone.now()
        if not token.is_active or (token.expires_at and token.expires_at <= now):
            raise exceptions.AuthenticationFailed(_("This API token is no longer valid."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The service user of this API token is disabled."))
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="loopdesk"'


def request_token(request: Any) -> ApiToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


class TokenScopePermission(permissions.BasePermission):
    """A read-only token may only read. Registering (and unregistering) an event listener counts as reading
    (`reading_view = True` on the view): the listener hears only about tickets the token may read."""

    message = _("This API token may only read.")

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request_token(request)
        if token is None or request.method in permissions.SAFE_METHODS or getattr(view, "reading_view", False):
            return True
        return token.can_write


class ThrottleUnauthenticated:
    """DRF checks the rate after authentication and permissions, so a request without a valid credential had its 401
    before it was counted: requests per address (a client trying tokens, or calling without one) were never limited.
    Such a request is counted per address too, and over the rate answered 429 with Retry-After."""

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)  # type: ignore[misc]
        except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed):
            self.check_throttles(request)  # type: ignore[attr-defined]
            raise


def scoped_tickets(request: Any, queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """The tickets this request may see: the policy's scope for the user, narrowed to the token's units."""
    return tickets_for(request.user, request_token(request), queryset)


def tickets_for(user: Any, token: ApiToken | None, queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    qs = visible_tickets(user, queryset)
    if token is not None:
        paths = list(token.units.values_list("path", flat=True))
        if paths:
            # Taken or handled there, now or before (a unit that had the ticket keeps access to it, as its staff do:
            # dispatch and transfer grant TicketUnitAccess).
            q, granted = Q(), Q()
            for path in paths:
                q |= Q(first_responder_unit__path__startswith=path) | Q(handler_unit__path__startswith=path)
                granted |= Q(unit__path__startswith=path)
            qs = qs.filter(q | Q(Exists(TicketUnitAccess.objects.filter(granted, ticket=OuterRef("pk")))))
    return qs


def check_registers_in_scope(user: Any, token: ApiToken | None) -> None:
    """A token limited to units registers work orders only if its user's unit is within them: the new ticket's
    first responder unit is the user's, and a ticket outside the token's units could not be read back (the
    /api/ create answered 500, TMF621 201 with a ticket the token then got 404 for)."""
    if token is None:
        return
    paths = list(token.units.values_list("path", flat=True))
    unit = getattr(user, "unit", None)
    if paths and (unit is None or not any(unit.path.startswith(path) for path in paths)):
        raise PermissionDeniedError(_(
            "This API token is limited to units that do not include its user's unit, so the work orders it would "
            "register are outside its own scope. Limit the token to (a unit above) the user's unit."))


class ApiRateThrottle(SimpleRateThrottle):
    """Per token (its own rate, or the default), per user, or per address; counted in the throttle cache.

    The default is the `LOOPDESK_API_RATE` setting. The cache is `LOOPDESK_THROTTLE_CACHE` (a local-memory
    cache by default: the limit then holds per gunicorn worker; point it at a database or Redis cache to
    share it across workers and machines).
    """

    scope = "api"

    def __init__(self) -> None:
        self.cache = caches[getattr(settings, "LOOPDESK_THROTTLE_CACHE", "default")]

    def get_rate(self) -> str:
        return settings.LOOPDESK_API_RATE

    def allow_request(self, request: Any, view: Any) -> bool:
        token = request_token(request)
        rate = f"{token.rate_per_minute}/min" if token is not None and token.rate_per_minute else self.get_rate()
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)
        # DRF reads the history, decides, and writes it back: two requests at once both read the same history, so at
        # the limit both passed (and one of them was not counted). The read-decide-write is made one step.
        with self._counting(self.get_cache_key(request, view)):
            return super().allow_request(request, view)

    @contextmanager
    def _counting(self, key: str) -> Iterator[None]:
        """Hold what makes this client's count one step at a time: for the database cache, its row locked for the
        transaction (PostgreSQL: SELECT … FOR UPDATE; SQLite: the write lock a transaction takes at BEGIN IMMEDIATE,
        see settings), across every worker; for a local-memory cache, a lock in this process (its count is per
        process anyway)."""
        if not isinstance(self.cache, DatabaseCache):
            with _COUNT_LOCK:
                yield
            return
        db = router.db_for_write(self.cache.cache_model_class)
        connection = connections[db]
        with transaction.atomic(using=db):
            if connection.features.has_select_for_update:
                self.cache.add(key, [], self.duration)  # the row to lock (no-op when it is there)
                quote = connection.ops.quote_name
                table = quote(self.cache.cache_model_class._meta.db_table)  # the cache's setting, quoted
                with connection.cursor() as cursor:  # the key: a parameter
                    cursor.execute(f"SELECT 1 FROM {table} WHERE {quote('cache_key')} = %s FOR UPDATE",  # noqa: S608
                                   [self.cache.make_and_validate_key(key)])
            yield

    def wait(self) -> float | None:
        """Seconds until a request is allowed again. DRF's estimate gives None when more requests are counted than
        the rate allows (a token's rate lowered while it was busy): the 429 then had no Retry-After. The answer is
        when enough of the counted requests have left the window."""
        if len(self.history) >= self.num_requests > 0:
            # history is newest first: the request that must leave the window is the num_requests-th one.
            return max(self.duration - (self.now - self.history[self.num_requests - 1]), 1)
        return super().wait()

    def get_ident(self, request: Any) -> str:
        """The client's address as sign-in protection reads it: DRF's took the whole X-Forwarded-For header as sent, so
        a client writing another value in it on every request was never limited."""
        from loopdesk.org.signin import client_ip

        return client_ip(request._request if hasattr(request, "_request") else request) or ""

    def get_cache_key(self, request: Any, view: Any) -> str:
        token = request_token(request)
        if token is not None:
            ident = f"t:{token.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"u:{request.user.pk}"
        else:
            ident = f"a:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"

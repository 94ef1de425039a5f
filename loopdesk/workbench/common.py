"""Helpers shared by the workbench views: sign-in for htmx requests, domain errors, role flags."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from loopdesk.core.errors import DomainError, NotFoundError, PermissionDeniedError, ValidationFailed
from loopdesk.core.text import ascii_digits, is_db_id
from loopdesk.org.choices import FRONT_LINE_ROLES, Role, UnitLevel
from loopdesk.org.models import OrgUnit
from loopdesk.sla.calendars import SHANGHAI
from loopdesk.tickets import policy

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Like login_required, but an htmx request whose session expired sends the whole page to sign-in
    (HX-Redirect), and sign-in returns to the page the user was on, not to the fragment URL."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and request.user.is_active:
            return view(request, *args, **kwargs)
        htmx = getattr(request, "htmx", None)
        if htmx:
            back = htmx.current_url_abs_path or "/"
            response = redirect_to_login(back)
            return HttpResponse(status=200, headers={"HX-Redirect": response["Location"]})
        if request.method in ("GET", "HEAD"):
            return redirect_to_login(request.get_full_path())
        # A form posted after the session expired: its URL only answers POST, so sign-in must not return
        # there (a GET of it is a blank 405). Return to the page the form was on instead.
        return redirect_to_login(page_of_post(request, kwargs))

    return wrapper


def page_of_post(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    """Where to go back to after a POST: the same-site Referer, else the ticket's page, else home."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        parts = urlsplit(referer)
        if parts.path:
            return parts.path + (f"?{parts.query}" if parts.query else "")
    if request.path.startswith("/tickets/") and "pk" in kwargs:
        return reverse("workbench:ticket", args=[kwargs["pk"]])
    return "/"


def posted_id(value: str) -> int | None:
    """A posted id: a positive integer that fits a bigint column, else None (never a 500 on tampered input)."""
    value = value.strip()
    if not is_db_id(value):
        return None
    return int(value) or None


def raise_for_domain_error(exc: DomainError) -> None:
    """Turn a 403/404 domain error into Django's, so the friendly error pages are shown."""
    if isinstance(exc, PermissionDeniedError):
        raise PermissionDenied(str(exc.message)) from exc
    if isinstance(exc, NotFoundError):
        raise Http404(str(exc.message)) from exc


# Who reads the KPI pages (dashboard, tables, drill-down lists, scorecards, monthly reports): the service management
# room's supervisors, the department heads and auditors, who judge units by them (issue 6: "for supervisors and
# managers"; HR reads them under the auditor role), the second line, which chases the departments' timeliness in its
# region (docs/reports.md "Scope"), and administrators. Front-line agents and specialist handlers work their own
# work orders from the workbench; the reports refuse them (403), and the navigation does not offer them.
REPORT_ROLES = frozenset({Role.SUPERVISOR, Role.DEPARTMENT_HEAD, Role.AUDITOR, Role.DISPATCHER})


def may_read_reports(user: Any) -> bool:
    """Whether `user` may open the report pages (see REPORT_ROLES); the import page has its own rule."""
    return bool(user.is_authenticated and (policy.is_admin(user) or user.role_codes & REPORT_ROLES))


class RoleFlags:
    """What the navigation and home page offer this user (computed once per request from its roles)."""

    def __init__(self, user: Any):
        roles = user.role_codes if user.is_authenticated else frozenset()
        admin = bool(user.is_authenticated and policy.is_admin(user))
        self.front_line = bool(roles & FRONT_LINE_ROLES)
        self.handler = bool(roles & {Role.SPECIALIST, Role.DEPARTMENT_HEAD})
        self.head = Role.DEPARTMENT_HEAD in roles
        self.dispatcher = Role.DISPATCHER in roles
        self.supervisor = admin or Role.SUPERVISOR in roles
        self.auditor = Role.AUDITOR in roles
        # Who reads the supervisors' pages (board, policies, escalations): the supervisors, and auditors read-only.
        self.oversees = self.supervisor or self.auditor
        self.admin = admin
        self.can_create = bool(user.is_authenticated and policy.can_create(user))
        # Who reads the KPI pages: `may_read_reports` (supervisors, department heads, auditors, dispatchers).
        self.reports = may_read_reports(user)
        # Who may import legacy work orders (anyone who registers them) or customers (supervisors): the import page
        # (`reports.views.import_view`'s rule). Readers reach it from the Reports menu; the others from its own entry.
        self.imports = self.can_create or self.supervisor
        # Who registers contacts as their daily work and so answers and calls back their own work orders: the front
        # line, and the second line, which registers the other channels' (12300, e-mail…) and handles some itself.
        self.registers = self.front_line or self.dispatcher or admin
        self.can_reveal = bool(user.is_authenticated and policy.can_reveal(user))
        self.role_labels = [str(Role(code).label) for code in sorted(roles) if code in Role.values]


def safe_next(request: HttpRequest, fallback: str = "/") -> str:
    """The `next` parameter when it points into this site, else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def typed_number(value: str | None) -> str:
    """A work-order number as typed: full-width digits, letters and dashes (a Chinese IME's) as ASCII, upper case."""
    return unicodedata.normalize("NFKC", value or "").strip().upper()


def search_regions(user: Any) -> list[str]:
    """The regions whose numbers a short number ("123", "20261122-000123") may mean for `user`: a city's staff their
    region's; above a city (a province's, HQ's staff) their unit's own region and every city's they oversee (a
    province's cities, HQ all), since their unit's code (GD, HQ) is on few work orders."""
    unit = getattr(user, "unit", None)
    if unit is None:
        return []
    regions = [unit.region] if unit.region else []
    if unit.level in (UnitLevel.HQ, UnitLevel.PROVINCE):
        cities = OrgUnit.objects.filter(level=UnitLevel.CITY).exclude(region="")
        if unit.level == UnitLevel.PROVINCE:
            cities = cities.filter(province=unit.province)
        regions += sorted(set(cities.values_list("region", flat=True)) - set(regions))
    return regions


def candidate_numbers(user: Any, text: str) -> list[str]:
    """The numbers `text` (see typed_number) may mean: itself; in the user's regions (`search_regions`),
    "20261122-000123"; and today's "123" / "000123" (exact numbers only, so that the number index answers). The
    search box, the link form and the reject dialog's "duplicate of" read a number alike."""
    numbers = [text]
    day, _sep, tail = text.rpartition("-")
    if ascii_digits(day) and len(day) == 8 and ascii_digits(tail) and len(tail) <= 6:
        suffix = f"-{day}-{int(tail):06d}"
    elif ascii_digits(text) and len(text) <= 6 and int(text):
        suffix = f"-{timezone.localtime(timezone.now(), SHANGHAI).date():%Y%m%d}-{int(text):06d}"
    else:
        return numbers
    return numbers + [f"{region}{suffix}" for region in search_regions(user)]


def numbered_ticket(user: Any, text: str, *, field: str) -> Any:
    """The one work order `user` may see that `text` names (`candidate_numbers`), for the link form and the reject
    dialog's "duplicate of"; a field error when none, or when a short number means several (cities' numbers of
    the same day and sequence, for a province's or HQ's staff): then the full number is asked for."""
    found = list(policy.visible_tickets(user).filter(number__in=candidate_numbers(user, text))
                 .only("id", "number").order_by("number")[:5])
    if not found:
        raise ValidationFailed(field=field, message=_("No work order you may see has this number."))
    if len(found) > 1:
        raise ValidationFailed(field=field, message=_(
            "Several work orders you may see have this number (%(numbers)s): type the full number, with its region."
        ) % {"numbers": ", ".join(t.number for t in found)})
    return found[0]

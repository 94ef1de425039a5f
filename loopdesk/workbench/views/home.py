"""Home page per role ("what needs me now"), the language switch, and the ticket-number jump."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from loopdesk.core.text import ascii_digits, normalize_msisdn
from loopdesk.followup import selectors as followup_selectors
from loopdesk.tickets import policy
from loopdesk.tickets.choices import Status
from loopdesk.tickets.models import Ticket
from loopdesk.tickets.policy import visible_tickets
from loopdesk.workbench.common import RoleFlags, candidate_numbers, safe_next, staff_required, typed_number
from loopdesk.workbench.queues import capped_count, queue_queryset, table_rows

SECTION_ROWS = 8


@dataclass
class Section:
    title: Any
    qs: QuerySet[Ticket]
    link: str
    rows: list[Ticket] = field(default_factory=list)
    count: int | None = None  # None: a full section, counted by the request its heading sends once shown


def _section(title: Any, qs: QuerySet[Ticket], queue: str, **params: str | list[str]) -> Section:
    """A block of the home page; `queue` and `params` make its "See all" link, which must list what `qs` counts."""
    link = reverse("workbench:queue", args=[queue])
    if params:
        link += "?" + urlencode(params, doseq=True)
    return Section(title, qs, link)


def load_rows(sections: list[Section]) -> list[int]:
    """Each section's first rows (one query each); a shorter section is counted by its rows. Returns the numbers
    (1-based) of the full sections, whose counts come after the page (`section_counts`)."""
    full = []
    for number, section in enumerate(sections, start=1):
        section.rows = list(table_rows(section.qs).order_by("due_at", "id")[:SECTION_ROWS])
        if len(section.rows) < SECTION_ROWS:
            section.count = len(section.rows)
        else:
            full.append(number)
    return full


def section_counts(sections: list[Section], numbers: str) -> list[tuple[int, int]]:
    """(number, capped count) of the sections named in `numbers` ("2,5"); unknown numbers are left out."""
    wanted = {int(n) for n in numbers.split(",") if ascii_digits(n.strip())}
    return [(n, capped_count(s.qs)) for n, s in enumerate(sections, start=1) if n in wanted]


def home_sections(user: Any, flags: RoleFlags) -> list[Section]:
    """What needs this user now, by role (querysets; see load_rows and section_counts)."""
    now = timezone.now()
    sections: list[Section] = []
    if flags.registers:
        mine = queue_queryset(user, "mine", now=now)
        sections.append(_section(_("Replies to answer to the customer"), mine.filter(status=Status.REPLIED),
                                 "mine", status=Status.REPLIED))
        waiting = [Status.NEW, Status.RETURNED]
        sections.append(_section(_("Registered or returned, not yet dispatched"),
                                 mine.filter(status__in=waiting), "mine", status=waiting))
        answered = [Status.ANSWERED, Status.CALLED_BACK]
        sections.append(_section(_("Answered: call back and close"),
                                 mine.filter(status__in=answered), "mine", status=answered))
    if flags.handler:
        unit = queue_queryset(user, "unit", now=now)
        sections.append(_section(_("Waiting for your unit to accept"), unit.filter(status=Status.DISPATCHED), "unit",
                                 status=Status.DISPATCHED))
    if flags.handler or flags.dispatcher:  # the second line accepts and handles some work orders itself
        handling = [Status.IN_PROGRESS, Status.PENDING_INFO, Status.HOLD_REQUESTED, Status.ON_HOLD]
        in_hand = visible_tickets(user).filter(is_open=True, handler_user=user, status__in=handling)
        sections.append(_section(_("In your hands"), in_hand, "mine", status=handling, handler="me"))
    if flags.head or flags.supervisor:  # supervisors approve too (e.g. a hold the unit's only head asked for)
        sections.append(_section(_("Suspension requests to decide"), queue_queryset(user, "holds", now=now),
                                 "holds"))
    if flags.dispatcher or flags.supervisor:
        sections.append(_section(_("To be dispatched"), queue_queryset(user, "dispatch", now=now), "dispatch"))
    if flags.supervisor:  # a return (退单) goes back to the unit that dispatched it: here, the supervisors'
        sections.append(_section(_("Returned to your unit: dispatch again"),
                                 queue_queryset(user, "unit", now=now).filter(status=Status.RETURNED), "unit",
                                 status=Status.RETURNED))
    if flags.supervisor:
        # The late tickets of the queue their "See all" opens (at risk and overdue, filtered as there), so that the
        # block counts what the list shows; every late open ticket, whatever its clock, is on the board.
        risk = queue_queryset(user, "risk", now=now)
        # The limits are the ticket's policy's (regulator appeals have shorter ones than 48 h / 72 h).
        sections.append(_section(_("Problem tickets (past their problem limit)"), risk.filter(is_problem=True),
                                 "risk", flag="problem"))
        sections.append(_section(_("Overtime tickets (past their reply limit)"),
                                 risk.filter(is_overtime=True, is_problem=False), "risk", flag="overtime"))
    if not flags.supervisor:
        sections.append(_section(_("At risk and overdue"), queue_queryset(user, "risk", now=now), "risk"))
    return sections


@dataclass
class FollowupCard:
    key: str
    title: Any
    count: int
    link: str
    overdue: int = 0


def followup_cards(user: Any, flags: RoleFlags) -> list[FollowupCard]:
    """Callbacks owed (front line, second line) and open escalations (supervisors): one aggregate query each."""
    cards: list[FollowupCard] = []
    if flags.registers:
        counts = followup_selectors.my_open_callbacks(user).aggregate(
            total=Count("id"), overdue=Count("id", filter=Q(due_at__lt=timezone.now())))
        cards.append(FollowupCard("callbacks", _("Callbacks to make"), counts["total"],
                                  reverse("workbench:callbacks"), counts["overdue"]))
    if flags.supervisor:
        cards.append(FollowupCard("escalations", _("Open escalations"),
                                  followup_selectors.open_escalations_for(user).count(),
                                  reverse("workbench:escalations")))
    return cards


COUNTS_TARGET = "home-counts"  # the htmx request of the full sections' counts (sent once the page has loaded)


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    flags = RoleFlags(request.user)
    sections = home_sections(request.user, flags)
    if request.htmx and request.htmx.target == COUNTS_TARGET:
        response = render(request, "workbench/partials/home_counts.html",
                          {"counts": section_counts(sections, request.GET.get("counts", ""))})
    else:
        pending = load_rows(sections)
        response = render(request, "workbench/home.html", {
            "sections": sections, "pending": ",".join(map(str, pending)), "more_than": f"{SECTION_ROWS}+",
            "followup_cards": followup_cards(request.user, flags)})
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the language: remembered on the user (every device) and in a cookie (the sign-in page)."""
    language = request.POST.get("language", "")
    response: HttpResponseRedirect = redirect(safe_next(request))
    if language not in {code for code, _name in settings.LANGUAGES}:
        return response
    user = request.user
    if user.is_authenticated and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    translation.activate(language)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


FOUND_ROWS = 50


@staff_required
def find_ticket(request: HttpRequest) -> HttpResponse:
    """The header's search box: a work-order number (or the tail of today's) opens the ticket; a phone number opens
    the desk for those who register contacts, and lists the work orders of that number one may see for others."""
    # Full-width digits, letters and dashes (a Chinese IME's) as ASCII; a phone number as the desk takes it
    # ("138 0013 8000", "+86…").
    text = typed_number(request.GET.get("q"))
    msisdn = normalize_msisdn(text)
    if ascii_digits(msisdn) and len(msisdn) == 11:
        if policy.can_create(request.user):
            return redirect(reverse("workbench:desk") + "?" + urlencode({"caller": msisdn}))
        found = list(table_rows(visible_tickets(request.user).filter(customer__msisdn=msisdn))
                     .order_by("-created_at", "-id")[:FOUND_ROWS])
        if found:
            return render(request, "workbench/found_by_phone.html", {"rows": found, "more": len(found) == FOUND_ROWS})
    elif text:
        # A short number may mean several cities' work orders for a province's or HQ's staff: then they are listed.
        found = list(table_rows(visible_tickets(request.user).filter(number__in=candidate_numbers(request.user, text)))
                     .order_by("number")[:FOUND_ROWS])
        if len(found) == 1:
            return redirect("workbench:ticket", pk=found[0].pk)
        if found:
            return render(request, "workbench/found_by_phone.html", {
                "rows": found, "more": len(found) == FOUND_ROWS,
                "heading": _("Work orders with this number in your regions")})
    return render(request, "workbench/not_found_number.html", {"q": text}, status=404)

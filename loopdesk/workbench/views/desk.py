"""The hotline screen-pop (/desk/?caller=MSISDN): customer 360 and one form to create and dispatch."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from loopdesk.core.errors import DomainError, ValidationFailed
from loopdesk.customers.models import Customer
from loopdesk.customers.services import clean_msisdn, do_reveal_customer, get_or_create_customer
from loopdesk.org.choices import Role
from loopdesk.tickets import policy
from loopdesk.tickets.choices import Channel
from loopdesk.tickets.services import do_create_ticket
from loopdesk.workbench.common import raise_for_domain_error, staff_required
from loopdesk.workbench.customer360 import customer_360
from loopdesk.workbench.forms import DeskForm
from loopdesk.workbench.preview import preview, unit_parent_name

CHANNEL_BY_ROLE = [
    (Role.HALL_CLERK, Channel.HALL),
    (Role.ACCOUNT_MANAGER, Channel.ACCOUNT_MANAGER),
    (Role.HOTLINE_AGENT, Channel.HOTLINE),
]


def default_channel(user: Any) -> str:
    for role, channel in CHANNEL_BY_ROLE:
        if user.has_role(role):
            return channel
    return Channel.HOTLINE


def _caller(request: HttpRequest) -> tuple[str, str]:
    """(normalised number, error message) from ?caller=."""
    raw = (request.GET.get("caller") or request.POST.get("caller") or "").strip()
    if not raw:
        return "", ""
    try:
        return clean_msisdn(raw, field="caller"), ""
    except ValidationFailed as exc:
        return "", str(exc.message)


@staff_required
def desk(request: HttpRequest) -> HttpResponse:
    if not policy.can_create(request.user):
        raise PermissionDenied(_("Your role may not register contacts."))
    msisdn, caller_error = _caller(request)
    view = customer_360(request.user, msisdn) if msisdn else None
    form = DeskForm(request.POST or None, channel=default_channel(request.user))
    if msisdn:
        form.fields["category"].widget.attrs["data-autofocus"] = "1"  # the caller is known: start typing
    status = 200
    if request.method == "POST":
        if not msisdn:
            caller_error = caller_error or str(_("Enter the caller's mobile number."))
        if form.is_valid() and msisdn:
            try:
                ticket = _create(request, msisdn, form)
            except ValidationFailed as exc:
                for field, errors in exc.errors.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
            except DomainError as exc:
                raise_for_domain_error(exc)
                form.add_error(None, str(exc.message))
            else:
                if ticket.dispatch_count:
                    messages.success(request, _("Work order %(number)s registered and dispatched to %(unit)s.") % {
                        "number": ticket.number, "unit": ticket.handler_unit.display_name(get_language())})
                else:
                    messages.success(request, _("Work order %(number)s registered.") % {"number": ticket.number})
                return redirect("workbench:ticket", pk=ticket.pk)
        status = 422
    show_all = request.GET.get("history") == "all"
    return render(request, "workbench/desk.html", {
        "nav": "desk", "caller": msisdn, "caller_raw": request.GET.get("caller", ""), "caller_error": caller_error,
        "view": view, "form": form,
        "history": view.shown(show_all) if view else [],
        "open_shown": view.open_shown(show_all) if view else [],
    }, status=status)


def _create(request: HttpRequest, msisdn: str, form: DeskForm) -> Any:
    data = form.cleaned_data
    with transaction.atomic():  # an unknown caller's new record goes too if the ticket is refused
        customer = get_or_create_customer(msisdn=msisdn, acting_user=request.user)
        return do_create_ticket(
            acting_user=request.user, customer=customer, contact_type=data["contact_type"],
            category=data["category"], channel=data["channel"], priority=data["priority"], title=data["title"],
            description=data["description"], dispatch=request.POST.get("go") != "register",
        )


@staff_required
def desk_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the routing target and the committed time for what the form says so far (the desk's roles only: it
    reads the caller's customer record, whose tier and home branch pick the policy and the rule)."""
    if not policy.can_create(request.user):
        raise PermissionDenied(_("Your role may not register contacts."))
    msisdn, _error = _caller(request)
    form = DeskForm(request.GET, channel=default_channel(request.user))
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    category = data.get("category")
    result = None
    if category is not None and data.get("contact_type") and data.get("channel"):
        customer = Customer.objects.filter(msisdn=msisdn).only("vip_level", "region", "home_branch_id").first() \
            if msisdn else None
        region = (customer.region if customer else "") or getattr(request.user.unit, "region", "")
        result = preview(
            region=region, category=category, contact_type=data["contact_type"],
            tier=customer.tier if customer else "regular", channel=data["channel"],
            priority=data.get("priority") or "normal", branch_id=customer.home_branch_id if customer else None,
        )
    language = get_language()
    return render(request, "workbench/partials/preview.html", {
        "result": result, "parent": unit_parent_name(result.route.unit if result and result.route else None, language),
    })


@staff_required
@require_POST
def desk_reveal(request: HttpRequest) -> HttpResponse:
    msisdn, _error = _caller(request)
    customer = Customer.objects.filter(msisdn=msisdn).first() if msisdn else None
    if customer is None:
        return HttpResponse(status=404)
    try:
        revealed = do_reveal_customer(acting_user=request.user, customer=customer, reason=str(_("Screen-pop")))
    except DomainError as exc:
        raise_for_domain_error(exc)
        raise
    return render(request, "workbench/partials/revealed.html", {"revealed": revealed})


def desk_url(msisdn: str) -> str:
    return reverse("workbench:desk") + "?" + urlencode({"caller": msisdn})

"""What every action dialog of the workbench does with its service: run it for a valid form, put the service's
refusal on the form, and after success go on to the next page (an htmx dialog by `HX-Redirect`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from loopdesk.core.errors import ConflictError, DomainError, ValidationFailed
from loopdesk.workbench.common import raise_for_domain_error

T = TypeVar("T")


def apply_errors(form: forms.Form, exc: ValidationFailed) -> None:
    """The service's field errors on the form's fields (on the form itself for a field it does not have)."""
    for field, errors in exc.errors.items():
        for message in errors:
            form.add_error(field if field in form.fields else None, message)


def run_service(form: forms.Form, call: Callable[[], T]) -> tuple[bool, T | None]:
    """`(True, call())`, or `(False, None)` with the refusal on `form`: field errors for ValidationFailed, a
    form-wide error for a conflict or an invalid transition (reload and retry); 403 and 404 are raised as
    Django's, so the friendly error pages are shown."""
    try:
        return True, call()
    except ValidationFailed as exc:
        apply_errors(form, exc)
    except ConflictError as exc:  # someone else changed the work order meanwhile: a 409 (`status_for`)
        form.conflict = True  # type: ignore[attr-defined]
        form.add_error(None, str(exc.message))
    except DomainError as exc:
        raise_for_domain_error(exc)
        form.add_error(None, str(exc.message))
    return False, None


def status_for(form: forms.Form) -> int:
    """The status of a refused dialog: 409 when the work order changed meanwhile (as the API), else 422."""
    return 409 if getattr(form, "conflict", False) else 422


def done(request: HttpRequest, message: Any, url: str) -> HttpResponse:
    """Say `message` on the next page and go to `url` (the whole page, also from an htmx dialog)."""
    messages.success(request, message)
    if getattr(request, "htmx", False):
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)


def form_dialog(request: HttpRequest, form_class: type[forms.Form], run: Callable[[forms.Form], tuple[Any, str]],
                templates: tuple[str, str], context: dict[str, Any]) -> HttpResponse:
    """A one-form dialog: GET shows the empty form; POST of a valid form calls `run(form)` (the service call,
    returning the success message and the next page's URL) through `run_service`, then `done`; an invalid or
    refused form is shown again with what was typed and a 422 (409 on a conflict). `templates`: (htmx partial,
    whole page)."""
    status = 200
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            ok, result = run_service(form, lambda: run(form))
            if ok and result is not None:
                return done(request, *result)
        status = status_for(form)
    else:
        form = form_class()
    template = templates[0] if getattr(request, "htmx", False) else templates[1]
    return render(request, template, {**context, "form": form}, status=status)

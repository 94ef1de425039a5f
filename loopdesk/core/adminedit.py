"""Two people editing one object in the admin: the second save is refused, not silently written over the first.

The change form carries a fingerprint of what it was opened with (`edit_state`, a hidden field): the values of the
form's own fields, their many-to-many choices and the inline rows, as stored. Saving locks the object's row
(`SELECT ... FOR UPDATE` on PostgreSQL, in the admin's transaction) and compares the fingerprint with the stored
values now: if someone saved in between, the form comes back with an error in the user's language, the user's
entries still in it, and nothing is saved. Fields outside the form (e.g. a user's last login) are not compared:
the admin never writes them back.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django import forms
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.forms.models import _get_foreign_key
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

STATE_FIELD = "edit_state"


def _form_columns(model: type[models.Model], names: list[str]) -> tuple[list[str], list[str]]:
    """The form's field names that are the model's stored fields: (plain columns, many-to-many)."""
    columns, many = [], []
    for name in names:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.many_to_many and not field.auto_created:
            many.append(name)
        elif getattr(field, "concrete", False):
            columns.append(name)
    return columns, many


def stored_state(model: type[models.Model], pk: Any, names: list[str],
                 inlines: list[tuple[type[models.Model], str]]) -> str:
    """A fingerprint of what is stored for the fields `names` of one object and for its inline rows."""
    columns, many = _form_columns(model, names)
    rows = model._default_manager.filter(pk=pk)
    parts: list[Any] = [list(rows.values_list(*columns).first() or ()) if columns else []]
    for name in many:
        parts.append(sorted(v for v in rows.values_list(name, flat=True) if v is not None))
    for inline_model, fk_name in inlines:
        fields = [f.attname for f in inline_model._meta.concrete_fields]
        parts.append(list(inline_model._default_manager.filter(**{fk_name: pk}).order_by("pk").values_list(*fields)))
    text = json.dumps(parts, default=str, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class ConcurrentEditMixin:
    """For a ModelAdmin whose objects several staff may edit (put it before `admin.ModelAdmin`)."""

    def _inline_keys(self, request: HttpRequest, obj: Any) -> list[tuple[type[models.Model], str]]:
        keys = []
        for inline in self.get_inline_instances(request, obj):  # type: ignore[attr-defined]
            fk = _get_foreign_key(type(obj), inline.model, fk_name=inline.fk_name)
            keys.append((inline.model, fk.name))
        return keys

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if "fields" not in kwargs:  # what the admin would take: the fieldsets
            kwargs["fields"] = flatten_fieldsets(self.get_fieldsets(request, obj))  # type: ignore[attr-defined]
        if kwargs["fields"]:  # the fieldsets name the hidden field; the model does not have it
            kwargs["fields"] = [name for name in kwargs["fields"] if name != STATE_FIELD]
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        if obj is None or obj.pk is None:
            return form
        model, pk = type(obj), obj.pk
        # Disabled fields (a user's password hash) are never written back from the form: not compared either.
        names = [name for name, field in form.base_fields.items() if name != STATE_FIELD and not field.disabled]
        inlines = self._inline_keys(request, obj)
        label = model._meta.verbose_name

        class ConcurrentEditForm(form):  # type: ignore[misc, valid-type]
            # Its label stays in the page (a screen reader reads it): in the user's language.
            edit_state = forms.CharField(label=_("Edit state"), widget=forms.HiddenInput, required=False)

            def clean(self) -> Any:
                cleaned = super().clean()
                # Lock the row until the admin's transaction ends: two saves at once are checked one after the other.
                list(model._default_manager.select_for_update().filter(pk=pk).values_list("pk", flat=True))
                if self.data.get(STATE_FIELD, "") != stored_state(model, pk, names, inlines):
                    raise ValidationError(
                        _("Someone else saved this %(model)s after you opened it, so your changes were not saved. "
                          "Reload the page to see theirs, then make yours again (what you entered is still "
                          "shown below)."),
                        code="stale", params={"model": label},
                    )
                return cleaned

        ConcurrentEditForm.__name__ = form.__name__
        ConcurrentEditForm.base_fields[STATE_FIELD].initial = stored_state(model, pk, names, inlines)
        return ConcurrentEditForm

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        if obj is None or obj.pk is None or not self.has_change_permission(request, obj):  # type: ignore[attr-defined]
            return fieldsets  # nothing to save (a view-only user): no fingerprint on the page
        if any(STATE_FIELD in _flat(opts.get("fields", ())) for _n, opts in fieldsets):
            return fieldsets
        # A hidden field on a line of its own: the admin renders it without a label.
        return [*fieldsets, (None, {"fields": (STATE_FIELD,), "classes": ("hidden",)})]


def _flat(fields: Any) -> list[str]:
    out: list[str] = []
    for item in fields:
        out.extend(item if isinstance(item, list | tuple) else [item])
    return out

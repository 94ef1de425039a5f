"""The append-only audit log: who saw or changed what. Rows are never updated or deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loopdesk.tickets.choices import EventKind, Status

# What the actions that are not a work order's timeline entry are called (those are `ticket.<EventKind>`, named by
# the event's label): the admin shows these names, not the stored codes.
ACTION_NAMES = {
    "admin.add": _("Added in the admin"),
    "admin.change": _("Changed in the admin"),
    "admin.delete": _("Deleted in the admin"),
    "admin.password": _("Password changed in the admin"),
    "admin.token_reissued": _("API token reissued"),
    "customer.create": _("Customer registered"),
    "customer.reveal": _("Customer's number and name revealed"),
    "customer.update": _("Customer changed"),
    "escalation.resolve": _("Escalation resolved"),
    "notify.template_update": _("SMS template changed"),
    "reports.import_customers": _("Customers imported"),
    "reports.import_tickets": _("Work orders imported"),
    "signin.unlock": _("Sign-in unlocked"),
    "spam.reveal_reporter": _("Spam reporter's number revealed"),
    "ticket.escalate": _("Escalated"),
    "ticket.sla_crossed": _("Time limit crossed"),
}


class AuditLogQuerySet(models.QuerySet["AuditLog"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("the audit log is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit log is append-only")


class AuditLog(models.Model):
    """One audited action: a change made through a service, or a reveal of personal data."""

    created_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=48, db_index=True)
    object_type = models.CharField(_("object type"), max_length=48)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=100, blank=True)
    province = models.CharField(_("province code"), max_length=8, blank=True)
    region = models.CharField(_("region code"), max_length=8, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        # Asia/Shanghai, as every time the staff read (the stored time is UTC), and the action's name.
        return f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M} {self.action_name()} {self.object_repr}"

    def action_name(self) -> str:
        """The action in the reader's language: a work order's event by its label, others by `ACTION_NAMES`;
        an action named nowhere (a future one) as its code."""
        if self.action in ACTION_NAMES:
            return str(ACTION_NAMES[self.action])
        prefix, _dot, kind = self.action.partition(".")
        if prefix == "ticket" and kind in EventKind.values:
            return str(EventKind(kind).label)
        return self.action

    def details_lines(self) -> list[str]:
        """The details as "key: value" lines a reader can read: a work order's statuses (from / to) by their names,
        times (stored as UTC ISO texts) in Asia/Shanghai, yes/no in the reader's language; other values as stored."""
        return [f"{key}: {_detail_value(key, value)}" for key, value in (self.data or {}).items()]

    def object_type_name(self) -> str:
        """The kind of object by its model's name in the reader's language; an unknown one as its code."""
        try:
            return str(apps.get_model(self.object_type)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.object_type

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("the audit log is append-only")


def _detail_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, str):
        if key in ("from", "to") and value in Status.values:
            return str(Status(value).label)
        if "T" in value and len(value) >= 19:
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
            if moment.tzinfo is not None:
                return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
        return value
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)

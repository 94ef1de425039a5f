"""The outbox: every message, webhook and event leaves through this table.

A row is written in the same transaction as the change that causes it, so nothing is sent for a
change that rolled back and nothing is lost for one that committed. A worker delivers rows after
commit, at least once; `dedupe_key` is unique, so enqueuing the same message twice stores it once
and receivers can de-duplicate on it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Gave up")


class OutboxMessage(models.Model):
    """One message to deliver: `channel` names the deliverer (sms, webhook, tmf_hub, ...)."""

    channel = models.CharField(_("channel"), max_length=32)
    topic = models.CharField(_("topic"), max_length=64, help_text=_("e.g. TroubleTicketStatusChangeEvent"))
    dedupe_key = models.CharField(_("de-duplication key"), max_length=200, unique=True)
    target = models.CharField(_("target"), max_length=255, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    ticket_id = models.BigIntegerField(_("work order id"), null=True, blank=True, db_index=True)
    region = models.CharField(_("region code"), max_length=8, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    not_before = models.DateTimeField(_("not before"), help_text=_("Next attempt, e.g. after quiet hours or back-off."))
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        indexes = [
            models.Index(
                fields=["not_before", "id"], name="outbox_due",
                condition=Q(status__in=["pending", "failed"]),
            ),
            models.Index(fields=["channel", "status", "created_at"], name="outbox_channel"),
            # The order check of the claim (`worker.claim_due`): an earlier undelivered message of the same ticket,
            # channel and target. Small (undelivered rows only) and chosen by the planner even before the table
            # has statistics (with `outbox_due` instead, each candidate scanned every due row: quadratic).
            models.Index(
                fields=["ticket_id", "channel", "target", "id"], name="outbox_order",
                condition=Q(status__in=["pending", "failed"], ticket_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.topic}:{self.dedupe_key}"

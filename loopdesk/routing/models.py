"""Routing rules: where a ticket goes when the dispatcher does not choose. Business policy in the database."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from loopdesk.core.names import EnglishNamed
from loopdesk.customers.choices import Tier
from loopdesk.tickets.choices import Channel, ContactType


class RoutingRule(EnglishNamed, models.Model):
    """If a ticket matches every non-empty condition, it goes to `target_unit`. Rules are tried by
    position; when none matches, the region's second-line support room takes the ticket."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True,
                               help_text=_("Shown when the interface is in English; empty: the Chinese name."))
    position = models.PositiveIntegerField(_("position"), default=100, help_text=_("Lower is tried first."))
    is_active = models.BooleanField(_("active"), default=True)
    region = models.CharField(_("region code"), max_length=8, blank=True, help_text=_("Empty: every region."))
    category = models.ForeignKey(
        "tickets.Category",
        verbose_name=_("category (with its subtree)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    contact_type = models.CharField(_("contact type"), max_length=16, choices=ContactType.choices, blank=True)
    tier = models.CharField(_("customer tier"), max_length=8, choices=Tier.choices, blank=True)
    branch = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("customer's branch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    target_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("goes to"), on_delete=models.PROTECT, related_name="routing_rules"
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

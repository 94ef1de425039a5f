"""Customers, identified by their mobile number (MSISDN). Names and numbers are personal data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopdesk.core.text import mask_msisdn, mask_name, validate_msisdn
from loopdesk.customers.choices import Brand, Tier, VipLevel


class Area(models.Model):
    """A residential community or radio cell a customer lives in, for grouping outage complaints."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    branch = models.ForeignKey("org.OrgUnit", verbose_name=_("branch"), on_delete=models.PROTECT, related_name="+")
    cell_id = models.CharField(_("cell id"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A subscriber. The MSISDN is the identity; it is shown masked to roles without the reveal permission."""

    msisdn = models.CharField(_("mobile number"), max_length=11, unique=True, validators=[validate_msisdn])
    name = models.CharField(_("name"), max_length=64, blank=True)
    brand = models.CharField(_("brand"), max_length=16, choices=Brand.choices, default=Brand.SHENZHOUXING)
    vip_level = models.CharField(_("VIP level"), max_length=16, choices=VipLevel.choices, default=VipLevel.NONE)
    arpu = models.DecimalField(_("monthly ARPU (CNY)"), max_digits=9, decimal_places=2, default=0)
    points = models.PositiveIntegerField(_("points"), default=0)
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("home region"), max_length=8)
    home_branch = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("home branch"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    area = models.ForeignKey(Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.SET_NULL)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_customers",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.masked_msisdn

    @property
    def tier(self) -> str:
        return Tier.REGULAR if self.vip_level == VipLevel.NONE else Tier.VIP

    @property
    def is_vip(self) -> bool:
        return self.vip_level != VipLevel.NONE

    @property
    def masked_msisdn(self) -> str:
        return mask_msisdn(self.msisdn)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

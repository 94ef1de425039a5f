"""Customers, identified by their mobile number (MSISDN). Names and numbers are personal data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from loopdesk.core.db import index_where_set
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

    # Unique by the constraint customers_customer_msisdn_key (Meta), not `unique=True`, which on PostgreSQL adds a
    # second, varchar_pattern_ops index for LIKE 'prefix%': numbers are only looked up whole (forms still name the
    # field when a number is taken: Django and DRF validate a one-field UniqueConstraint as the field's own).
    msisdn = models.CharField(_("mobile number"), max_length=11, validators=[validate_msisdn])
    name = models.CharField(_("name"), max_length=64, blank=True)
    brand = models.CharField(_("brand"), max_length=16, choices=Brand.choices, default=Brand.SHENZHOUXING)
    vip_level = models.CharField(_("VIP level"), max_length=16, choices=VipLevel.choices, default=VipLevel.NONE)
    arpu = models.DecimalField(_("monthly ARPU (CNY)"), max_digits=9, decimal_places=2, default=0)
    points = models.PositiveIntegerField(_("points"), default=0)
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("home region"), max_length=8)
    home_branch = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("home branch"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,  # cust_home_branch (Meta)
    )
    area = models.ForeignKey(Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.SET_NULL,
                             db_index=False)  # cust_area (Meta)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_customers",
        db_index=False,  # cust_account_manager (Meta)
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [models.UniqueConstraint(fields=["msisdn"], name="customers_customer_msisdn_key")]
        # Most customers have no account manager (VIPs do), and home branch and area are known for some only
        # (none for customers created by a legacy import): the indexes hold only the rows that have one.
        indexes = [
            index_where_set("home_branch", name="cust_home_branch"),
            index_where_set("area", name="cust_area"),
            index_where_set("account_manager", name="cust_account_manager"),
        ]

    def __str__(self) -> str:
        return self.masked_msisdn

    def clean(self) -> None:
        """The account manager is an active account manager (only they see their customers' work orders, and the
        customer 360 names them); the home branch is one of the customer's region (routing rules by branch)."""
        from loopdesk.org.choices import Role

        errors: dict[str, Any] = {}
        manager = self.account_manager if self.account_manager_id else None
        if manager is not None and not (manager.is_active and Role.ACCOUNT_MANAGER in manager.role_codes):
            errors["account_manager"] = _("%(user)s is not an active account manager.") % {"user": manager}
        branch = self.home_branch if self.home_branch_id else None
        if branch is not None and self.region and branch.region != self.region:
            errors["home_branch"] = _("This branch is in region %(branch)s, not %(region)s.") % {
                "branch": branch.region, "region": self.region}
        if errors:
            raise ValidationError(errors)

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

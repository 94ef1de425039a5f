"""The organisation: a tree of units (HQ → province → city → centre/branch → room) and the staff in it."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loopdesk.core.names import EnglishNamed
from loopdesk.core.tree import TreeNode
from loopdesk.org.choices import FRONT_LINE_ROLES, Role, UnitFunction, UnitLevel


class OrgUnit(EnglishNamed, TreeNode):
    """A unit of the operator: company, branch, centre, department or room.

    `path` is a materialised path ("/1/4/17/") so a subtree is one indexed prefix query; it is kept
    up to date on save, for the unit and every descendant when the unit moves.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.CharField(_("level"), max_length=16, choices=UnitLevel.choices)
    function = models.CharField(_("function"), max_length=16, choices=UnitFunction.choices)
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("region code"), max_length=8, help_text=_("City code, e.g. JM for Jiangmen."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_city_management(self) -> bool:
        """A management unit of a city (the city company, 服务管理室, 人力资源部): it oversees the loop and reads
        reports, nobody there holds a handling role, so work orders are not dispatched, transferred or routed to it
        (they would wait there for nobody). A province's units take their province's work orders, whatever their
        function."""
        return self.function == UnitFunction.MANAGEMENT and self.level in (
            UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM)

    def clean(self) -> None:
        """A unit below a city company is in that city: it has its parent's region and province codes (every
        ticket, queue and scope goes by them). A unit still in use is not deactivated (`_deactivation_error`)."""
        super().clean()
        errors = {}
        parent = (OrgUnit.objects.filter(pk=self.parent_id).only("level", "region", "province").first()
                  if self.parent_id is not None else None)
        if parent is not None and parent.level in (UnitLevel.CITY, UnitLevel.CENTRE, UnitLevel.ROOM):
            if self.region != parent.region:
                errors["region"] = _("A unit below a city company has that city's region code (%(region)s).") % {
                    "region": parent.region}
            if self.province != parent.province:
                errors["province"] = _("A unit below a city company has that city's province code (%(province)s).") % {
                    "province": parent.province}
        deactivation = self._deactivation_error()
        if deactivation:
            errors["is_active"] = deactivation
        moving = self._city_change_error()
        if moving and "region" not in errors:
            errors["region"] = moving
        if errors:
            raise ValidationError(errors)

    def _deactivation_error(self) -> str:
        """A unit is deactivated once it is no longer in use: nobody could act on the open work orders it holds
        (dispatch and transfer refuse an inactive unit), its staff would sign in to a unit that is gone, and its
        routing rules would be passed over silently. Refused, naming what is left to hand over."""
        if self.pk is None or self.is_active:
            return ""
        if not OrgUnit.objects.filter(pk=self.pk, is_active=True).exists():
            return ""  # already inactive: nothing changes
        from loopdesk.routing.models import RoutingRule
        from loopdesk.tickets.models import Ticket

        tickets = Ticket.objects.filter(is_open=True, handler_unit_id=self.pk).count()
        staff = User.objects.filter(unit_id=self.pk, is_active=True).count()
        rules = RoutingRule.objects.filter(target_unit_id=self.pk, is_active=True).count()
        if not (tickets or staff or rules):
            return ""
        return _(
            "“%(unit)s” is still in use: open work orders with it: %(tickets)d; active staff in it: %(staff)d; "
            "active routing rules sending work to it: %(rules)d. Transfer the work orders, move the staff and "
            "point the rules elsewhere first, then deactivate it.") % {
            "unit": self.display_name(get_language()), "tickets": tickets, "staff": staff, "rules": rules}

    def _city_change_error(self) -> str:
        """A unit moved to another city (its region or province code changed, by hand or with a new parent) takes its
        rooms and staff there (`save`): the open work orders of the old city with it, its rooms or their staff, or
        registered there, would be seen and handled by another city's unit. Refused while there are any."""
        if self.pk is None:
            return ""
        before = OrgUnit.objects.filter(pk=self.pk).values_list("region", "province", "path").first()
        if before is None or before[:2] == (self.region, self.province):
            return ""
        from loopdesk.tickets.models import Ticket

        subtree = OrgUnit.objects.filter(path__startswith=before[2]).values("id")
        count = Ticket.objects.filter(is_open=True).filter(
            models.Q(handler_unit_id__in=subtree) | models.Q(first_responder_unit_id__in=subtree)
            | models.Q(handler_user__unit_id__in=subtree)).count()
        if not count:
            return ""
        return _(
            "“%(unit)s” cannot move to another city while %(count)d open work orders of %(region)s are with it, its "
            "rooms or their staff, or were registered there: close or transfer them first.") % {
            "unit": self.display_name(get_language()), "count": count, "region": before[0]}

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saved with its subtree's region and province: a department moved to another city takes its rooms."""
        with transaction.atomic():
            before = (OrgUnit.objects.filter(pk=self.pk).values_list("region", "province").first()
                      if self.pk is not None else None)
            super().save(*args, **kwargs)
            if before is not None and before != (self.region, self.province):
                (OrgUnit.objects.filter(path__startswith=self.path).exclude(pk=self.pk)
                 .update(region=self.region, province=self.province))


class StaffQuerySet(models.QuerySet["User"]):
    def update(self, **kwargs: Any) -> int:
        """A bulk change of unit or deactivation (a script, a shell, an admin action) hands back the work orders the
        staff held, as saving one does (`User.save`)."""
        if not {"unit", "unit_id", "is_active"} & set(kwargs):
            return super().update(**kwargs)
        with transaction.atomic():
            before = {pk: (unit_id, active) for pk, unit_id, active in self.values_list("pk", "unit_id", "is_active")}
            count = super().update(**kwargs)
            from loopdesk.tickets.services import release_held_tickets

            for user in User.objects.filter(pk__in=list(before)):
                if before[user.pk] != (user.unit_id, user.is_active):
                    release_held_tickets(user)
        return count


class StaffManager(UserManager["User"]):
    def get_queryset(self) -> StaffQuerySet:
        return StaffQuerySet(self.model, using=self._db)


class User(AbstractUser):
    """A member of staff. Belongs to one unit and holds one or more roles (Django groups named by role)."""

    objects = StaffManager()  # type: ignore[misc]

    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    employee_no = models.CharField(_("employee number"), max_length=32, blank=True)
    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True, help_text=_("Empty follows the browser."))

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saved with the work orders they hold: one who left (deactivated) or moved to another unit hands those of
        the unit they left back to its queue (`tickets.services.release_held_tickets`)."""
        fields = kwargs.get("update_fields")
        watched = self.pk is not None and (fields is None or {"unit", "unit_id", "is_active"} & set(fields))
        with transaction.atomic():
            before = (User.objects.filter(pk=self.pk).values_list("unit_id", "is_active").first()
                      if watched else None)
            super().save(*args, **kwargs)
            if before is not None and before != (self.unit_id, self.is_active):
                from loopdesk.tickets.services import release_held_tickets

                release_held_tickets(self)

    @cached_property
    def role_codes(self) -> frozenset[str]:
        return frozenset(self.groups.values_list("name", flat=True))

    def has_role(self, *roles: str) -> bool:
        if self.is_superuser and Role.ADMINISTRATOR in roles:
            return True
        return bool(self.role_codes.intersection(roles))

    @property
    def is_front_line(self) -> bool:
        return bool(self.role_codes & FRONT_LINE_ROLES)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="org.release_on_role_change")
def _release_on_role_change(sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None,
                            **kwargs: Any) -> None:
    """Roles taken away (a staff member's roles edited in the admin, a role's members removed, `groups.clear()`):
    the work orders they held that their remaining roles no longer let them handle go back to the unit's queue
    (`tickets.services.release_held_tickets`), as on a move or a departure."""
    if action == "pre_clear" and reverse:  # a role emptied: its members, before they are gone from the table
        instance.__dict__["_cleared_members"] = list(instance.user_set.values_list("pk", flat=True))
        return
    if action not in ("post_remove", "post_clear"):
        return
    from loopdesk.tickets.services import release_held_tickets

    if not reverse:
        users = [instance]
    else:  # from the role's side: the members removed
        pks = pk_set if action == "post_remove" else instance.__dict__.pop("_cleared_members", [])
        users = list(User.objects.filter(pk__in=pks or []))
    for user in users:
        user.__dict__.pop("role_codes", None)
        release_held_tickets(user)

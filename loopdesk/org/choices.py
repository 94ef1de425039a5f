"""Enumerations of the organisation: unit levels, unit functions, staff roles."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitLevel(models.TextChoices):
    HQ = "hq", _("Group HQ")
    PROVINCE = "province", _("Province company")
    CITY = "city", _("City company")
    CENTRE = "centre", _("Centre / branch / department")
    ROOM = "room", _("Room / team")


class UnitFunction(models.TextChoices):
    FRONT_LINE = "front_line", _("Front line")
    SECOND_LINE = "second_line", _("Second-line support")
    SPECIALIST = "specialist", _("Specialist department")
    MANAGEMENT = "management", _("Management")


class Role(models.TextChoices):
    HOTLINE_AGENT = "hotline_agent", _("Hotline agent")
    HALL_CLERK = "hall_clerk", _("Service hall clerk")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    DISPATCHER = "dispatcher", _("Second-line dispatcher")
    SPECIALIST = "specialist", _("Specialist handler")
    DEPARTMENT_HEAD = "department_head", _("Department head")
    SUPERVISOR = "supervisor", _("Service supervisor")
    ADMINISTRATOR = "administrator", _("Administrator")
    AUDITOR = "auditor", _("Auditor (read-only)")


FRONT_LINE_ROLES = frozenset({Role.HOTLINE_AGENT, Role.HALL_CLERK, Role.ACCOUNT_MANAGER})

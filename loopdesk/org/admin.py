"""Admin of the organisation: the unit tree and the staff with their roles."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import AuditedAdminMixin, ReadOnlyAdminMixin, indented_name, users_regions_q
from loopdesk.audit.services import record_audit
from loopdesk.org.choices import Role
from loopdesk.org.models import OrgUnit, User

admin.site.site_header = _("LoopDesk administration")
admin.site.site_title = _("LoopDesk administration")
admin.site.index_title = _("Reference data and staff")


@admin.register(OrgUnit)
class OrgUnitAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("tree_name", "code", "name_en", "level", "function", "region", "is_active")
    list_filter = ("level", "function", "region", "is_active")
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("parent",)
    ordering = ("path",)
    list_per_page = 200
    fields = ("code", "name", "name_en", "parent", "level", "function", "province", "region", "is_active", "path")
    readonly_fields = ("path",)

    @admin.display(description=_("name"), ordering="path")
    def tree_name(self, obj: OrgUnit) -> SafeString:
        return indented_name(obj, obj.name)


def role_label(group: Group) -> str:
    return str(Role(group.name).label) if group.name in Role.values else group.name


class RoleListFilter(admin.SimpleListFilter):
    """The staff by role, the roles named in the user's language (the group names are codes)."""

    title = _("roles")
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(role.value, role.label) for role in Role]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[User]) -> models.QuerySet[User]:
        return queryset.filter(groups__name=self.value()) if self.value() else queryset


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    list_display = ("username", "display_name", "employee_no", "unit", "roles", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", RoleListFilter, "unit__region")
    search_fields = ("username", "display_name", "employee_no", "first_name", "last_name", "email")
    list_select_related = ("unit",)
    autocomplete_fields = ("unit",)
    readonly_fields = ("last_login", "date_joined")  # written by logging in and by creating the user
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("LoopDesk"), {"fields": ("unit", "employee_no", "display_name", "language")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("LoopDesk"), {"fields": ("unit", "employee_no", "display_name", "language", "groups")}),
    )

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[User]:
        """The staff of the user's regions (a city's auditor: that city's; a province's: the province's; HQ and
        administrators all), as the customers and the audit log: a city's auditor read the names, e-mail addresses,
        units and roles of every region's staff here."""
        qs = super().get_queryset(request).prefetch_related("groups")
        return qs.filter(users_regions_q(request, prefix="unit__", keep_unplaced=False))

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the new password was saved
            record_audit(request.user, "admin.password", User.objects.get(pk=id))
        return response

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user_permissions":  # named in the user's language, as on the role page
            kwargs.setdefault("queryset", Permission.objects.select_related("content_type"))
            kwargs["form_class"] = PermissionChoiceField
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups" and field is not None:
            field.label = _("roles")
            field.help_text = _("Each group is a role; the role decides what the staff member may do.")
            field.label_from_instance = role_label  # the role's name in the user's language, not its code
        return field

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        labels = {role.value: str(role.label) for role in Role}
        return ", ".join(labels.get(group.name, group.name) for group in obj.groups.all())


# Django names permissions in English when it creates them ("Can add work order"); the admin shows them in the
# user's language from the model's translated name instead.
PERMISSION_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """"工单 | 工单 | 可以查看工单": the app, the model and the action, in the active language."""
    model = permission.content_type.model_class()
    if model is None:
        return str(permission)
    opts = model._meta
    action, _sep, rest = permission.codename.partition("_")
    template = PERMISSION_ACTIONS.get(action)
    if template is not None and rest == opts.model_name:
        name = template % {"model": opts.verbose_name}
    else:  # a permission of the model's own (Meta.permissions): its translated name, not the English one stored
        name = dict(opts.permissions).get(permission.codename, permission.name)
    return f"{opts.app_config.verbose_name} | {opts.verbose_name} | {name}"


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Permission) -> str:
        return permission_label(obj)


admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(AuditedAdminMixin, DjangoGroupAdmin):
    """The groups are the roles: shown with the role's name in the user's language besides the code."""

    list_display = ("name", "role")

    @admin.display(description=_("role"), ordering="name")
    def role(self, obj: Group) -> str:
        return role_label(obj) if obj.name in Role.values else ""

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permissions":
            kwargs.setdefault("queryset", Permission.objects.select_related("content_type"))
            kwargs["form_class"] = PermissionChoiceField
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(admin.ModelAdmin):
    """Failed sign-ins per user name and address (django-axes). Unlocking clears them; it is audited."""

    list_display = ("username", "ip_address", "failures_since_start", "attempt_time", "locked")
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    actions = ["unlock"]
    fields = ("username", "ip_address", "failures_since_start", "attempt_time", "user_agent", "path_info")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # unlocking is the one way to remove them, and it is audited
        return actions

    @admin.display(description=_("locked"), boolean=True)
    def locked(self, obj: AccessAttempt) -> bool:
        return obj.failures_since_start >= settings.AXES_FAILURE_LIMIT

    @admin.action(description=_("Unlock (clear the failed sign-ins)"), permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: models.QuerySet[AccessAttempt]) -> None:
        count = 0
        for attempt in queryset:
            record_audit(request.user, "signin.unlock", attempt,
                         data={"username": attempt.username, "ip_address": attempt.ip_address,
                               "failures": attempt.failures_since_start})
            attempt.delete()
            count += 1
        self.message_user(request, _("%(count)d unlocked.") % {"count": count}, messages.SUCCESS)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every sign-in and sign-out: who, when, from where (django-axes)."""

    list_display = ("username", "ip_address", "attempt_time", "logout_time")
    list_filter = ("attempt_time",)
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    fields = ("username", "ip_address", "attempt_time", "logout_time", "user_agent", "path_info")
    readonly_fields = fields

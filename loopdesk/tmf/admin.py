"""Admin for integrations: API tokens (the raw token is shown once), event subscriptions, delivery log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import AuditedAdminMixin
from loopdesk.audit.services import record_audit
from loopdesk.tmf import callbacks, mapping
from loopdesk.tmf.models import ApiToken, DeliveryLog, EventSubscription, SubscriptionKind


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "system", "user", "prefix", "can_write", "rate_per_minute", "is_active", "expires_at",
                    "last_used_at")
    list_filter = ("is_active", "can_write", "system")
    search_fields = ("name", "system", "prefix", "user__username")
    autocomplete_fields = ("user",)
    filter_horizontal = ("units",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
    actions = ["regenerate"]

    def save_model(self, request: Any, obj: ApiToken, form: Any, change: bool) -> None:
        raw = obj.set_new_key() if not change else None
        super().save_model(request, obj, form, change)
        if raw:
            messages.warning(request, _("The new API token, shown only this once: %(token)s") % {"token": raw})

    # A change: a read-only (view) user must not get a working token nor cut the integration off.
    @admin.action(description=_("Issue a new token (the old one stops working)"), permissions=["change"])
    def regenerate(self, request: Any, queryset: Any) -> None:
        for token in queryset:
            raw = token.set_new_key()
            token.save(update_fields=["prefix", "key_hash"])
            record_audit(request.user, "admin.token_reissued", token)
            messages.warning(request, _("New token for %(name)s, shown only this once: %(token)s")
                             % {"name": token.name, "token": raw})


class SubscriptionForm(forms.ModelForm):
    callback = forms.URLField(label=_("callback URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("event types"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(t, t) for t in mapping.EVENT_TYPES], help_text=_("None ticked: every event."),
    )

    class Meta:
        model = EventSubscription
        fields = ("kind", "name", "callback", "event_types", "owner", "secret", "is_active")

    def clean_callback(self) -> str:
        value = self.cleaned_data["callback"]
        reason = callbacks.refusal(value)
        if reason:
            raise forms.ValidationError(reason, code="forbidden_address")
        return value


@admin.register(EventSubscription)
class EventSubscriptionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("__str__", "kind", "callback", "owner", "is_active", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "callback")
    autocomplete_fields = ("owner",)
    readonly_fields = ("query", "filters", "token", "created_at")

    def get_readonly_fields(self, request: Any, obj: EventSubscription | None = None) -> Any:
        """A hub listener acts as the token that registered it: its kind and scope user follow the token (cleared,
        the scope user let it hear every region's work orders past the token's units)."""
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.kind == SubscriptionKind.HUB:
            fields += ("kind", "owner")
        return fields

    def get_fields(self, request: Any, obj: EventSubscription | None = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            # The signing key lets whoever holds it forge events the receiver trusts: not for a read-only viewer.
            fields = [name for name in fields if name != "secret"]
        return fields


@admin.register(DeliveryLog)
class DeliveryLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subscription", "event_type", "event_id", "url", "status_code", "ok", "short_error",
                    "duration_ms")
    list_filter = ("ok", "event_type", "subscription")  # one subscriber's attempts (several may share a URL)
    search_fields = ("event_id", "url")

    @admin.display(description=_("error"))
    def short_error(self, obj: DeliveryLog) -> str:
        """Why an attempt failed, in the list (a refused connection has no HTTP status to tell it)."""
        return obj.error if len(obj.error) <= 120 else obj.error[:119] + "…"
    date_hierarchy = "created_at"

    def get_queryset(self, request: Any) -> Any:
        """The attempts of the work orders the user may see (and those of none), as the outbox."""
        from loopdesk.outbox.admin import users_rows_q

        return super().get_queryset(request).filter(users_rows_q(request, has_region=False))

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

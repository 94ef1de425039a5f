"""The outbox in the admin: what is waiting, what failed and why; dead messages can be retried."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "channel", "topic", "status", "attempts", "not_before", "created_at", "delivered_at")
    list_filter = ("status", "channel")
    search_fields = ("dedupe_key", "topic")
    ordering = ("-id",)
    actions = ["retry"]
    # Payloads hold customers' numbers: the admin shows but never edits them.
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    # Sends again (SMS to customers, events to subscribers): not for a read-only (view) user.
    @admin.action(description=_("Retry the selected dead messages"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = worker.retry_dead(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(count)d messages will be retried.") % {"count": count}, messages.SUCCESS)

"""The outbox in the admin: what is waiting, what failed and why; dead messages can be retried."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from loopdesk.audit.admin import may_reveal_customers, users_regions_q
from loopdesk.core.text import hide_survey_tokens, mask_msisdn
from loopdesk.notify.models import MessageKind
from loopdesk.outbox import worker
from loopdesk.outbox.models import OutboxMessage

# The deliverers by name (the stored channel is a code); a TMF event's topic is its standard event type, an SMS's the
# kind of message, named as on the SMS templates page.
CHANNEL_NAMES = {"sms": _("SMS"), "tmf_event": _("TMF621 event")}


def users_rows_q(request: HttpRequest, *, has_region: bool = True) -> Q:
    """The outbox-like rows (`ticket_id`, `region`) this user may read in the admin: those of the work orders the user
    may see, and of no work order those of the user's regions (or of none; all of them without `has_region`);
    everything for HQ and administrators.
    Payloads carry SMS texts and whole tickets (descriptions, notes): a city's auditor read every region's."""
    from loopdesk.org.models import OrgUnit
    from loopdesk.tickets.policy import visible_tickets

    visible = visible_tickets(request.user)
    regions_q = users_regions_q(request, keep_unplaced=False)
    if not visible.query.where and not regions_q:
        return Q()
    regions = OrgUnit.objects.filter(regions_q).values("region") if regions_q else None
    no_ticket = Q(ticket_id__isnull=True)
    if has_region and regions is not None:
        no_ticket &= Q(region="") | Q(region__in=regions)
    return no_ticket | Q(ticket_id__in=visible.values("pk"))


def _masked(text: str, target: str) -> str:
    """`text` with the customer's number (an SMS row's target) masked wherever it appears (138****5678)."""
    if len(target) == 11 and target.isdigit():
        return text.replace(target, mask_msisdn(target))
    return text


class ChannelFilter(admin.SimpleListFilter):
    """The channels by name (the known ones: no DISTINCT over the whole outbox)."""

    title = _("channel")
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(CHANNEL_NAMES.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(channel=self.value()) if self.value() else queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "channel_shown", "topic_shown", "status", "attempts", "not_before", "created_at",
                    "delivered_at")
    list_filter = ("status", ChannelFilter)
    search_fields = ("dedupe_key", "topic")
    ordering = ("-id",)
    actions = ["retry"]
    # Payloads hold customers' numbers: the admin shows but never edits them, and shows them in full only to staff
    # who may reveal a customer's number (as the customer admin); an auditor sees them masked.
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxMessage]:
        return super().get_queryset(request).filter(users_rows_q(request))

    # A survey SMS's link token (the customer's credential to rate) is hidden from everyone, revealers too.
    def get_fields(self, request: HttpRequest, obj: OutboxMessage | None = None) -> Any:
        fields = [name for name in super().get_fields(request, obj) if name not in (
            "masked_target", "masked_payload", "shown_payload", "channel_shown", "topic_shown")]
        masked = {"payload": "shown_payload", "channel": "channel_shown", "topic": "topic_shown"}
        if not may_reveal_customers(request):
            masked = {**masked, "target": "masked_target", "payload": "masked_payload"}
        return [masked.get(name, name) for name in fields]

    def get_readonly_fields(self, request: HttpRequest, obj: OutboxMessage | None = None) -> Any:
        readonly = [*super().get_readonly_fields(request, obj), "channel_shown", "topic_shown"]
        return [*readonly, "shown_payload"] if may_reveal_customers(request) else [*readonly, "masked_target",
                                                                                   "masked_payload"]

    @admin.display(description=_("channel"), ordering="channel")
    def channel_shown(self, obj: OutboxMessage) -> str:
        return str(CHANNEL_NAMES.get(obj.channel, obj.channel))

    @admin.display(description=_("topic"), ordering="topic")
    def topic_shown(self, obj: OutboxMessage) -> str:
        if obj.channel == "sms" and obj.topic in MessageKind.values:
            return str(MessageKind(obj.topic).label)
        return obj.topic

    @admin.display(description=_("target"))
    def masked_target(self, obj: OutboxMessage) -> str:
        return _masked(obj.target, obj.target)

    @admin.display(description=_("payload"))
    def masked_payload(self, obj: OutboxMessage) -> str:
        return hide_survey_tokens(_masked(json.dumps(obj.payload, ensure_ascii=False), obj.target))

    @admin.display(description=_("payload"))
    def shown_payload(self, obj: OutboxMessage) -> str:
        return hide_survey_tokens(json.dumps(obj.payload, ensure_ascii=False))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    # Sends again (SMS to customers, events to subscribers): not for a read-only (view) user.
    @admin.action(description=_("Retry the selected dead messages"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = worker.retry_dead(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(count)d messages will be retried.") % {"count": count}, messages.SUCCESS)

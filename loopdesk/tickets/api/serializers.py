"""Serializers of our own work-order API. Reading only: every write goes through a service."""

from __future__ import annotations

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from django.http import QueryDict
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loopdesk.customers.models import Customer
from loopdesk.org.models import OrgUnit, User
from loopdesk.tickets.choices import Action, CallbackVerdict, Channel, ContactType, Priority, Status
from loopdesk.tickets.models import Attachment, Category, Ticket, TicketEvent
from loopdesk.tickets.policy import allowed_actions, visible_among
from loopdesk.tickets.services import MAX_DESCRIPTION, MAX_NOTE, MAX_TITLE


def _wrong_json_type(field: serializers.Field, value: Any) -> str:
    """The error of an attribute given a JSON value of the wrong type; "" when of the right type (or null):
    - a text field (or a dictionary of texts) given a number or a boolean: 42 or true for a description, a reason or
      a number were stored as "42" / "True" (DRF's CharField turns numbers and booleans into text);
    - a boolean field given something else than true or false: "yes", 1 or "0" for dispatch were read as the truth;
    - an integer field (or an id) given something else than a JSON integer: "1" for a version, "5" for a category or
      2.0 were read as the number (DRF reads text and whole decimals)."""
    if value is None:
        return ""
    not_text = str(serializers.CharField.default_error_messages["invalid"])
    if isinstance(field, serializers.DictField) and isinstance(field.child, serializers.CharField):
        return not_text if isinstance(value, dict) and any(not isinstance(v, str) for v in value.values()) else ""
    if isinstance(field, serializers.CharField):
        return "" if isinstance(value, str) else not_text
    if isinstance(field, serializers.BooleanField):
        return "" if isinstance(value, bool) else str(field.error_messages["invalid"])
    if isinstance(value, int) and not isinstance(value, bool):
        return ""
    if isinstance(field, serializers.IntegerField):
        return str(field.error_messages["invalid"])
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        return str(field.error_messages["incorrect_type"]).format(data_type=type(value).__name__)
    return ""


class StrictInputSerializer(serializers.Serializer):
    """Input: an attribute the endpoint does not know is a 400 naming it, not silently dropped; a text attribute
    given a number or a boolean is a 400 naming it, not turned into text; in a JSON body, an integer attribute or an
    id given text, a boolean or a decimal is a 400 naming it (a form or a query string has only text: read as
    DRF does)."""

    reads_text_only = False  # True for a query string's serializer: its values are text, whatever they stand for

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown field.")] for key in unknown})
            # A form or a query string has only text (whatever it stands for): read as DRF reads it.
            if not self.reads_text_only and not isinstance(data, QueryDict):
                wrong = {key: [error] for key, value in data.items()
                         if (error := _wrong_json_type(self.fields[key], value))}
                if wrong:
                    raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


class UnitRefSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = OrgUnit
        fields = ("id", "code", "name")

    def get_name(self, unit: OrgUnit) -> str:
        return unit.display_name(get_language())


class UnitSerializer(UnitRefSerializer):
    class Meta:
        model = OrgUnit
        fields = ("id", "code", "name", "parent", "level", "function", "province", "region", "depth", "is_active")


class CategoryRefSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ("id", "code", "name")

    def get_name(self, category: Category) -> str:
        return category.display_name(get_language())


class CategorySerializer(CategoryRefSerializer):
    class Meta:
        model = Category
        fields = ("id", "code", "name", "name_en", "parent", "depth", "position", "is_active")


class UserRefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "name")


class MaskedCustomerSerializer(serializers.ModelSerializer):
    """The customer as every role sees it: number and name masked (the full ones only by audited reveal)."""

    msisdn = serializers.CharField(source="masked_msisdn", read_only=True)
    name = serializers.CharField(source="masked_name", read_only=True)
    tier = serializers.CharField(read_only=True)

    class Meta:
        model = Customer
        fields = ("id", "msisdn", "name", "brand", "vip_level", "tier", "province", "region", "home_branch")


class TicketListSerializer(serializers.ModelSerializer):
    category = CategoryRefSerializer(read_only=True)
    customer = MaskedCustomerSerializer(read_only=True)
    handler_unit = UnitRefSerializer(read_only=True)
    handler_user = UserRefSerializer(read_only=True, allow_null=True)  # none until someone accepts it
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Ticket
        fields = ("id", "number", "status", "status_label", "contact_type", "channel", "priority", "title",
                  "category", "customer", "tier", "region", "handler_unit", "handler_user", "due_at", "committed_at",
                  "is_open", "is_overtime", "is_problem", "is_repeat", "created_at", "updated_at", "version")


class TimelineEventSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True, allow_null=True)  # none: the system (SLA sweeps, customer SMS)
    to_unit = UnitRefSerializer(read_only=True, allow_null=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = TicketEvent
        fields = ("seq", "kind", "kind_label", "actor", "from_status", "to_status", "to_unit", "note", "visibility",
                  "created_at")


class TicketAttachmentSerializer(serializers.ModelSerializer):
    """A file of the work order, as its page lists it; `download` gives the file (same scope as the detail)."""

    uploaded_by = UserRefSerializer(read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ("id", "filename", "size", "content_type", "visibility", "uploaded_by", "created_at", "download")

    def get_download(self, attachment: Attachment) -> str:
        return f"/api/tickets/{attachment.ticket_id}/attachments/{attachment.pk}/"


class TicketDetailSerializer(TicketListSerializer):
    first_responder = UserRefSerializer(read_only=True)
    first_responder_unit = UnitRefSerializer(read_only=True)
    allowed_actions = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    external_ids = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta(TicketListSerializer.Meta):
        fields = (*TicketListSerializer.Meta.fields, "description", "resolution", "answer", "callback_verdict",
                  "first_responder", "first_responder_unit", "requested_resolution_at", "first_response_due_at",
                  "hop_due_at", "resolution_due_at", "sla_paused", "replied_at", "answered_at", "closed_at",
                  "reopen_count", "dispatch_count", "return_count", "parent", "reject_reason", "duplicate_of",
                  "external_ids", "allowed_actions", "timeline", "attachments")

    def to_representation(self, instance: Ticket) -> dict[str, Any]:
        """A parent or original (duplicate of) the caller may not see is null: not named outside their scope."""
        data = super().to_representation(instance)
        linked = {key: data[key] for key in ("parent", "duplicate_of") if data.get(key)}
        if linked:
            seen, _numbers = visible_among(self.context["request"].user, ids=linked.values())
            data.update({key: None for key, pk in linked.items() if pk not in seen})
        return data

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Action.choices)))
    def get_allowed_actions(self, ticket: Ticket) -> list[str]:
        return allowed_actions(self.context["request"].user, ticket)

    @extend_schema_field(TimelineEventSerializer(many=True))
    def get_timeline(self, ticket: Ticket) -> list[dict[str, Any]]:
        from loopdesk.followup.services import escalation_notes
        from loopdesk.tickets.services import system_notes

        events = list(ticket.events.select_related("actor", "to_unit").order_by("seq"))
        escalation_notes(events)  # stored in the language they were made in: given in the caller's
        system_notes(events)
        return TimelineEventSerializer(events, many=True).data

    def get_external_ids(self, ticket: Ticket) -> dict[str, str]:
        return {ref.system: ref.external_id for ref in ticket.external_refs.all()}

    @extend_schema_field(TicketAttachmentSerializer(many=True))
    def get_attachments(self, ticket: Ticket) -> list[dict[str, Any]]:
        return TicketAttachmentSerializer(ticket.attachments.select_related("uploaded_by").order_by("created_at", "pk"),
                                    many=True).data


CATEGORY_ERRORS = {
    "does_not_exist": _("No active category has the id {pk_value}; the categories and their ids are listed at "
                        "/api/categories/."),
    "incorrect_type": _("Give the category's numeric id (listed at /api/categories/)."),
}
UNIT_ERRORS = {
    "does_not_exist": _("No active unit has the id {pk_value}; the units and their ids are listed at /api/units/."),
    "incorrect_type": _("Give the unit's numeric id (listed at /api/units/)."),
}
USER_ERRORS = {
    "does_not_exist": _("No active staff member has the id {pk_value}."),
    "incorrect_type": _("Give the staff member's numeric id."),
}


MAX_EXTERNAL_REFS = 10


class TicketCreateSerializer(StrictInputSerializer):
    """Register (受理) a contact. The customer is named by MSISDN; an unknown caller gets a minimal record."""

    msisdn = serializers.CharField(max_length=32)
    contact_type = serializers.ChoiceField(choices=ContactType.choices)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.filter(is_active=True),
                                                  error_messages=CATEGORY_ERRORS)
    channel = serializers.ChoiceField(choices=Channel.choices)
    description = serializers.CharField(max_length=MAX_DESCRIPTION)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    title = serializers.CharField(max_length=MAX_TITLE, required=False, allow_blank=True, default="")
    committed_at = serializers.DateTimeField(required=False, allow_null=True)
    requested_resolution_at = serializers.DateTimeField(required=False, allow_null=True)
    external_refs = serializers.DictField(child=serializers.CharField(max_length=64), required=False)
    dispatch = serializers.BooleanField(default=False)
    dispatch_to = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.filter(is_active=True), required=False,
                                                     allow_null=True, error_messages=UNIT_ERRORS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("dispatch_to") is not None and not attrs.get("dispatch"):
            # Without dispatch the unit was dropped: the ticket stayed registered, with nobody working on it.
            raise serializers.ValidationError({"dispatch_to": [_(
                "A unit to dispatch to goes with dispatch: true (or leave it out to only register).")]})
        return attrs

    def validate_external_refs(self, value: dict[str, str]) -> dict[str, str]:
        # The values are checked by the child field; the keys (system codes) too: PostgreSQL refuses NUL (a 500).
        if any("\x00" in system for system in value):
            raise serializers.ValidationError(ProhibitNullCharactersValidator.message)
        if len(value) > MAX_EXTERNAL_REFS:  # each is a query and a row, and is in every read and event of the ticket
            raise serializers.ValidationError(_("At most %(limit)d external ids (one per system).")
                                              % {"limit": MAX_EXTERNAL_REFS})
        return value


class ActionSerializer(StrictInputSerializer):
    """One action of the closed loop. `version` is the one you read: 409 if someone changed the ticket since.
    Which other fields an action uses: see docs/api.md (e.g. transfer: to_unit and note; reply: resolution)."""

    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True)
    question = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True)
    info = serializers.CharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True)
    resolution = serializers.CharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True)
    answer = serializers.CharField(max_length=MAX_DESCRIPTION, required=False, allow_blank=True)
    verdict = serializers.ChoiceField(choices=CallbackVerdict.choices, required=False)
    to_unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False, allow_null=True,
                                                 error_messages=UNIT_ERRORS)
    to_user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), required=False,
                                                 allow_null=True, error_messages=USER_ERRORS)
    duplicate_of = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class RoutePreviewQuerySerializer(StrictInputSerializer):
    reads_text_only = True

    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.filter(is_active=True),
                                                  error_messages=CATEGORY_ERRORS)
    contact_type = serializers.ChoiceField(choices=ContactType.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    tier = serializers.ChoiceField(choices=[("regular", "regular"), ("vip", "vip")], default="regular")
    region = serializers.CharField(max_length=8, required=False)
    branch = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False, allow_null=True,
                                                error_messages=UNIT_ERRORS)

    def validate_region(self, value: str) -> str:
        """A region code in any case ('jm' is JM: the rules compare codes exactly); one no unit has is refused
        (the preview would say no rule matched and no second-line room takes it)."""
        region = value.strip().upper()
        if region and not OrgUnit.objects.filter(region=region).exists():
            raise serializers.ValidationError(_("No unit has region code %(region)s.") % {"region": region})
        return region


class RouteDecisionSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField(allow_null=True)
    unit = serializers.CharField(allow_null=True)
    rule_id = serializers.IntegerField(allow_null=True)
    rule = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


STATUS_CHOICES = Status.choices

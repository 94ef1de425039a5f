"""TMF621 v4 request and response shapes (validation and the OpenAPI description).

Input serializers are strict: an attribute the spec does not define, or one LoopDesk sets itself, is a
400 naming the attribute, never silently dropped.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from loopdesk.tickets.services import MAX_DESCRIPTION, MAX_NOTE, MAX_TITLE
from loopdesk.tmf import callbacks, mapping
from loopdesk.tmf.models import HTTP_URL

META_FIELDS = ("@type", "@baseType", "@schemaLocation")


class StrictCharField(serializers.CharField):
    """A string, and only a string: 123 or true are type errors, not silently turned into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """Refuses attributes it does not know; `@type`, `@baseType`, `@schemaLocation` are always accepted."""

    extra_fields: tuple[str, ...] = META_FIELDS
    read_only_attributes: tuple[str, ...] = ()
    fixed_attributes: tuple[str, ...] = ()  # attributes of the resource that this operation cannot change

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name in self.extra_fields:
            fields.setdefault(name, StrictCharField(required=False, allow_blank=True, max_length=255))
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors: dict[str, list[str]] = {}
            for key in data:
                if key in self.read_only_attributes:
                    errors[key] = [str(_("This attribute is set by LoopDesk and cannot be sent."))]
                elif key in self.fixed_attributes:
                    errors[key] = [str(_("This attribute is fixed when the trouble ticket is registered."))]
                elif key not in self.fields:
                    errors[key] = [str(_("Unknown attribute."))]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class RefSerializer(StrictSerializer):
    extra_fields = (*META_FIELDS, "@referredType")
    id = StrictCharField(max_length=64)
    href = StrictCharField(required=False, max_length=500)
    name = StrictCharField(required=False, allow_blank=True, max_length=200)


class ChannelRefSerializer(RefSerializer):
    pass


class RelatedPartySerializer(RefSerializer):
    role = StrictCharField(required=False, max_length=64)


class RelatedEntitySerializer(RefSerializer):
    role = StrictCharField(max_length=64)


class NoteSerializer(StrictSerializer):
    id = StrictCharField(required=False, max_length=64)
    author = StrictCharField(required=False, allow_blank=True, max_length=100)
    date = serializers.DateTimeField(required=False)
    text = StrictCharField(max_length=MAX_DESCRIPTION)


class QuantitySerializer(StrictSerializer):
    extra_fields = ()
    amount = serializers.FloatField(required=False)
    units = StrictCharField(required=False, max_length=32)


class AttachmentSerializer(StrictSerializer):
    extra_fields = (*META_FIELDS, "@referredType")
    id = StrictCharField(required=False, max_length=64)
    href = StrictCharField(required=False, max_length=500)
    attachmentType = StrictCharField(required=False, max_length=64)
    content = StrictCharField(required=False, help_text="base64")
    description = StrictCharField(required=False, allow_blank=True, max_length=MAX_NOTE)
    mimeType = StrictCharField(required=False, max_length=100)
    name = StrictCharField(required=False, max_length=200)
    url = StrictCharField(required=False, max_length=500)
    size = QuantitySerializer(required=False)

    def validate_name(self, value: str) -> str:
        """The file's name: what follows the last / or \\ (a path's folders are dropped); ".", ".." or a path
        ending in a separator name no file (the storage refused them: an HTML 400 outside the TMF Error shape)."""
        if value.replace("\\", "/").rsplit("/", 1)[-1].strip() in ("", ".", ".."):
            raise serializers.ValidationError(_("Give the file's name (e.g. photo.jpg), not a folder or a path."))
        return value


class RelationshipSerializer(StrictSerializer):
    id = StrictCharField(max_length=64)
    href = StrictCharField(required=False, max_length=500)
    name = StrictCharField(required=False, allow_blank=True, max_length=200)
    relationshipType = StrictCharField(max_length=32)


class CharacteristicSerializer(serializers.Serializer):
    name = StrictCharField()
    valueType = StrictCharField()
    value = serializers.JSONField()


class StatusChangeSerializer(serializers.Serializer):
    changeDate = serializers.DateTimeField()
    changeReason = StrictCharField()
    status = serializers.ChoiceField(choices=mapping.TMF_STATUSES)


def _text(limit: int, **kwargs: Any) -> serializers.CharField:
    return StrictCharField(max_length=limit, **kwargs)


class TroubleTicketCreateSerializer(StrictSerializer):
    """TroubleTicket_Create. Required by the spec: description, severity, ticketType; required by LoopDesk:
    the customer (relatedParty role=customer, id = MSISDN) and the category (relatedEntity role=category)."""

    read_only_attributes = ("id", "href", "creationDate", "lastUpdate", "statusChange", "statusChangeDate",
                            "resolutionDate", "characteristic")
    description = _text(MAX_DESCRIPTION)
    severity = StrictCharField(max_length=32)
    ticketType = StrictCharField(max_length=32)
    name = _text(MAX_TITLE, required=False, allow_blank=True)
    priority = StrictCharField(required=False, max_length=32)
    status = serializers.ChoiceField(choices=mapping.TMF_STATUSES, required=False)
    statusChangeReason = _text(MAX_NOTE, required=False, allow_blank=True)
    externalId = StrictCharField(required=False, max_length=64)
    expectedResolutionDate = serializers.DateTimeField(required=False)
    requestedResolutionDate = serializers.DateTimeField(required=False)
    channel = ChannelRefSerializer(required=False)
    # Bounded as the other arrays: 100,000 parties in a 3 MB body took seconds and answered 26 MB of errors.
    relatedParty = RelatedPartySerializer(many=True, allow_empty=False, max_length=10)
    relatedEntity = RelatedEntitySerializer(many=True, allow_empty=False, max_length=10)
    note = NoteSerializer(many=True, required=False, max_length=20)
    attachment = AttachmentSerializer(many=True, required=False, max_length=5)
    troubleTicketRelationship = RelationshipSerializer(many=True, required=False, max_length=20)


class TroubleTicketUpdateSerializer(StrictSerializer):
    """TroubleTicket_Update (JSON merge patch). See docs/tmf621.md for what each attribute does."""

    read_only_attributes = ("id", "href", "creationDate", "lastUpdate", "statusChange", "statusChangeDate",
                            "resolutionDate", "characteristic")
    # The customer and the category (the handlers change by dispatch and transfer, not by PATCH).
    fixed_attributes = ("relatedParty", "relatedEntity")
    status = serializers.ChoiceField(choices=mapping.TMF_STATUSES, required=False)
    statusChangeReason = _text(MAX_DESCRIPTION, required=False, allow_blank=True)
    note = NoteSerializer(many=True, required=False, max_length=50)
    attachment = AttachmentSerializer(many=True, required=False, max_length=5)
    troubleTicketRelationship = RelationshipSerializer(many=True, required=False, max_length=20)
    expectedResolutionDate = serializers.DateTimeField(required=False)
    # null as GET shows a ticket without one (merge patch: remove it; sent back unchanged, nothing to do).
    externalId = StrictCharField(required=False, allow_null=True, max_length=64)
    # Fixed at registration: accepted only with the value the ticket already has.
    description = _text(MAX_DESCRIPTION, required=False)
    name = _text(MAX_TITLE, required=False, allow_blank=True)
    severity = StrictCharField(required=False, max_length=32)
    priority = StrictCharField(required=False, max_length=32)
    ticketType = StrictCharField(required=False, max_length=32)
    channel = ChannelRefSerializer(required=False)
    requestedResolutionDate = serializers.DateTimeField(required=False, allow_null=True)


def _parts_optional(field: serializers.Field) -> None:
    """fields=relatedParty.name selects inside a structured attribute: its other parts may be left out too (the
    response's parts only; the request components are separate, COMPONENT_SPLIT_REQUEST)."""
    inner = field.child if isinstance(field, serializers.ListSerializer) else field
    if isinstance(inner, serializers.Serializer):
        for part in inner.fields.values():
            part.required = False
            _parts_optional(part)


class TroubleTicketSerializer(serializers.Serializer):
    """The TroubleTicket resource as LoopDesk returns it (documentation of the response). Every attribute is there
    unless `fields=` selects some: then only id, href and those (the only ones the schema requires)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name, field in fields.items():
            field.required = name in ("id", "href")
            _parts_optional(field)
        return fields

    id = StrictCharField()
    href = StrictCharField()
    name = StrictCharField()
    description = StrictCharField()
    creationDate = serializers.DateTimeField()
    lastUpdate = serializers.DateTimeField()
    expectedResolutionDate = serializers.DateTimeField()
    requestedResolutionDate = serializers.DateTimeField(allow_null=True)
    resolutionDate = serializers.DateTimeField(allow_null=True)
    severity = StrictCharField()
    priority = StrictCharField()
    ticketType = StrictCharField()
    status = serializers.ChoiceField(choices=mapping.TMF_STATUSES)
    statusChangeDate = serializers.DateTimeField()
    statusChangeReason = StrictCharField()
    statusChange = StatusChangeSerializer(many=True)
    externalId = StrictCharField(allow_null=True)
    channel = ChannelRefSerializer()
    relatedParty = RelatedPartySerializer(many=True)
    relatedEntity = RelatedEntitySerializer(many=True)
    note = NoteSerializer(many=True)
    attachment = AttachmentSerializer(many=True)
    troubleTicketRelationship = RelationshipSerializer(many=True)
    characteristic = CharacteristicSerializer(many=True, help_text="LoopDesk extension (as in TMF621 v5).")


class EventSubscriptionInputSerializer(StrictSerializer):
    extra_fields = ()
    callback = serializers.URLField(max_length=500, validators=[HTTP_URL])
    query = StrictCharField(required=False, allow_blank=True, max_length=500)

    def validate_callback(self, value: str) -> str:
        reason = callbacks.refusal(value)
        if reason:
            raise serializers.ValidationError(reason)
        return value


class EventSubscriptionSerializer(serializers.Serializer):
    id = StrictCharField()
    callback = StrictCharField()
    query = StrictCharField(allow_blank=True)
    secret = StrictCharField(help_text="LoopDesk extension: key of the X-LoopDesk-Signature-256 HMAC.")


class ErrorSerializer(serializers.Serializer):
    code = StrictCharField()
    reason = StrictCharField()
    message = StrictCharField(required=False)
    status = StrictCharField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=StrictCharField()), required=False)

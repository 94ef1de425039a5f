"""Integration with other systems: API tokens, event subscriptions (TMF hub and admin webhooks), delivery log."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "ld_"  # noqa: S105 - a marker, not a secret
HTTP_URL = URLValidator(schemes=["http", "https"])


def hash_token(raw: str) -> str:
    """SHA-256 of the whole token. Tokens carry 256 random bits, so a fast hash is enough (and keeps
    authentication cheap per request); the raw token is never stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A credential issued to one integration (CRM, OSS, billing, HQ).

    Requests made with it act as `user`, a service account, so the same policy scoping applies as for
    staff (`loopdesk.tickets.policy.visible_tickets`); `units`, when set, narrows the scope further to
    tickets taken or handled in those units' subtrees. Only a hash of the token is stored.
    """

    name = models.CharField(_("name"), max_length=100)
    system = models.CharField(
        _("system code"), max_length=32,
        help_text=_("Names the other system; a TMF externalId sent with this token is stored under it."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("service user"), on_delete=models.PROTECT, related_name="api_tokens",
        help_text=_("Requests act as this user: its roles and unit decide what the token may see and do."),
    )
    units = models.ManyToManyField(
        "org.OrgUnit", verbose_name=_("limited to units"), blank=True, related_name="+",
        help_text=_("Empty: everything the service user may see."),
    )
    can_write = models.BooleanField(_("may write"), default=False)
    prefix = models.CharField(_("token prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("token hash"), max_length=64, editable=False)
    rate_per_minute = models.PositiveIntegerField(
        _("requests per minute"), null=True, blank=True, help_text=_("Empty: the deployment default.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def clean(self) -> None:
        # 0 read as "no rate of its own" (the deployment default, 600/min by default): refused, not silently that.
        if self.rate_per_minute == 0:
            raise ValidationError({"rate_per_minute": _(
                "At least 1 request per minute; leave it empty for the deployment default.")})

    def set_new_key(self) -> str:
        """Generate a fresh token, store its prefix and hash, and return the raw token (shown once)."""
        prefix = secrets.token_hex(4)
        raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        self.prefix = prefix
        self.key_hash = hash_token(raw)
        return raw

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_token(raw))


class SubscriptionKind(models.TextChoices):
    HUB = "hub", _("TMF hub listener")
    WEBHOOK = "webhook", _("Webhook (admin)")


class EventSubscription(models.Model):
    """Where to send TMF621 events: registered by an integration through `POST /hub`, or set up in the admin.

    Both kinds are delivered the same way (outbox → deliverer, signed with `secret`). `owner` limits the
    events to tickets that user may see, so a token never hears about tickets outside its scope.
    """

    kind = models.CharField(_("kind"), max_length=8, choices=SubscriptionKind.choices, default=SubscriptionKind.WEBHOOK)
    name = models.CharField(_("name"), max_length=100, blank=True)
    callback = models.URLField(_("callback URL"), max_length=500, validators=[HTTP_URL])
    query = models.CharField(
        _("query"), max_length=500, blank=True,
        help_text=_("TMF filter, e.g. eventType=TroubleTicketStatusChangeEvent,TroubleTicketResolvedEvent"),
    )
    event_types = models.JSONField(_("event types"), default=list, blank=True, help_text=_("Empty: every event."))
    filters = models.JSONField(_("attribute filters"), default=dict, blank=True)
    secret = models.CharField(
        _("signing secret"), max_length=128, blank=True,
        help_text=_("Key of the HMAC-SHA256 signature of every delivery; generated when left empty."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("scope user"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("Only tickets this user may see are sent. Empty: every ticket."),
    )
    token = models.ForeignKey(
        ApiToken, verbose_name=_("registered with token"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="subscriptions",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("event subscription")
        verbose_name_plural = _("event subscriptions")
        indexes = [models.Index(fields=["is_active"], name="tmf_sub_active")]

    def __str__(self) -> str:
        return self.name or self.callback

    def is_authorised(self, now: datetime.datetime | None = None) -> bool:
        """May events still go to this subscription? A hub listener acts with the token that registered it: once
        that token is revoked, expired or deleted (its unit limits gone with it), or the service user disabled,
        it hears nothing more. An admin webhook is governed by `is_active` and its scope user alone."""
        if not self.is_active:
            return False
        if self.owner_id is not None and not self.owner.is_active:
            return False
        token = self.token
        if self.kind != SubscriptionKind.HUB or token is None:
            return True  # a webhook, or a listener a signed-in user registered (a deleted token deactivates its own)
        now = now or timezone.now()
        return token.is_active and (token.expires_at is None or token.expires_at > now)

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.secret:
            self.secret = secrets.token_urlsafe(32)
        super().save(*args, **kwargs)  # type: ignore[arg-type]


@receiver(pre_delete, sender=ApiToken)
def _deactivate_listeners_of_deleted_token(sender: type, instance: ApiToken, **kwargs: object) -> None:
    """A listener lives only as long as the token that registered it: without it (`token` set to NULL), it would
    hear about everything its service user may see, beyond the token's units."""
    EventSubscription.objects.filter(token=instance, kind=SubscriptionKind.HUB).update(is_active=False)


@receiver(post_save, sender=ApiToken)
def _listeners_follow_their_tokens_user(sender: type, instance: ApiToken, **kwargs: object) -> None:
    """A hub listener acts as its token: when an administrator points the token at another service user, its
    listeners hear what that user (within the token's units) may see, and the integration may still unregister
    them. Left with the former user, they kept hearing about that user's region and answered DELETE with 403."""
    EventSubscription.objects.filter(token=instance, kind=SubscriptionKind.HUB).exclude(owner=instance.user_id).update(
        owner=instance.user_id)


class DeliveryLog(models.Model):
    """One attempt to deliver one event to one subscriber: what was sent, what came back."""

    subscription = models.ForeignKey(
        EventSubscription, verbose_name=_("subscription"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    outbox_message_id = models.BigIntegerField(_("outbox message"), null=True, db_index=True)
    event_id = models.CharField(_("event id"), max_length=100)
    event_type = models.CharField(_("event type"), max_length=64)
    ticket_id = models.BigIntegerField(_("work order id"), null=True, blank=True)
    url = models.CharField(_("URL"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    ok = models.BooleanField(_("delivered"), default=False)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    created_at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("delivery log entry")
        verbose_name_plural = _("delivery log")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.url}"


def purge_delivery_log(delivered_before: datetime.datetime, dead_before: datetime.datetime) -> int:
    """The delivery log past its retention (registered with the outbox's purge): acknowledged attempts after the
    delivered rows' retention, failed ones after the given-up rows' (they explain what went wrong)."""
    from loopdesk.outbox.services import delete_in_chunks

    return (delete_in_chunks(DeliveryLog.objects.filter(ok=True, created_at__lt=delivered_before))
            + delete_in_chunks(DeliveryLog.objects.filter(ok=False, created_at__lt=dead_before)))

"""Work orders (工单), their timeline, links, attachments and external ids.

Nothing outside `loopdesk.tickets.services` saves a Ticket or writes its timeline.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loopdesk.core.db import index_where_set
from loopdesk.core.names import EnglishNamed
from loopdesk.core.tree import TreeNode
from loopdesk.customers.choices import Tier
from loopdesk.tickets.choices import (
    CallbackVerdict,
    Channel,
    ContactType,
    EventKind,
    LinkKind,
    Priority,
    RejectReason,
    Status,
    Visibility,
)

log = logging.getLogger(__name__)
# An attachment whose record exists but whose file the storage has lost (deleted, volume not mounted).
MISSING_FILE = _("The file %(name)s is missing from storage and cannot be downloaded; the failure has been logged "
                 "for operations.")


class Category(EnglishNamed, TreeNode):
    """A node of the multi-level complaint category tree (投诉类目), e.g. 基础通信 › 信号覆盖 › 室内无信号."""

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    keywords = models.CharField(_("search keywords"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Moving a category under another top category moves its work orders with it: their stored top
        category (`Ticket.category_root`, used by repeat detection, queues and KPIs) follows, in the same
        transaction, and the KPI rollups are told which tickets changed (`tickets_recategorised`)."""
        with transaction.atomic():
            old_path = "" if self.pk is None else (
                Category.objects.filter(pk=self.pk).values_list("path", flat=True).first() or "")
            super().save(*args, **kwargs)
            if old_path and old_path.split("/")[1] != self.path.split("/")[1]:
                retarget_top_category(self)


def retarget_top_category(category: Category) -> list[int]:
    """Give the work orders of `category`'s subtree the top category of its current place in the tree.
    Returns the ids of the tickets changed (and sends `tickets_recategorised` with them)."""
    from loopdesk.tickets.events import tickets_recategorised

    root_id = category.ancestor_ids()[0]
    moved = Ticket.objects.filter(category__path__startswith=category.path).exclude(category_root_id=root_id)
    ids = list(moved.values_list("pk", flat=True))
    if ids:
        moved.update(category_root_id=root_id)
        tickets_recategorised.send(sender=Category, ticket_ids=ids)
    return ids


class Ticket(models.Model):
    """A work order: one customer contact followed around the closed loop until it is closed.

    The first responder (首问责任人) is fixed at creation; the current handler changes with each
    dispatch. SLA due times are derived from the timeline by `loopdesk.sla.clock` and stored here so
    queues and "due within N minutes" are indexed queries. `version` guards against lost updates.
    """

    # Unique by the constraint tickets_ticket_number_key (Meta), not `unique=True`: on PostgreSQL that would add a
    # second, varchar_pattern_ops index for LIKE 'prefix%' look-ups, which nothing does (numbers are matched whole).
    number = models.CharField(_("number"), max_length=32)
    province = models.CharField(_("province code"), max_length=8)
    region = models.CharField(_("region code"), max_length=8)

    contact_type = models.CharField(_("contact type"), max_length=16, choices=ContactType.choices)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+")
    category_root = models.ForeignKey(
        Category, verbose_name=_("top category"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    # No single-column index on customer, first_responder and first_responder_unit: tkt_repeat, tkt_fr_user and
    # tkt_fr_unit start with them (three fewer indexes for every ticket written).
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="tickets",
        db_index=False,
    )
    tier = models.CharField(_("customer tier"), max_length=8, choices=Tier.choices, default=Tier.REGULAR)
    branch = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("branch"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("summary"), max_length=200, blank=True)
    description = models.TextField(_("description"))

    first_responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("first responder"), on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    first_responder_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("first responder unit"), on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    handler_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("handling unit"), on_delete=models.PROTECT, related_name="+"
    )
    handler_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handler"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    dispatcher_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("dispatching unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The unit a returned ticket goes back to."),
        db_index=False,  # tkt_dispatcher_unit (Meta)
    )

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    is_open = models.BooleanField(_("open"), default=True)

    # SLA: policy chosen at creation; due times derived from the timeline (see loopdesk.sla.clock).
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy", verbose_name=_("SLA policy"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    committed_at = models.DateTimeField(_("committed resolution time"), help_text=_("The date told to the customer."))
    requested_resolution_at = models.DateTimeField(_("requested resolution time"), null=True, blank=True)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first responded at"), null=True, blank=True)
    cycle_started_at = models.DateTimeField(_("first dispatched at"), null=True, blank=True)
    hop_started_at = models.DateTimeField(_("current hop started at"), null=True, blank=True)
    hop_due_at = models.DateTimeField(_("reply due (this hop)"), null=True, blank=True)
    overtime_at = models.DateTimeField(_("overtime from"), null=True, blank=True)
    problem_at = models.DateTimeField(_("problem ticket from"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    due_at = models.DateTimeField(_("next due"), help_text=_("The deadline that matters now."))
    sla_paused = models.BooleanField(_("SLA clock paused"), default=False)
    is_overtime = models.BooleanField(_("overtime"), default=False)
    is_problem = models.BooleanField(_("problem ticket"), default=False)
    is_repeat = models.BooleanField(_("repeat complaint"), default=False)

    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    answer = models.TextField(_("answer to the customer"), blank=True)
    callback_verdict = models.CharField(
        _("callback verdict"), max_length=16, choices=CallbackVerdict.choices, blank=True
    )
    reject_reason = models.CharField(_("reject reason"), max_length=16, choices=RejectReason.choices, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    dispatch_count = models.PositiveSmallIntegerField(_("dispatches"), default=0)
    return_count = models.PositiveSmallIntegerField(_("returns"), default=0)

    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent ticket"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        db_index=False,  # tkt_parent: only the few rows that have one
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        db_index=False,  # tkt_duplicate_of: only the few rows that have one
    )

    version = models.PositiveIntegerField(_("version"), default=1)
    last_event_seq = models.PositiveIntegerField(_("last timeline entry"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), db_index=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        constraints = [models.UniqueConstraint(fields=["number"], name="tickets_ticket_number_key")]
        indexes = [
            # Almost every work order has no parent and duplicates none: the foreign keys' indexes hold only the
            # rows that have one (what a look-up by value, or the PROTECT check when one is deleted, needs).
            index_where_set("parent", name="tkt_parent"),
            index_where_set("duplicate_of", name="tkt_duplicate_of"),
            # Set once a ticket has been dispatched: none of the tickets the front line closes itself or imports.
            index_where_set("dispatcher_unit", name="tkt_dispatcher_unit"),
            # My unit's open tickets by due time (the queue), keyset by (due_at, id).
            models.Index(fields=["handler_unit", "due_at", "id"], name="tkt_open_queue", condition=Q(is_open=True)),
            # Due within N minutes: only open tickets whose clock runs.
            models.Index(fields=["due_at"], name="tkt_due_running", condition=Q(is_open=True, sla_paused=False)),
            models.Index(fields=["first_responder_unit", "created_at"], name="tkt_fr_unit"),
            models.Index(fields=["first_responder", "created_at"], name="tkt_fr_user"),
            # Repeat detection: same customer, same top category, recent.
            models.Index(fields=["customer", "category_root", "created_at"], name="tkt_repeat"),
            models.Index(fields=["region", "status", "created_at"], name="tkt_region_status"),
            models.Index(fields=["handler_user", "due_at"], name="tkt_handler_user", condition=Q(is_open=True)),
            # "My work orders": the open tickets I first responded to (with tkt_handler_user, one index per side).
            models.Index(fields=["first_responder", "due_at"], name="tkt_fr_open", condition=Q(is_open=True)),
            # The first responders of a unit's open tickets (index-only): the front line's "mine" also holds those
            # whose first responder left or moved (workbench.queues._gone_first_responders).
            models.Index(fields=["first_responder_unit", "first_responder"], name="tkt_fr_unit_open",
                         condition=Q(is_open=True)),
            # A region's open tickets by due time (supervisors' board and "at risk" list): without it the planner
            # answers `region = ? AND is_open` from tkt_region_status, i.e. from every ticket of the region. The
            # trailing columns make it covering for the board's totals and ageing (counted from the index alone,
            # without reading tens of thousands of wide ticket rows), also when filtered by handling unit; SQLite
            # counts an index as covering only if the columns of its WHERE are among its columns, hence is_open.
            models.Index(fields=["region", "due_at", "is_problem", "is_overtime", "sla_paused", "created_at",
                                 "handler_unit", "id", "is_open"], name="tkt_open_region", condition=Q(is_open=True)),
            # The board's late list (problem tickets first, then by when they became overtime) and its counts by
            # department and branch: only open overtime / problem tickets, covering for the counts.
            models.Index(fields=["region", "-is_problem", "overtime_at", "id", "is_overtime", "handler_unit",
                                 "branch", "is_open"], name="tkt_open_late",
                         condition=Q(is_open=True) & (Q(is_overtime=True) | Q(is_problem=True))),
        ]
        permissions = [
            ("reveal_customer", _("Can reveal customer phone numbers and names")),
            ("view_all_tickets", _("Can see every ticket of the company")),
        ]

    def __str__(self) -> str:
        return self.number


class TicketEvent(models.Model):
    """One entry of a ticket's timeline, written by the service that made the change.

    Replaying the events of a ticket in `seq` order gives its current status and handler.
    """

    # No index of its own: tkt_event_seq_unique (ticket, seq) starts with it (one index fewer per event written).
    ticket = models.ForeignKey(Ticket, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="events",
                               db_index=False)
    seq = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("event"), max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("actor unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(_("from status"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=16, choices=Status.choices, blank=True)
    from_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("from unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,  # tkt_event_from_unit (Meta)
    )
    to_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("to unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,  # tkt_event_to_unit (Meta)
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # tkt_event_to_user (Meta)
    )
    note = models.TextField(_("note"), blank=True)
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["ticket_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="tkt_event_seq_unique")]
        # from_unit, to_unit and to_user are set only on the events that move a ticket between units or people (about
        # half of a timeline; from_unit on no event of an imported ticket): their indexes hold only the rows that
        # have one, which is all that a look-up by unit or user, or the PROTECT check when one is deleted, reads.
        indexes = [
            index_where_set("from_unit", name="tkt_event_from_unit"),
            index_where_set("to_unit", name="tkt_event_to_unit"),
            index_where_set("to_user", name="tkt_event_to_user"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq} {self.get_kind_display()}"


class TicketUnitAccess(models.Model):
    """Every unit a ticket was ever dispatched to: specialists keep seeing what they worked on."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("work order"), on_delete=models.CASCADE,
                               related_name="unit_access")
    # No index of its own: tkt_unit_access_unique (unit, ticket) starts with it.
    unit = models.ForeignKey("org.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+",
                             db_index=False)

    class Meta:
        verbose_name = _("unit access")
        verbose_name_plural = _("unit access")
        constraints = [models.UniqueConstraint(fields=["unit", "ticket"], name="tkt_unit_access_unique")]

    def __str__(self) -> str:
        # Not Django's "TicketUnitAccess object (%d)" in English: the work order's id and the unit's id.
        return f"{self._meta.verbose_name} #{self.ticket_id} · {self.unit_id}"


class TicketLink(models.Model):
    """A relation between two tickets: parent/child, duplicate, related, repeat complaint."""

    # No index of its own: tkt_link_unique (from_ticket, to_ticket, kind) starts with it.
    from_ticket = models.ForeignKey(Ticket, verbose_name=_("work order"), on_delete=models.CASCADE,
                                    related_name="links_out", db_index=False)
    to_ticket = models.ForeignKey(Ticket, verbose_name=_("linked work order"), on_delete=models.CASCADE,
                                  related_name="links_in")
    kind = models.CharField(_("kind"), max_length=16, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("ticket link")
        verbose_name_plural = _("ticket links")
        constraints = [
            models.UniqueConstraint(fields=["from_ticket", "to_ticket", "kind"], name="tkt_link_unique"),
            models.CheckConstraint(condition=~Q(from_ticket=models.F("to_ticket")), name="tkt_link_not_self"),
        ]


class ExternalRef(models.Model):
    """An id the ticket has in another system: the legacy tools, another province, HQ."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("work order"), on_delete=models.CASCADE,
                               related_name="external_refs")
    system = models.CharField(_("system"), max_length=32)
    external_id = models.CharField(_("external id"), max_length=64)

    class Meta:
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")
        constraints = [models.UniqueConstraint(fields=["system", "external_id"], name="tkt_external_unique")]


# The most bytes (UTF-8) of a stored attachment's file name: file systems take 255 bytes a name (ext4, XFS), and the
# storage may append "_" and 7 characters to a name already taken. A Chinese character is 3 bytes, so a name of 85
# characters was already too long for the disk (a server error); the attachment keeps its name as given (`filename`).
STORED_NAME_BYTES = 200


def stored_file_name(filename: str, limit: int = STORED_NAME_BYTES) -> str:
    """`filename` cut to `limit` UTF-8 bytes (whole characters), its extension kept."""
    if len(filename.encode()) <= limit:
        return filename
    dot = filename.rfind(".")
    suffix = filename[dot:] if dot > 0 and len(filename[dot:].encode()) <= 16 else ""
    stem = filename[: len(filename) - len(suffix)]
    return stem.encode()[: limit - len(suffix.encode())].decode(errors="ignore") + suffix


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.ticket.region}/{instance.ticket.number}/{stored_file_name(filename)}"


class Attachment(models.Model):
    """A file attached to a ticket (recording, screenshot, bill); size and type are limited by settings."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("work order"), on_delete=models.CASCADE,
                               related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    filename = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("type"), max_length=100)
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def open_for_download(self) -> Any:
        """The stored file opened for reading, or None when the storage has lost it (deleted, volume not mounted):
        logged for operations, and each download (page, our API, TMF) answers "file missing" in its own error
        shape instead of a server error."""
        try:
            return self.file.open("rb")
        except OSError:
            log.exception("Attachment %s (%s) of work order %s: its file %s cannot be read from storage",
                          self.pk, self.filename, self.ticket_id, self.file.name)
            return None


class TicketSequence(models.Model):
    """The last number handed out per region and day, for JM-20261122-000123 style numbers."""

    region = models.CharField(_("region"), max_length=8)
    day = models.DateField(_("day"))
    last_value = models.PositiveIntegerField(_("last number handed out"), default=0)

    class Meta:
        verbose_name = _("work order number sequence")
        verbose_name_plural = _("work order number sequences")
        constraints = [models.UniqueConstraint(fields=["region", "day"], name="tkt_sequence_unique")]

    def __str__(self) -> str:
        # Not Django's "TicketSequence object (%d)" in English: the region and the day it numbers.
        return f"{self.region} {self.day:%Y-%m-%d}"

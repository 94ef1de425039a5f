"""A materialised-path tree: a subtree is one indexed prefix query, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any, Self

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class TreeNode(models.Model):
    """Abstract base for editable trees (organisation units, complaint categories).

    `path` is "/1/4/17/" (the ids from the root down); it is kept right on save, for the node and
    every descendant when the node moves. Subclasses declare `parent = ForeignKey("self", ...)`.
    """

    path = models.CharField(_("tree path"), max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)

    parent_id: int | None

    class Meta:
        abstract = True

    def _expected_path(self) -> tuple[str, int]:
        if self.parent_id is None:
            return f"/{self.pk}/", 0
        parent = type(self).objects.only("path", "depth").get(pk=self.parent_id)  # type: ignore[attr-defined]
        return f"{parent.path}{self.pk}/", parent.depth + 1

    def clean(self) -> None:
        """A node cannot be its own parent or move below one of its descendants (the tree would be a cycle)."""
        super().clean()
        if self.pk is None or self.parent_id is None:
            return
        model = type(self)
        own_path = model.objects.filter(pk=self.pk).values_list("path", flat=True).first()  # type: ignore[attr-defined]
        parent_path = model.objects.filter(pk=self.parent_id).values_list("path", flat=True).first()  # type: ignore[attr-defined]
        if self.parent_id == self.pk or (own_path and parent_path and parent_path.startswith(own_path)):
            raise ValidationError({"parent": _("It cannot be placed below itself or one of its own subunits.")})

    def save(self, *args: Any, **kwargs: Any) -> None:
        model = type(self)
        with transaction.atomic():
            creating = self.pk is None
            if creating:
                super().save(*args, **kwargs)
                previous = ""
            else:
                previous = model.objects.filter(pk=self.pk).values_list("path", flat=True).first() or ""  # type: ignore[attr-defined]
            new_path, new_depth = self._expected_path()
            if previous and new_path != previous and new_path.startswith(previous):
                raise ValueError("a tree node cannot move below itself")
            self.path, self.depth = new_path, new_depth
            if creating:
                super().save(update_fields=["path", "depth"])
            else:
                super().save(*args, **kwargs)
            if previous and previous != new_path:
                for child in model.objects.filter(parent_id=self.pk):  # type: ignore[attr-defined]
                    child.save()

    def subtree(self) -> models.QuerySet[Self]:
        """This node and every node below it."""
        return type(self).objects.filter(path__startswith=self.path)  # type: ignore[attr-defined,no-any-return]

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def ancestors(self) -> list[Self]:
        """From the root down to this node, inclusive."""
        ids = self.ancestor_ids()
        by_id = type(self).objects.in_bulk(ids)  # type: ignore[attr-defined]
        return [by_id[i] for i in ids if i in by_id]

    def is_within(self, other: TreeNode) -> bool:
        return self.path.startswith(other.path)

    @property
    def root_id(self) -> int:
        return self.ancestor_ids()[0]

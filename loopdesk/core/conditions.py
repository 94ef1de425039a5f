"""Matching a policy row (routing rule, SLA policy, ...) against a ticket's attributes.

A row matches when every condition it sets equals the ticket's value; an empty condition matches
anything. `category_id` is special: it matches the category and its whole subtree.
"""

from __future__ import annotations

from typing import Any

from loopdesk.core.tree import TreeNode


def conditions_match(row: Any, category: TreeNode, **values: Any) -> bool:
    """`values` maps the row's condition fields (e.g. contact_type=..., branch_id=...) to the ticket's values."""
    for field, value in values.items():
        condition = getattr(row, field)
        if condition and condition != value:
            return False
    return not (row.category_id and row.category_id not in category.ancestor_ids())

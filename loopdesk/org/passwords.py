"""Password rules beyond Django's: a password mixes kinds of characters (等保 asks for complexity)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CharacterKindsValidator:
    """At least `kinds` of the four kinds: lower-case letters, upper-case letters, digits, other characters."""

    def __init__(self, kinds: int = 3) -> None:
        self.kinds = kinds

    def validate(self, password: str, user: Any = None) -> None:
        found = sum((
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ))
        if found < self.kinds:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        return _("Your password must mix at least %(kinds)d of: lower-case letters, upper-case letters, digits, "
                 "other characters.") % {"kinds": self.kinds}

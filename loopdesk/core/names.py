"""Reference rows named in Chinese with an optional English name (units, categories, calendars, policies, rules,
assessment schemes and items): one rule for which name a page shows."""

from __future__ import annotations


class EnglishNamed:
    """A model with `name` (Chinese, required) and `name_en` (optional)."""

    name: str
    name_en: str

    def display_name(self, language: str | None = None) -> str:
        """The English name when the language is English and there is one, else the (Chinese) name."""
        if language and language.startswith("en") and self.name_en:
            return str(self.name_en)
        return str(self.name)

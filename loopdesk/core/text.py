"""Small text helpers shared by models and services."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MSISDN_RE = re.compile(r"^1[3-9]\d{9}$")


def one_char_line_breaks(value: str) -> str:
    """Line breaks as one character (LF), as a browser counts them against a text box's `maxlength`: a form posts
    each as CR LF, so a multi-line text within the box's limit was refused as too long (and stored with CR LF)."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def ascii_digits(value: str) -> bool:
    """True for a non-empty string of ASCII digits 0-9 only: str.isdigit() also takes "²" (int() refuses it: a 500)
    and "١" or full-width "１" (int() reads them as 1), which no user meant as a number here."""
    return value.isascii() and value.isdigit()


def is_db_id(value: str) -> bool:
    """A database id as text: ASCII digits, short enough for a bigint column (never a 500 on tampered input)."""
    return ascii_digits(value) and len(value) < 19


def normalize_msisdn(value: str) -> str:
    """Strip spaces, dashes and a +86/0086 prefix (or a bare 86 before the 11 digits, as many CTI systems send the
    caller, and as "+86…" arrives in a query string whose "+" was not encoded); full-width digits become ASCII."""
    value = (value or "").strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    value = re.sub(r"[\s\-()]", "", value)
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif len(value) == 13 and value.startswith("861") and value.isascii() and value.isdigit():
        value = value[2:]
    return value


def validate_msisdn(value: str) -> None:
    if not MSISDN_RE.match(value or ""):
        raise ValidationError(
            _("Enter a valid mobile number: 11 digits starting with 13 to 19."), code="invalid_msisdn"
        )


def mask_msisdn(value: str) -> str:
    """138****5678: the form every role without the reveal permission sees."""
    if len(value) >= 11:
        return value[:3] + "****" + value[-4:]
    if len(value) > 4:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return "*" * len(value)


# A mobile number inside free text (a summary, a note): 11 digits 1[3-9]…, alone (no digit either side), perhaps
# with +86 / 86 before it and written 3-4-4 with spaces or dashes (138 0013 8000). Groups: what stays of it before
# the four masked digits, and the last four. The same pattern works in PostgreSQL's regexp_replace (the COPY
# export), which is why it has no \d (Python's matches other scripts' digits too).
MSISDN_IN_TEXT = r"(?<![0-9])((?:\+?86[ -]?)?1[3-9][0-9][ -]?)[0-9]{4}([ -]?[0-9]{4})(?![0-9])"
_MSISDN_IN_TEXT = re.compile(MSISDN_IN_TEXT)
_DIGIT_RUN = re.compile(r"[0-9]{3}[ -]?[0-9]{4}")


def mask_msisdns_in_text(value: str) -> str:
    """`value` with every mobile number in it masked as `mask_msisdn` does (138****5678, 138 **** 5678): free text
    an agent typed may hold the customer's number (or another one), which a reader who may not see numbers must
    not get. Text without a run of seven digits skips the full pattern (the cheap test first: most summaries)."""
    if not value or not _DIGIT_RUN.search(value):
        return value
    return _MSISDN_IN_TEXT.sub(r"\1****\2", value)


# A survey's one-time rating link (loopdesk.surveys.services.survey_link: <public URL>/s/<token>/) in an SMS text.
_SURVEY_TOKEN = re.compile(r"(/s/)[A-Za-z0-9_-]+(/)")


def hide_survey_tokens(text: str) -> str:
    """`text` with the token of any survey link replaced by ****: the link is the customer's credential to rate
    the work order (the survey row keeps only its hash); nobody reading a stored SMS may use it."""
    return _SURVEY_TOKEN.sub(r"\1****\2", text)


def mask_name(value: str) -> str:
    """张** / Z***: keep the first character only."""
    if not value:
        return value
    return value[0] + "*" * max(1, len(value) - 1)


# A date-time whose "+" offset arrived as a space: "+" in a query string is a space unless written %2B, so
# "2026-11-02T09:00:00+08:00" typed into a URL as it is reads "2026-11-02T09:00:00 08:00".
_PLUS_AS_SPACE = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")


def plus_offset(raw: str) -> str:
    """`raw` with an offset whose "+" became a space in a query string given back its "+"; anything else as it is."""
    return _PLUS_AS_SPACE.sub(r"\1+\2", raw)


"""What a customer or a merchant may type: the longest text each kind of free-text input may hold, and the checks
and messages the forms, mutations and endpoints share.

One table, so the same input is refused at the same length with the same words everywhere; each limit fits the
database column the input ends up in (models/), so no input ever reaches a column it would overflow. Messages for
customers come in the reader's language (`core/locale`, extracted from this module); the merchant API writes
English (`TextLimit.message()` without a locale).
"""

import re
import unicodedata
from dataclasses import dataclass

from core.i18n import DEFAULT_LOCALE, translations

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# What has no place in a one-line text, let alone an email header: control characters (line breaks, tab, NUL,
# escape…, Unicode category Cc), the Unicode line and paragraph separators, and the bidirectional embeddings,
# overrides and isolates, which reorder how the text around them reads.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\r\t")


@dataclass(frozen=True)
class TextLimit:
    """At most `max_length` characters."""

    max_length: int

    def allows(self, text: str) -> bool:
        return len(text) <= self.max_length

    def message(self, locale: str = DEFAULT_LOCALE) -> str:
        """`Use at most 254 characters.`, in the reader's language."""
        count = self.max_length
        template = translations(locale).ngettext(
            "Use at most %(count)s character.", "Use at most %(count)s characters.", count
        )
        return template % {"count": count}


EMAIL = TextLimit(254)
URL = TextLimit(1000)
NAME = TextLimit(200)
COMMENT = TextLimit(1000)
CANCELLATION_COMMENT = TextLimit(500)
ADDRESS_LINE = TextLimit(200)
CITY = TextLimit(100)
STATE = TextLimit(100)
POSTAL_CODE = TextLimit(20)
PHONE = TextLimit(40)
TAX_ID = TextLimit(50)
LOCALE = TextLimit(16)
# A merchant's `metadata`: a flat object of text, as Dodo Payments takes it.
METADATA_KEYS = 50
METADATA_KEY = TextLimit(40)
METADATA_VALUE = TextLimit(500)
# An `Idempotency-Key` (header or input field): Stripe's limit, so keys made for Stripe fit here too.
IDEMPOTENCY_KEY = TextLimit(255)
# The longest free trial a product or a new subscription may have: two years, Stripe's limit too.
MAX_TRIAL_DAYS = 730
# Printable ASCII without spaces: what clients put in idempotency keys (UUIDs, ULIDs, "retry-2").
_IDEMPOTENCY_KEY_CHARACTERS = re.compile(r"[\x21-\x7e]+")


def has_control_characters(text: str, *, line_breaks: bool = False) -> bool:
    """Whether `text` holds a control character; with `line_breaks`, line breaks and tabs are allowed."""
    return any(
        (unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _BIDI_CONTROLS)
        and not (line_breaks and char in _LINE_BREAKS)
        for char in text
    )


def is_idempotency_key(key: str) -> bool:
    """Whether a client's idempotency key is 1 to 255 printable ASCII characters without spaces."""
    return IDEMPOTENCY_KEY.allows(key) and bool(_IDEMPOTENCY_KEY_CHARACTERS.fullmatch(key))


def email_problem(email: str, locale: str) -> str:
    """Why a typed email address cannot be used, in the reader's language; empty when it can."""
    if not EMAIL.allows(email):
        return EMAIL.message(locale)
    if not _EMAIL.fullmatch(email) or has_control_characters(email):
        return translations(locale).gettext("Enter an email address such as name@example.com.")
    return ""


def metadata_problem(metadata: object) -> str:
    """Why a merchant's `metadata` cannot be stored, in English (the merchant API's language); empty when it can."""
    if not isinstance(metadata, dict):
        return "metadata must be an object of string keys and string values."
    if len(metadata) > METADATA_KEYS:
        return f"metadata holds at most {METADATA_KEYS} keys."
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or not METADATA_KEY.allows(key):
            return f"Each metadata key is a string of 1 to {METADATA_KEY.max_length} characters."
        if not isinstance(value, str) or not METADATA_VALUE.allows(value):
            return f"Each metadata value is a string of at most {METADATA_VALUE.max_length} characters."
    return ""

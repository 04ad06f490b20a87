"""What an invoice line says, in the reader's language.

A line is stored with its description as issued, in English (what the merchant API, webhooks and data exports
show), and with its wording: what the line is made of (a kind, the product, the quantity, the period). Pages, emails
and PDFs say the line from its wording in the reader's language, with the period written as the reader writes
dates: "Team (Nov 17 – Dec 17, 2026)", "Team（2026年11月17日～12月17日）". A line stored without wording (older
lines, lines a merchant wrote) is shown as it was issued.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Self

from babel.dates import format_interval

from core.errors import N_
from core.i18n import DEFAULT_LOCALE, babel_locale, supported_locale, text_direction, translations

PERIOD = "period"
UNUSED_TIME = "unused_time"
FROM_TODAY = "from_today"
REMAINING_TIME = "remaining_time"
_SENTENCES = {
    PERIOD: N_("%(product)s (%(period)s)"),
    UNUSED_TIME: N_("Unused time on %(product)s × %(quantity)s"),
    FROM_TODAY: N_("%(product)s × %(quantity)s (from today)"),
    REMAINING_TIME: N_("%(product)s × %(quantity)s (remaining time)"),
}


def _isolated(name: str, locale: str) -> str:
    """A product name set apart from a right-to-left sentence, so "Team" does not pull the dates around it into
    left-to-right order (Unicode's first-strong isolate: invisible, and skipped when a page guesses a direction)."""
    return f"\u2068{name}\u2069" if text_direction(locale) == "rtl" else name


def _day(moment: date | datetime) -> date:
    return moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment


@dataclass(frozen=True)
class Wording:
    kind: str
    product: str
    quantity: int = 1
    start: date | None = None
    end: date | None = None

    @classmethod
    def period(cls, product: str, start: date | datetime, end: date | datetime) -> Self:
        """The line of one billing period of `product`."""
        return cls(PERIOD, product, start=_day(start), end=_day(end))

    def text(self, locale: str) -> str:
        """The line in `locale` (a supported locale, or any locale Babel knows for the dates)."""
        sentence = translations(supported_locale(locale) or DEFAULT_LOCALE).gettext(_SENTENCES[self.kind])
        period = ""
        if self.start and self.end:
            period = format_interval(self.start, self.end, "yMMMd", locale=babel_locale(locale))
        return sentence % {"product": _isolated(self.product, locale), "quantity": self.quantity, "period": period}

    def as_json(self) -> dict:
        start, end = (day.isoformat() if day else None for day in (self.start, self.end))
        return {"kind": self.kind, "product": self.product, "quantity": self.quantity, "start": start, "end": end}

    @classmethod
    def from_json(cls, data: dict | None) -> Self | None:
        if not data or data.get("kind") not in _SENTENCES:
            return None
        start, end = (date.fromisoformat(data[key]) if data.get(key) else None for key in ("start", "end"))
        return cls(data["kind"], data["product"], int(data.get("quantity", 1)), start, end)


def line_text(description: str, wording: dict | None, locale: str) -> str:
    """A stored line in the reader's language: from its wording, else its description as issued."""
    known = Wording.from_json(wording)
    return known.text(locale) if known else description

"""What an invoice line, and an invoice as a whole, says in the reader's language.

A line is stored with its description as issued, in English (what the merchant API, webhooks and data exports
show), and with its wording: what the line is made of (a kind, the product, the period). Pages, emails and PDFs say
the line from its wording in the reader's language, with the period written as the reader writes dates:
"Team (Nov 17 – Dec 17, 2026)", "Team（2026年11月17日～12月17日）", "Unused time on Team (Nov 17 – Dec 17, 2026)".
The quantity is the line's quantity column, never part of its text. A line stored without wording (older lines,
lines a merchant wrote) is shown as it was issued.

An invoice is summarised by what happened: a plan change by its `Summary` ("Upgrade: Team → Business"), stored on
the invoice; a renewal by its period line; a purchase by its products. Invoices issued before summaries were kept
fall back to their first line.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Self

from babel.dates import format_interval
from babel.lists import format_list

from core.errors import N_
from core.i18n import DEFAULT_LOCALE, babel_locale, supported_locale, text_direction, translations

PERIOD = "period"
UNUSED_TIME = "unused_time"
FROM_TODAY = "from_today"
REMAINING_TIME = "remaining_time"
_SENTENCES = {
    PERIOD: N_("%(product)s (%(period)s)"),
    UNUSED_TIME: N_("Unused time on %(product)s (%(period)s)"),
    FROM_TODAY: N_("%(product)s (%(period)s)"),
    REMAINING_TIME: N_("%(product)s (%(period)s)"),
}
# Proration lines issued before they carried their period.
_UNDATED = {
    UNUSED_TIME: N_("Unused time on %(product)s"),
    FROM_TODAY: N_("%(product)s (from today)"),
    REMAINING_TIME: N_("%(product)s (remaining time)"),
}

UPGRADE = "upgrade"
DOWNGRADE = "downgrade"
PLAN_CHANGE = "plan_change"
_SUMMARIES = {
    UPGRADE: N_("Upgrade: %(from)s → %(to)s"),
    DOWNGRADE: N_("Downgrade: %(from)s → %(to)s"),
    PLAN_CHANGE: N_("Plan change: %(from)s → %(to)s"),
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
    start: date | None = None
    end: date | None = None

    @classmethod
    def period(cls, product: str, start: date | datetime, end: date | datetime) -> Self:
        """The line of one billing period of `product`."""
        return cls.of(PERIOD, product, start, end)

    @classmethod
    def of(cls, kind: str, product: str, start: date | datetime, end: date | datetime) -> Self:
        """A line of `kind` about `product` over the days from `start` to `end`."""
        return cls(kind, product, start=_day(start), end=_day(end))

    def text(self, locale: str) -> str:
        """The line in `locale` (a supported locale, or any locale Babel knows for the dates)."""
        period = ""
        if self.start and self.end:
            period = format_interval(self.start, self.end, "yMMMd", locale=babel_locale(locale))
        sentence = _SENTENCES[self.kind] if period else _UNDATED.get(self.kind, _SENTENCES[self.kind])
        return _gettext(sentence, locale) % {"product": _isolated(self.product, locale), "period": period}

    def as_json(self) -> dict:
        start, end = (day.isoformat() if day else None for day in (self.start, self.end))
        return {"kind": self.kind, "product": self.product, "start": start, "end": end}

    @classmethod
    def from_json(cls, data: dict | None) -> Self | None:
        """The stored wording; older lines also stored a quantity, which their quantity column says already."""
        if not data or data.get("kind") not in _SENTENCES:
            return None
        start, end = (date.fromisoformat(data[key]) if data.get(key) else None for key in ("start", "end"))
        return cls(data["kind"], data["product"], start, end)


@dataclass(frozen=True)
class Summary:
    """What a plan change did, for the invoice it is charged on: "Upgrade: Team → Business"."""

    kind: str
    before: str
    after: str

    def text(self, locale: str) -> str:
        names = {"from": _isolated(self.before, locale), "to": _isolated(self.after, locale)}
        return _gettext(_SUMMARIES[self.kind], locale) % names

    def as_json(self) -> dict:
        return {"kind": self.kind, "from": self.before, "to": self.after}

    @classmethod
    def from_json(cls, data: dict | None) -> Self | None:
        if not data or data.get("kind") not in _SUMMARIES:
            return None
        return cls(data["kind"], data["from"], data["to"])


def _gettext(message: str, locale: str) -> str:
    return translations(supported_locale(locale) or DEFAULT_LOCALE).gettext(message)


def line_text(description: str, wording: dict | None, locale: str) -> str:
    """A stored line in the reader's language: from its wording, else its description as issued."""
    known = Wording.from_json(wording)
    return known.text(locale) if known else description


def invoice_summary(summary: dict | None, lines: Sequence[tuple[str, dict | None]], locale: str) -> str:
    """An invoice in one line, from its stored summary and its lines (description, wording), in position order:
    the plan change it charged, else its period line (a renewal), else the products it sold (a purchase), else its
    first line."""
    change = Summary.from_json(summary)
    if change:
        return change.text(locale)
    if not lines:
        return ""
    periods = [wording for _, wording in lines if (wording or {}).get("kind") == PERIOD]
    if periods:
        return line_text("", periods[0], locale)
    if all(wording is None for _, wording in lines):
        names = [_isolated(description, locale) for description, _ in lines]
        return format_list(names, locale=babel_locale(locale))
    return line_text(*lines[0], locale)

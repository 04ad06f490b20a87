"""Money: integer minor units plus an ISO 4217 code, formatted for the reader's locale with Babel."""

import functools
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

DEFAULT_LOCALE = "en_US"
_LEFT_TO_RIGHT_MARK = "\u200e"


def to_major_units(amount: int, currency: str) -> Decimal:
    """1234 USD cents → Decimal('12.34'); JPY has no minor unit, so 1200 stays 1200."""
    return Decimal(amount).scaleb(-get_currency_precision(currency))


@functools.lru_cache(maxsize=256)
def parse_locale(tag: str | None) -> Locale:
    """A Babel Locale for a tag such as `fr-FR` or `ja`; anything unknown reads as the default. Cached: parsing
    showed up in profiles, once for every amount a page formats."""
    try:
        return Locale.parse((tag or DEFAULT_LOCALE).replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


@functools.lru_cache(maxsize=16_384)
def format_money(amount: int, currency: str, locale: str | None) -> str:
    """`$12.00`, `1 200,00 €`, `¥1,200`: the amount as the reader's locale writes it. Cached: Babel takes about
    10 µs an amount (most of it in its number pattern), a dashboard shows hundreds, and prices repeat."""
    reader = parse_locale(locale)
    text = format_currency(to_major_units(amount, currency), currency, locale=reader)
    if reader.character_order == "right-to-left":
        # In a right-to-left line the `$` of `US$` is neutral and drifts to the far side, so Arabic readers saw
        # "$US 54.02". A left-to-right mark after the symbol keeps it whole.
        symbol = get_currency_symbol(currency, locale=reader)
        text = text.replace(symbol, f"{symbol}{_LEFT_TO_RIGHT_MARK}")
    return text

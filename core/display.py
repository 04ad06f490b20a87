"""Values written for a reader: a stored phone number as people write it, country names and the list of countries in
the reader's language and order, a card network as it writes its own name. Used by pages, emails and PDFs alike."""

import functools
import unicodedata

import phonenumbers
from babel import Locale

from core.i18n import DEFAULT_LOCALE, babel_locale

# Babel knows these two-letter codes, but they name no country a billing address can be in: groupings, CLDR's
# pseudo-locales and the unknown region, and places ISO 3166-1 only reserves (their countries' codes apply).
_NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"})
# Letters a language sorts after z, in its order (Swedish: å, ä, ö); they take the code points right after `z`.
_LETTERS_AFTER_Z = {"sv": "åäö"}


def readable_phone(stored: str) -> str:
    """A stored E.164 number as people write it across borders (`+44 20 7946 0958`); anything else as it is."""
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@functools.cache
def _country_codes() -> frozenset[str]:
    # Babel types the keys loosely (str | int | None); the territories are strings.
    territories = Locale.parse(DEFAULT_LOCALE).territories
    codes = (code for code in territories if isinstance(code, str) and len(code) == 2 and code.isalpha())
    return frozenset(codes) - _NOT_COUNTRIES


def known_country(code: str) -> bool:
    return code in _country_codes()


def country_name(code: str, locale: str) -> str:
    """A country's name in the reader's language (`Deutschland`, `ドイツ`), or the code when Babel has none."""
    return str(Locale.parse(babel_locale(locale)).territories.get(code, code))


@functools.cache
def country_choices(locale: str) -> tuple[tuple[str, str], ...]:
    """Every country as (code, name in that language), in the order a reader of that language looks for it."""
    names = Locale.parse(babel_locale(locale)).territories
    countries = [(code, names.get(code, code)) for code in _country_codes()]
    return tuple(sorted(countries, key=lambda country: (_collation_key(country[1], locale), country[1])))


def _collation_key(name: str, locale: str) -> str:
    """Alphabetical order without an ICU collator: accents and case only break ties (Åland beside Albania, Côte
    d'Ivoire beside Costa Rica), except for the letters a language sorts after z; Japanese kana sort by sound, with
    or without dakuten, and names in kanji after them."""
    after_z = _LETTERS_AFTER_Z.get(locale, "")
    key = []
    for char in name.casefold():
        if char in after_z:
            key.append(chr(ord("z") + 1 + after_z.index(char)))
        else:
            key.extend(part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part))
    return "".join(key)


_CARD_NETWORK_NAMES = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def card_network(network: str) -> str:
    """A processor's card network as one we know (`Visa`, `union_pay` → `visa`, `unionpay`), or `""` for one we do
    not, which the pages show as a plain card."""
    key = network.lower().replace(" ", "").replace("_", "")
    return key if key in _CARD_NETWORK_NAMES else ""


def card_network_name(network: str) -> str:
    """A card network as it writes its own name (`jcb` → `JCB`, `american_express` stays readable)."""
    return _CARD_NETWORK_NAMES.get(card_network(network), network.title())

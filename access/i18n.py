"""The customer's language: the locales the portal speaks, how a request's language is chosen, the gettext catalogs
and locale-aware dates.

`access` is the lowest layer that knows the customer, so pages, emails and the GraphQL schema all take their
language from here. The catalogs live in `access/locale/<lang>/LC_MESSAGES/messages.po` (source) and `.mo`
(compiled, committed); the strings come from the Jinja templates in `gateway/templates`, from the messages of
`access` (such as the input limits of access.inputs) and from those of `billing` (the errors of billing.errors,
marked with `N_`):

    pybabel extract -F access/locale/babel.cfg --no-location --sort-output --project=customer-portal \
        -o access/locale/messages.pot gateway/templates access billing
    pybabel update -w 120 -i access/locale/messages.pot -d access/locale
    pybabel compile -d access/locale
"""

import functools
from datetime import UTC, date, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "ja", "sv", "ar")


def supported_locale(tag: str | None) -> str | None:
    """The supported locale a tag such as `ja-JP`, `sv_SE` or `AR` asks for, or None."""
    language = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return language if language in SUPPORTED_LOCALES else None


def ranked_language_tags(accept_language: str | None) -> list[str]:
    """The tags of an Accept-Language header (`sv;q=0.8, ja`), most wanted first; `*` and q=0 left out."""
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate((accept_language or "").split(",")):
        tag, _, parameters = entry.partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if quality > 0 and tag.strip() not in {"", "*"}:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate_locale(accept_language: str | None) -> str:
    """The best supported locale for an Accept-Language header, else the default."""
    supported = (supported_locale(tag) for tag in ranked_language_tags(accept_language))
    return next((locale for locale in supported if locale), DEFAULT_LOCALE)


def formatting_locale(override: str | None, accept_language: str | None) -> str:
    """The locale to write numbers, money and dates in: any locale Babel knows (`fr_CH` groups money unlike
    `fr_FR`), not only the languages the portal is translated into; `override` (`?locale=`) wins."""
    for tag in [override or "", *ranked_language_tags(accept_language)]:
        try:
            return str(Locale.parse(tag.replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            continue
    return DEFAULT_LOCALE


@functools.cache
def translations(locale: str) -> Translations:
    """The compiled catalog of a supported locale (English is the source language and has an empty one)."""
    return Translations.load(str(LOCALE_DIR), [locale], domain=DOMAIN)


def text_direction(locale: str) -> str:
    """`rtl` for right-to-left scripts such as Arabic, else `ltr` — the value of the HTML `dir` attribute."""
    return "rtl" if Locale.parse(locale).character_order == "right-to-left" else "ltr"


def language_name(locale: str) -> str:
    """A language's name in that language (`日本語`, `Svenska`), for a language switcher."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


def format_day(value: date | datetime, locale: str) -> str:
    """A calendar day as the reader writes it: `March 5, 2025`, `2025年3月5日`, `5 mars 2025`."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return format_date(value, format="long", locale=locale)

"""The customer's language: the locales the portal speaks, how a request's language is chosen, the gettext catalogs
and locale-aware dates.

Language is infrastructure, not access control: every layer that writes for a reader (billing's PDFs and line
wording, the emails, the pages, the GraphQL errors) takes it from here. The catalogs live in
`core/locale/<lang>/LC_MESSAGES/messages.po` (source) and `.mo` (compiled, committed); the strings come from the
Jinja templates in `gateway/templates` and from the messages of `core` (such as the input limits of core.inputs),
`access` and `billing` (the errors of billing.errors, marked with `N_`):

    pybabel extract -F core/locale/babel.cfg --no-location --sort-output --project=customer-portal \
        -o core/locale/messages.pot gateway/templates core access billing
    pybabel update -w 120 -i core/locale/messages.pot -d core/locale
    pybabel compile -d core/locale
"""

import functools
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
# BCP 47 tags, as pages (`lang`, `?locale=`), customer records and the API write them. Portuguese is Brazilian and
# Chinese comes in both scripts, so those tags name a region or a script; every other language is the language alone.
SUPPORTED_LOCALES = (
    "en",
    "ar",
    "he",
    "ja",
    "sv",
    "de",
    "fr",
    "es",
    "it",
    "pt-BR",
    "nl",
    "pl",
    "tr",
    "ru",
    "uk",
    "zh-Hans",
    "zh-Hant",
    "ko",
    "hi",
    "id",
    "vi",
    "th",
)
_BY_LANGUAGE = {locale.split("-")[0].lower(): locale for locale in SUPPORTED_LOCALES if locale != "zh-Hant"}
# Language codes that older software still sends for Hebrew and Indonesian.
_RETIRED_CODES = {"iw": "he", "in": "id"}
# Where Chinese is written in traditional characters when a tag names a region rather than a script.
_TRADITIONAL_CHINESE_REGIONS = {"tw", "hk", "mo"}


def supported_locale(tag: str | None) -> str | None:
    """The supported locale a tag asks for, or None: `ja-JP`, `sv_SE` and `AR` are ja, sv and ar; any Portuguese is
    pt-BR; Chinese is zh-Hant when the tag names that script or Taiwan, Hong Kong or Macau, else zh-Hans."""
    language, *subtags = (tag or "").strip().replace("_", "-").lower().split("-")
    language = _RETIRED_CODES.get(language, language)
    traditional = "hant" in subtags or bool(_TRADITIONAL_CHINESE_REGIONS.intersection(subtags))
    if language == "zh" and traditional and "hans" not in subtags:
        return "zh-Hant"
    return _BY_LANGUAGE.get(language)


def babel_locale(locale: str) -> str:
    """The identifier Babel and the catalog folders use for a supported locale: `pt_BR`, `zh_Hant`."""
    return locale.replace("-", "_")


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


def catalog_path(locale: str) -> Path:
    """The compiled catalog of a translated locale."""
    return LOCALE_DIR / babel_locale(locale) / "LC_MESSAGES" / f"{DOMAIN}.mo"


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of a supported locale (English is the source language and has none)."""
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    with catalog_path(locale).open("rb") as compiled:
        return Translations(compiled, domain=DOMAIN)


def text_direction(locale: str) -> str:
    """`rtl` for right-to-left scripts such as Arabic and Hebrew, else `ltr`: the value of the HTML `dir` attribute."""
    return "rtl" if Locale.parse(babel_locale(locale)).character_order == "right-to-left" else "ltr"


def language_name(locale: str) -> str:
    """A language's name in that language (`日本語`, `Svenska`, `Português (Brasil)`), for a language switcher."""
    name = Locale.parse(babel_locale(locale)).get_display_name() or locale
    return name[:1].upper() + name[1:]


def format_day(value: date | datetime, locale: str) -> str:
    """A calendar day as the reader writes it: `March 5, 2025`, `2025年3月5日`, `5 mars 2025`."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return format_date(value, format="long", locale=babel_locale(locale))


def format_moment(value: datetime, locale: str) -> str:
    """A moment in UTC, saying so, as the reader writes it: `March 5, 2025, 2:30:00 PM UTC`."""
    return format_datetime(value, format="long", tzinfo=UTC, locale=babel_locale(locale))


def format_count(value: int, locale: str) -> str:
    """A whole number as the reader writes it: `1,234`, `1.234`, `١٬٢٣٤`."""
    return format_decimal(value, locale=babel_locale(locale))


def format_rate(basis_points: int, locale: str) -> str:
    """A rate in basis points as the reader writes a percentage, with the decimals it has: `10%`, `20 %`,
    `10,25 %`, `٪١٠`."""
    share = Decimal(basis_points).scaleb(-4)
    return format_percent(share, locale=babel_locale(locale), decimal_quantization=False)

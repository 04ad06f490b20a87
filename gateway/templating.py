"""The Jinja2 environments that render the portal's pages and emails, and the brand palette both of them show.

There is one environment per supported locale, each with that locale's gettext catalog installed (jinja2.ext.i18n),
so concurrent requests in different languages never share a translation. HTML templates are autoescaped; the
plain-text email templates are not.
"""

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from access.i18n import format_day, language_name, text_direction, translations
from billing.money import format_money
from billing.payment_methods import card_network_name

TEMPLATE_DIR = Path(__file__).parent / "templates"

_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_PRIMARY = "#1f2937"
DEFAULT_ACCENT = "#2563eb"


@dataclass(frozen=True)
class Palette:
    """A business's colours, checked to be `#rrggbb` (they end up inside CSS), with readable text on each."""

    primary: str
    accent: str
    on_primary: str
    on_accent: str


def _relative_luminance(color: str) -> float:
    """WCAG relative luminance of `#rrggbb`."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _readable_text_on(color: str) -> str:
    # 0.179 is where white and near-black text have equal contrast against the background.
    return "#111827" if _relative_luminance(color) > 0.179 else "#ffffff"


def brand_palette(primary: str | None, accent: str | None) -> Palette:
    primary = primary if primary and _HEX_COLOR.match(primary) else DEFAULT_PRIMARY
    accent = accent if accent and _HEX_COLOR.match(accent) else DEFAULT_ACCENT
    return Palette(primary, accent, _readable_text_on(primary), _readable_text_on(accent))


def _day(value: str | datetime | None, locale: str) -> str:
    """A GraphQL DateTime (ISO 8601 text) or a datetime, as a calendar day in the reader's language."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_day(moment, locale)


@functools.cache
def environment(locale: str) -> Environment:
    """The environment for one supported locale; templates see `locale`, `direction`, and the `day`, `money`
    (`amount|money(currency)`, minor units) and `card_brand` filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)
    env.globals.update(locale=locale, direction=text_direction(locale), language_name=language_name)
    env.filters["day"] = functools.partial(_day, locale=locale)
    env.filters["money"] = functools.partial(format_money, locale=locale)
    env.filters["card_brand"] = card_network_name
    return env


def render(template: str, locale: str, **context: object) -> str:
    return environment(locale).get_template(template).render(**context)

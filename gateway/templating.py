"""The Jinja2 environments that render the portal's pages and emails.

There is one environment per supported locale, each with that locale's gettext catalog installed (jinja2.ext.i18n),
so concurrent requests in different languages never share a translation. HTML templates are autoescaped; the
plain-text email templates are not.
"""

import functools
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from access.i18n import format_day, format_moment, language_name, text_direction, translations
from billing.money import format_money
from billing.payment_methods import card_network_name

TEMPLATE_DIR = Path(__file__).parent / "templates"


def _day(value: str | datetime | None, locale: str) -> str:
    """A GraphQL DateTime (ISO 8601 text) or a datetime, as a calendar day in the reader's language."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_day(moment, locale)


def _moment(value: str, locale: str) -> str:
    """An ISO 8601 moment (as an email's context keeps it), in UTC in the reader's language."""
    return format_moment(datetime.fromisoformat(value), locale)


@functools.cache
def environment(locale: str) -> Environment:
    """The environment for one supported locale; templates see `locale`, `direction`, and the `day`, `moment`,
    `money` (`amount|money(currency)`, minor units) and `card_brand` filters."""
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
    env.filters["moment"] = functools.partial(_moment, locale=locale)
    env.filters["money"] = functools.partial(format_money, locale=locale)
    env.filters["card_brand"] = card_network_name
    return env


def render(template: str, locale: str, **context: object) -> str:
    return environment(locale).get_template(template).render(**context)

"""The Jinja2 environments that render the portal's pages and emails.

There is one environment per supported locale, each with that locale's gettext catalog installed (jinja2.ext.i18n),
so concurrent requests in different languages never share a translation. HTML templates are autoescaped; the
plain-text email templates are not, and what a plain-text macro returns is escaped when an HTML template shows it.
"""

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.runtime import Context, Macro

from core.display import card_network, card_network_name
from core.i18n import format_count, format_day, format_moment, language_name, text_direction, translations
from core.money import format_money
from core.prices import RecurringPrice

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


def _recurring_price(price: RecurringPrice | Mapping[str, Any], locale: str) -> str:
    """A recurring price (of the customer schema's shape, as a page's query or an email's context has it) as the
    reader reads it: `$49.00 / month + tax`."""
    recurring = price if isinstance(price, RecurringPrice) else RecurringPrice.from_context(price)
    return recurring.text(locale)


class _MacroContext(Context):
    """Jinja marks a macro's words safe whenever the *calling* template autoescapes, even when the macro comes from
    a plain-text template that escaped nothing: a sentence of email/phrases.txt, which both formats of an email share,
    would put a business's name into the email's HTML as markup. Called without the caller's evaluation context, a
    macro is as safe as the template that defines it, so an HTML template escapes a plain-text macro's words."""

    def call(__self, __obj: Callable[..., Any], *args: object, **kwargs: object) -> object:
        if isinstance(__obj, Macro):
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            return __obj(*args, **kwargs)
        return super().call(__obj, *args, **kwargs)


class _Environment(Environment):
    context_class = _MacroContext


@functools.cache
def environment(locale: str) -> Environment:
    """The environment for one supported locale; templates see `locale`, `direction`, and the `day`, `moment`,
    `money` (`amount|money(currency)`, minor units), `recurring_price` (core.prices), `number`, `card_brand` and
    `card_network` filters."""
    env = _Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # A method the jinja2.ext.i18n extension adds, which the Environment's type does not declare.
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(locale=locale, direction=text_direction(locale), language_name=language_name)
    env.filters["day"] = functools.partial(_day, locale=locale)
    env.filters["moment"] = functools.partial(_moment, locale=locale)
    env.filters["money"] = functools.partial(format_money, locale=locale)
    env.filters["recurring_price"] = functools.partial(_recurring_price, locale=locale)
    env.filters["card_brand"] = card_network_name
    env.filters["card_network"] = card_network
    env.filters["number"] = functools.partial(format_count, locale=locale)
    return env


def render(template: str, locale: str, **context: object) -> str:
    return environment(locale).get_template(template).render(**context)

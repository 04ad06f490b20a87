"""A recurring price as the reader reads it: the amount, how often it is charged and whether tax is added on top or
included ("$49.00 / month + tax", "€240.00 / year incl. tax", "$30.00 every 3 months"). Every page, email and
checkout that states a recurring price words it here, so a price never appears without its interval and its tax.

A price travels to the templates in one shape, whether it comes from the customer schema (`price { amount { amount
currency } intervalCount interval tax }`) or from an email's JSON context (`RecurringPrice.as_context()`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from babel.support import NullTranslations

from core.errors import N_
from core.i18n import DEFAULT_LOCALE, supported_locale, translations
from core.money import format_money
from models.enums import Interval


class PriceTax(StrEnum):
    """How tax relates to a price: added on top, already included, or not charged at all (a business without a
    tax rate), when saying either would be untrue."""

    ADDED = "added"
    INCLUDED = "included"
    NONE = "none"


def price_tax(rate_bp: int, inclusive: bool) -> PriceTax:
    if rate_bp <= 0:
        return PriceTax.NONE
    return PriceTax.INCLUDED if inclusive else PriceTax.ADDED


# One billing interval: its own sentence, since "every 1 month" is not how anyone writes it.
_PER_INTERVAL = {
    Interval.DAY: N_("%(price)s / day"),
    Interval.WEEK: N_("%(price)s / week"),
    Interval.MONTH: N_("%(price)s / month"),
    Interval.YEAR: N_("%(price)s / year"),
}
_TAX = {PriceTax.ADDED: N_("%(price)s + tax"), PriceTax.INCLUDED: N_("%(price)s incl. tax")}


def _every(translate: NullTranslations, interval: Interval, count: int) -> str:
    """Several intervals: a plural form that must also serve 21 or 31 of them (Russian, Polish), or every count
    (Japanese), so each form shows the number."""
    if interval == Interval.DAY:
        return translate.ngettext("%(price)s every %(num)d day", "%(price)s every %(num)d days", count)
    if interval == Interval.WEEK:
        return translate.ngettext("%(price)s every %(num)d week", "%(price)s every %(num)d weeks", count)
    if interval == Interval.YEAR:
        return translate.ngettext("%(price)s every %(num)d year", "%(price)s every %(num)d years", count)
    return translate.ngettext("%(price)s every %(num)d month", "%(price)s every %(num)d months", count)


@dataclass(frozen=True)
class RecurringPrice:
    """What one billing period costs (minor units, before any discount) and how tax relates to it."""

    amount: int
    currency: str
    interval_count: int
    interval: Interval
    tax: PriceTax

    def text(self, locale: str) -> str:
        """The price in `locale`: `$49.00 / month + tax`, `240,00 € / Jahr`, `¥2,980 every 3 months incl. tax`."""
        translate = translations(supported_locale(locale) or DEFAULT_LOCALE)
        money = format_money(self.amount, self.currency, locale)
        if self.interval_count == 1:
            priced = translate.gettext(_PER_INTERVAL[self.interval]) % {"price": money}
        else:
            priced = _every(translate, self.interval, self.interval_count) % {
                "price": money,
                "num": self.interval_count,
            }
        if self.tax == PriceTax.NONE:
            return priced
        return translate.gettext(_TAX[self.tax]) % {"price": priced}

    def with_amount(self, amount: int) -> Self:
        """The same price at another amount (a discounted one)."""
        return type(self)(amount, self.currency, self.interval_count, self.interval, self.tax)

    def as_context(self) -> dict[str, Any]:
        """The price in the customer schema's shape, as an email's JSON context keeps it."""
        return {
            "amount": {"amount": self.amount, "currency": self.currency},
            "intervalCount": self.interval_count,
            "interval": self.interval.name,
            "tax": self.tax.name,
        }

    @classmethod
    def from_context(cls, price: Mapping[str, Any]) -> Self:
        """A price in the customer schema's shape (a page's query answer, an email's context)."""
        return cls(
            amount=int(price["amount"]["amount"]),
            currency=str(price["amount"]["currency"]),
            interval_count=int(price["intervalCount"]),
            interval=Interval[price["interval"]],
            tax=PriceTax[price["tax"]],
        )

"""Recurring prices as the customer schema shows them: the amount with its billing interval and how tax relates to
it, so that a client can say "$49.00 / month + tax" (core.prices words it for the portal's own pages)."""

from typing import Self

import strawberry

from core.prices import PriceTax
from core.prices import RecurringPrice as Price
from schema.customer.enums import Interval
from schema.customer.money import Money

strawberry.enum(
    PriceTax,
    name="PriceTax",
    description="ADDED: tax is charged on top of the price; INCLUDED: the price contains it; NONE: no tax is charged.",
)


@strawberry.type(description="What one billing period costs, how often it is charged, and how tax relates to it.")
class RecurringPrice:
    amount: Money = strawberry.field(description="Each billing period, for the quantity, before tax and discounts.")
    interval_count: int = strawberry.field(description="Charged every `intervalCount` `interval`s.")
    interval: Interval
    tax: PriceTax

    @classmethod
    def of(cls, price: Price, locale: str) -> Self:
        return cls(
            amount=Money.of(price.amount, price.currency, locale),
            interval_count=price.interval_count,
            interval=price.interval,
            tax=price.tax,
        )

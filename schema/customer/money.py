"""Money as the customer schema shows it: minor units, the currency, and the amount written for the reader."""

from typing import Self

import strawberry

from core.money import format_money


@strawberry.type(description="An amount in the currency's minor unit (cents; yen have none).")
class Money:
    amount: int = strawberry.field(description="Minor units, e.g. 1299 for $12.99.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    formatted: str = strawberry.field(
        description="The amount as the request's locale writes it: `$12.99`, `1 200,00 €`, `¥1,200`."
    )

    @classmethod
    def of(cls, amount: int, currency: str, locale: str) -> Self:
        # Written out when the amount is made: a plain attribute resolves without a resolver call per amount, and
        # format_money's cache makes the amounts nobody asks for nearly free.
        return cls(amount=amount, currency=currency, formatted=format_money(amount, currency, locale))

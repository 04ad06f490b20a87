"""Money as the customer schema shows it: minor units, the currency, and the amount written for the reader."""

import strawberry

from billing.money import format_money


@strawberry.type(description="An amount in the currency's minor unit (cents; yen have none).")
class Money:
    amount: int = strawberry.field(description="Minor units, e.g. 1299 for $12.99.")
    currency: str = strawberry.field(description="ISO 4217 code.")

    @strawberry.field(description="The amount as the request's locale writes it: `$12.99`, `1 200,00 €`, `¥1,200`.")
    def formatted(self, info: strawberry.Info) -> str:
        return format_money(self.amount, self.currency, info.context.locale)

"""Saved payment methods as the customer sees them: brand, last four digits, expiry, whether it has expired and
when its last charge was declined — never more."""

from datetime import datetime
from typing import Self

import strawberry

from billing.payment_methods import expired
from core.clock import utcnow
from models import PaymentMethod as PaymentMethodRow
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness


@strawberry.type
class PaymentMethod(Node, OwnedByBusiness):
    type: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    expired: bool = strawberry.field(
        description="Past the last day of its expiry month: it cannot be the default nor pay a subscription."
    )

    @strawberry.field(
        description="When its most recent charge was declined; null when that charge succeeded or none was made."
    )
    async def declined_at(self, info: strawberry.Info) -> datetime | None:
        return await info.context.loaders.declined_at.load(str(self.id))

    @classmethod
    async def build(cls, _context: object, rows: list[PaymentMethodRow], _selection: object) -> list[Self]:
        return [cls.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: PaymentMethodRow) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            type=row.type,
            brand=row.brand,
            last4=row.last4,
            exp_month=row.exp_month,
            exp_year=row.exp_year,
            is_default=row.is_default,
            expired=expired(row, utcnow()),
            business_id=row.business_id,
        )


async def saved_payment_methods(info: strawberry.Info, business_id: str | None) -> list[PaymentMethod]:
    """The viewer's usable payment methods in one business, or in all of them (None)."""
    info.context.signed_in_viewer()
    rows = await info.context.loaders.saved_payment_methods.load(business_id)
    return [PaymentMethod.from_row(row) for row in rows]

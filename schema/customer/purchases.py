"""Payments as the customer sees them, and purchases: payments for one-time products, with what was bought and the
license keys that came with it."""

from datetime import datetime
from typing import Self

import strawberry

from models import Payment as PaymentRow
from schema.customer.actions import translate
from schema.customer.enums import PaymentStatus
from schema.customer.invoices import Invoice
from schema.customer.license_keys import LicenseKey
from schema.customer.money import Money
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness
from schema.customer.products import Product


@strawberry.type
class PurchaseItem:
    product: Product
    quantity: int
    amount: Money


@strawberry.type(description="One charge of a saved payment method.")
class Payment(Node, OwnedByBusiness):
    status: PaymentStatus
    total: Money
    tax: Money
    card_last_four: str
    card_network: str
    error_code: str | None = strawberry.field(description="The processor's decline code, e.g. card_declined.")
    created_at: datetime
    currency: strawberry.Private[str]
    stored_error_message: strawberry.Private[str | None]

    @strawberry.field(description="Why the payment failed, in the reader's language.")
    def error_message(self, info: strawberry.Info) -> str | None:
        return translate(info, self.stored_error_message) if self.stored_error_message else None

    @classmethod
    def from_row(cls, row: PaymentRow) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            status=row.status,
            total=Money(amount=row.total_amount, currency=row.currency),
            tax=Money(amount=row.tax, currency=row.currency),
            card_last_four=row.card_last_four,
            card_network=row.card_network,
            error_code=row.error_code,
            created_at=row.created_at,
            currency=row.currency,
            stored_error_message=row.error_message,
        )


@strawberry.type(description="A payment for one-time products, with what was bought and its license keys.")
class Purchase(Payment):
    @strawberry.field
    async def items(self, info: strawberry.Info) -> list[PurchaseItem]:
        rows = await info.context.loaders.purchase_items.load(str(self.id))
        return [
            PurchaseItem(
                product=Product.from_row(row.product),
                quantity=row.quantity,
                amount=Money(amount=row.amount, currency=self.currency),
            )
            for row in rows
        ]

    @strawberry.field
    async def license_keys(self, info: strawberry.Info) -> list[LicenseKey]:
        rows = await info.context.loaders.purchase_license_keys.load(str(self.id))
        return [LicenseKey.from_row(row) for row in rows]

    @strawberry.field(description="The receipt: the invoice issued when the payment succeeded; null before.")
    async def invoice(self, info: strawberry.Info) -> Invoice | None:
        rows = await info.context.loaders.payment_invoices.load(str(self.id))
        return Invoice.from_row(rows[0]) if rows else None

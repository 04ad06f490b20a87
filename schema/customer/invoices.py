"""Invoices: the immutable record of each successful payment, with its lines."""

from datetime import datetime

import strawberry

from models import Invoice as InvoiceRow
from models import InvoiceLine as InvoiceLineRow
from schema.customer.enums import InvoiceStatus
from schema.customer.money import Money
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness


@strawberry.type
class InvoiceLine:
    description: str
    quantity: int
    unit_amount: Money
    amount: Money

    @classmethod
    def from_row(cls, row: InvoiceLineRow, currency: str) -> "InvoiceLine":
        return cls(
            description=row.description,
            quantity=row.quantity,
            unit_amount=Money(amount=row.unit_amount, currency=currency),
            amount=Money(amount=row.amount, currency=currency),
        )


@strawberry.type
class Invoice(Node, OwnedByBusiness):
    number: str
    status: InvoiceStatus
    issued_at: datetime
    subtotal: Money
    tax: Money
    total: Money
    created_at: datetime
    currency: strawberry.Private[str]

    @strawberry.field
    async def lines(self, info: strawberry.Info) -> list[InvoiceLine]:
        rows = await info.context.loaders.invoice_lines.load(str(self.id))
        return [InvoiceLine.from_row(row, self.currency) for row in rows]

    @classmethod
    def from_row(cls, row: InvoiceRow) -> "Invoice":
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            number=row.number,
            status=row.status,
            issued_at=row.issued_at,
            subtotal=Money(amount=row.subtotal, currency=row.currency),
            tax=Money(amount=row.tax, currency=row.currency),
            total=Money(amount=row.total, currency=row.currency),
            created_at=row.created_at,
            currency=row.currency,
        )

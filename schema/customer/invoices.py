"""Invoices: the immutable record of each successful payment, with its lines, the credit notes of its refunds and
where to download both as PDF."""

from datetime import datetime
from urllib.parse import quote

import strawberry

from models import Invoice as InvoiceRow
from models import InvoiceLine as InvoiceLineRow
from models import Refund as RefundRow
from schema.customer.enums import InvoiceStatus
from schema.customer.money import Money
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness

# The portal's download routes (gateway/pages/documents.py). Paths like the pages' own links: they resolve against
# the portal's address, and the download answers the same session (cookie or Bearer token) as the GraphQL request.
INVOICE_PDF_PATH = "/invoices/{invoice_id}/pdf"
CREDIT_NOTE_PDF_PATH = "/credit-notes/{refund_id}/pdf"


def invoice_pdf_path(invoice_id: str) -> str:
    return INVOICE_PDF_PATH.format(invoice_id=quote(invoice_id, safe=""))


def credit_note_pdf_path(refund_id: str) -> str:
    return CREDIT_NOTE_PDF_PATH.format(refund_id=quote(refund_id, safe=""))


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


@strawberry.type(description="The credit note of a refund: money given back on an invoice, numbered on its own.")
class CreditNote(Node, OwnedByBusiness):
    number: str = strawberry.field(description="From the business's credit-note sequence, apart from invoices'.")
    amount: Money = strawberry.field(description="The amount given back.")
    reason: str = strawberry.field(description="Why the money was given back; empty when none was given.")
    issued_at: datetime
    pdf_url: str = strawberry.field(description="The credit note as PDF: a path on the portal, for this session.")

    @classmethod
    def from_row(cls, row: RefundRow) -> "CreditNote":
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            number=row.credit_note_number or "",
            amount=Money(amount=row.amount, currency=row.currency),
            reason=row.reason,
            issued_at=row.issued_at or row.created_at,
            pdf_url=credit_note_pdf_path(row.id),
        )


@strawberry.type
class Invoice(Node, OwnedByBusiness):
    number: str
    status: InvoiceStatus
    issued_at: datetime
    subtotal: Money
    discount: Money = strawberry.field(description="Taken off the subtotal before tax (a coupon, a retention offer).")
    tax: Money
    credit_applied: Money = strawberry.field(description="Paid from the customer's credit balance at the business.")
    total: Money
    created_at: datetime
    pdf_url: str = strawberry.field(description="The invoice as PDF: a path on the portal, for this session.")
    currency: strawberry.Private[str]

    @strawberry.field
    async def lines(self, info: strawberry.Info) -> list[InvoiceLine]:
        rows = await info.context.loaders.invoice_lines.load(str(self.id))
        return [InvoiceLine.from_row(row, self.currency) for row in rows]

    @strawberry.field(description="The credit notes of the refunds on this invoice, oldest first.")
    async def refunds(self, info: strawberry.Info) -> list[CreditNote]:
        rows = await info.context.loaders.invoice_refunds.load(str(self.id))
        return [CreditNote.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: InvoiceRow) -> "Invoice":
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            number=row.number,
            status=row.status,
            issued_at=row.issued_at,
            subtotal=Money(amount=row.subtotal, currency=row.currency),
            discount=Money(amount=row.discount, currency=row.currency),
            tax=Money(amount=row.tax, currency=row.currency),
            credit_applied=Money(amount=row.credit_applied, currency=row.currency),
            total=Money(amount=row.total, currency=row.currency),
            created_at=row.created_at,
            pdf_url=invoice_pdf_path(row.id),
            currency=row.currency,
        )

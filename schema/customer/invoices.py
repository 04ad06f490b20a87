"""Invoices: the immutable record of each successful payment, with its lines, the credit notes of its refunds and
where to download both as PDF."""

from datetime import datetime
from typing import Self
from urllib.parse import quote

import strawberry

from billing.line_wording import invoice_summary, line_text
from billing.tax import tax_included
from core.i18n import format_rate
from models import Invoice as InvoiceRow
from models import InvoiceLine as InvoiceLineRow
from models import Refund as RefundRow
from schema.customer.context import CustomerContext
from schema.customer.enums import InvoiceStatus
from schema.customer.lookahead import Selection, load_related
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
    description: str = strawberry.field(description="What the line is for, in the reader's language.")
    quantity: int
    unit_amount: Money
    amount: Money

    @classmethod
    def from_row(cls, row: InvoiceLineRow, currency: str, locale: str) -> Self:
        return cls(
            description=line_text(row.description, row.wording, locale),
            quantity=row.quantity,
            unit_amount=Money.of(row.unit_amount, currency, locale),
            amount=Money.of(row.amount, currency, locale),
        )


@strawberry.type(description="A tax rate, as an invoice was issued with it.")
class TaxRate:
    basis_points: int = strawberry.field(description="1025 is 10.25 %.")
    formatted: str = strawberry.field(description="The rate as the request's locale writes it: `10%`, `10,25 %`.")

    @classmethod
    def of(cls, basis_points: int | None, locale: str) -> Self | None:
        return (
            None
            if basis_points is None
            else cls(basis_points=basis_points, formatted=format_rate(basis_points, locale))
        )


@strawberry.type(description="The credit note of a refund: money given back on an invoice, numbered on its own.")
class CreditNote(Node, OwnedByBusiness):
    number: str = strawberry.field(description="From the business's credit-note sequence, apart from invoices'.")
    amount: Money = strawberry.field(description="The amount given back.")
    reason: str = strawberry.field(description="Why the money was given back; empty when none was given.")
    issued_at: datetime
    pdf_url: str = strawberry.field(description="The credit note as PDF: a path on the portal, for this session.")

    @classmethod
    async def build(cls, context: CustomerContext, rows: list[RefundRow], _selection: Selection) -> list[Self]:
        return [cls.from_row(row, context.locale) for row in rows]

    @classmethod
    def from_row(cls, row: RefundRow, locale: str) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            number=row.credit_note_number or "",
            amount=Money.of(row.amount, row.currency, locale),
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
    tax_rate: TaxRate | None = strawberry.field(
        description="The tax rate the invoice was issued with; null on invoices issued before it was kept."
    )
    tax_included: bool = strawberry.field(description="Whether the tax is inside the prices rather than added to them.")
    seller_tax_id: str = strawberry.field(
        description="The business's tax ID when the invoice was issued; may be empty."
    )
    customer_tax_id: str = strawberry.field(
        description="The customer's tax ID when the invoice was issued; may be empty."
    )
    summary: str = strawberry.field(
        description="What the invoice is for, in one line in the reader's language: a plan change "
        "(`Upgrade: Team → Business`), the period renewed or the products bought."
    )
    credit_applied: Money = strawberry.field(description="Paid from the customer's credit balance at the business.")
    total: Money
    created_at: datetime
    pdf_url: str = strawberry.field(description="The invoice as PDF: a path on the portal, for this session.")
    lines: list[InvoiceLine]
    refunds: list[CreditNote] = strawberry.field(
        description="The credit notes of the refunds on this invoice, oldest first."
    )

    @classmethod
    async def build(cls, context: CustomerContext, rows: list[InvoiceRow], selection: Selection) -> list[Self]:
        """Invoices with the lines and credit notes the selection shows, loaded for all of them at once."""
        ids = [row.id for row in rows]
        loaders = context.loaders
        # The summary of an invoice issued without one is read from its lines.
        with_lines = "lines" in selection or "summary" in selection
        lines, refunds = await load_related(
            (loaders.invoice_lines, ids, with_lines), (loaders.invoice_refunds, ids, "refunds" in selection)
        )
        return [cls.from_row(*loaded, context.locale) for loaded in zip(rows, lines, refunds, strict=True)]

    @classmethod
    def from_row(cls, row: InvoiceRow, lines: list | None, refunds: list | None, locale: str) -> Self:
        currency = row.currency
        details = row.billing_details or {}
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            number=row.number,
            status=row.status,
            issued_at=row.issued_at,
            subtotal=Money.of(row.subtotal, currency, locale),
            discount=Money.of(row.discount, currency, locale),
            tax=Money.of(row.tax, currency, locale),
            tax_rate=TaxRate.of(row.tax_rate_bp, locale),
            tax_included=tax_included(row),
            seller_tax_id=(details.get("seller") or {}).get("tax_id") or "",
            customer_tax_id=details.get("tax_id") or "",
            summary=invoice_summary(row.summary, [(line.description, line.wording) for line in lines or ()], locale),
            credit_applied=Money.of(row.credit_applied, currency, locale),
            total=Money.of(row.total, currency, locale),
            created_at=row.created_at,
            pdf_url=invoice_pdf_path(row.id),
            lines=[InvoiceLine.from_row(line, currency, locale) for line in lines or ()],
            refunds=[CreditNote.from_row(refund, locale) for refund in refunds or ()],
        )

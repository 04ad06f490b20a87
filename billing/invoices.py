"""Invoices: one per successful payment, issued in the payment's own transaction, numbered without gaps per business
and mode, with its lines, its tax and a snapshot of who bought from whom that later profile edits never change."""

from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from billing.document_store import invoice_key, preferred_locale, queue_render
from billing.line_wording import Summary, Wording
from billing.tax import Amounts
from models import Business, CreditNoteSequence, Customer, Invoice, InvoiceLine, InvoiceSequence, Payment
from models.enums import InvoiceStatus


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_amount: int
    wording: Wording | None = None

    @classmethod
    def worded(cls, wording: Wording, quantity: int, amount: int) -> "Line":
        """A line of `amount` in all that says itself in each reader's language (its description as issued is the
        English): `quantity` × its share when the amount splits evenly, else once the whole amount, so the
        quantity column never claims a unit price that was not charged."""
        if quantity < 1 or amount % quantity:
            quantity = 1
        return cls(wording.text("en"), quantity, amount // quantity, wording)

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount

    def text(self, locale: str) -> str:
        """The line in the reader's language."""
        return self.wording.text(locale) if self.wording else self.description


def billing_details(customer: Customer, business: Business) -> dict:
    """What the invoice shows about buyer and seller, frozen at issue."""
    return {
        "name": customer.name,
        "email": customer.email,
        "phone_number": customer.phone_number,
        "tax_id": customer.tax_id,
        "address": {
            "line1": customer.billing_line1,
            "line2": customer.billing_line2,
            "city": customer.billing_city,
            "state": customer.billing_state,
            "postal_code": customer.billing_postal_code,
            "country": customer.billing_country,
        },
        "seller": {
            "name": business.name,
            "email": business.support_email,
            "tax_id": business.tax_id,
            "address": {
                "line1": business.address_line1,
                "city": business.address_city,
                "state": business.address_state,
                "postal_code": business.address_postal_code,
                "country": business.address_country,
            },
        },
    }


def invoice_number(business: Business, sequence_number: int) -> str:
    return f"{business.invoice_prefix}-{sequence_number:04d}"


def credit_note_number(business: Business, sequence_number: int) -> str:
    return f"{business.invoice_prefix}-CN-{sequence_number:04d}"


async def next_sequence_number(
    connection: BaseDBAsyncClient,
    business_id: str,
    livemode: bool,
    now: datetime,
    sequence: type[InvoiceSequence | CreditNoteSequence] = InvoiceSequence,
) -> int:
    """Take the business's next invoice (or credit-note) number. One upsert locks the sequence row until the
    transaction ends, so numbers are handed out one at a time, and a rolled-back transaction gives its number back:
    no gaps."""
    table = sequence._meta.db_table
    marks = ("$1", "$2", "$3") if connection.capabilities.dialect == "postgres" else ("?", "?", "?")
    statement = (
        f'INSERT INTO "{table}" ("business_id", "livemode", "next_number", "created_at") '
        f"VALUES ({marks[0]}, {marks[1]}, 2, {marks[2]}) "
        f'ON CONFLICT ("business_id", "livemode") DO UPDATE SET "next_number" = "{table}"."next_number" + 1 '
        f'RETURNING "next_number"'
    )
    rows = await connection.execute_query_dict(statement, [business_id, livemode, now])
    return int(rows[0]["next_number"]) - 1


async def issue_invoice(
    connection: BaseDBAsyncClient,
    *,
    payment: Payment,
    customer: Customer,
    business: Business,
    lines: list[Line],
    amounts: Amounts,
    now: datetime,
    summary: Summary | None = None,
) -> Invoice:
    """The paid invoice of a succeeded payment; call inside the transaction that marks the payment succeeded.
    `summary` says what the invoice is for when its lines do not (a plan change)."""
    number = await next_sequence_number(connection, business.id, payment.livemode, now)
    invoice = await Invoice.create(
        business_id=business.id,
        livemode=payment.livemode,
        customer_id=customer.id,
        payment_id=payment.id,
        subscription_id=payment.subscription_id,
        number=invoice_number(business, number),
        status=InvoiceStatus.PAID,
        currency=payment.currency,
        subtotal=amounts.subtotal,
        discount=amounts.discount,
        tax=amounts.tax,
        tax_rate_bp=business.tax_rate_bp,
        credit_applied=amounts.credit_applied,
        total=amounts.total,
        issued_at=now,
        summary=summary.as_json() if summary else None,
        billing_details=billing_details(customer, business),
        created_at=now,
        using_db=connection,
    )
    await InvoiceLine.bulk_create(
        [
            InvoiceLine(
                invoice_id=invoice.id,
                position=position,
                description=line.description[:300],
                wording=line.wording.as_json() if line.wording else None,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                amount=line.amount,
                created_at=now,
            )
            for position, line in enumerate(lines)
        ],
        using_db=connection,
    )
    await queue_render(connection, invoice_key(invoice, preferred_locale(customer.locale)), now)
    return invoice

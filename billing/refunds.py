"""Refunds: money given back on a succeeded payment, each with a credit note.

A succeeded refund takes the next number of the business's credit-note sequence (gap-free, apart from the invoices'
numbers), points at the invoice it corrects and moves that invoice to `refunded` or `partially_refunded`. A refund
of the whole payment disables the license keys the payment handed out. Everything happens in one transaction, so a
credit note never exists without its refund, nor a refund without its number.
"""

from datetime import datetime

from tortoise.transactions import in_transaction

from billing.errors import BillingError, BillingErrorCode
from billing.invoices import credit_note_number, next_sequence_number
from models import Business, CreditNoteSequence, Invoice, LicenseKey, Payment, Refund
from models.enums import InvoiceStatus, LicenseKeyStatus, PaymentStatus, RefundStatus


def refundable_amount(payment: Payment, refunded_so_far: int) -> int:
    return payment.total_amount - refunded_so_far if payment.status == PaymentStatus.SUCCEEDED else 0


async def record_refund(payment: Payment, amount: int, reason: str, now: datetime) -> Refund:
    """A succeeded refund of `amount` on `payment`, with its credit note. Refuses more than is left to refund."""
    async with in_transaction() as connection:
        locked = await Payment.filter(id=payment.id).select_for_update().using_db(connection).get()
        refunded = sum(
            await Refund.filter(payment_id=payment.id, status=RefundStatus.SUCCEEDED)
            .using_db(connection)
            .values_list("amount", flat=True)
        )
        if not 0 < amount <= refundable_amount(locked, refunded):
            raise BillingError(BillingErrorCode.INVALID_INPUT, "amount")
        invoice = await Invoice.get_or_none(payment_id=payment.id).using_db(connection)
        business = await Business.get(id=payment.business_id).using_db(connection)
        number = await next_sequence_number(connection, business.id, payment.livemode, now, CreditNoteSequence)
        refund = await Refund.create(
            business_id=business.id,
            livemode=payment.livemode,
            customer_id=payment.customer_id,
            payment_id=payment.id,
            invoice_id=invoice.id if invoice else None,
            amount=amount,
            currency=payment.currency,
            status=RefundStatus.SUCCEEDED,
            reason=reason[:300],
            credit_note_number=credit_note_number(business, number),
            issued_at=now,
            using_db=connection,
        )
        fully_refunded = refunded + amount == locked.total_amount
        if invoice is not None:
            invoice.status = InvoiceStatus.REFUNDED if fully_refunded else InvoiceStatus.PARTIALLY_REFUNDED
            await invoice.save(update_fields=["status"], using_db=connection)
        if fully_refunded:
            await (
                LicenseKey.filter(payment_id=payment.id, status=LicenseKeyStatus.ACTIVE)
                .using_db(connection)
                .update(status=LicenseKeyStatus.DISABLED)
            )
    return refund

"""Refunds: money given back on a succeeded payment, each with a credit note.

`refund_payment` gives money back through the processor exactly once per idempotency key, the way billing/charges.py
charges:

1. Claim: in a short transaction holding a row lock on the payment, a `pending` Refund is inserted under its unique
   key after checking the amount against what is left, pending refunds counted. Two concurrent refunds that together
   exceed the payment cannot both be claimed: the second sees the first's pending row.
2. Call: the processor refunds under the same key, outside any transaction and without a lock.
3. Settle: one transaction moves the refund out of `pending` with a conditional UPDATE whose row count decides who
   settles it. A succeeded refund takes the next number of the business's credit-note sequence (gap-free, apart from
   the invoices'), points at the invoice it corrects, moves that invoice to `refunded` or `partially_refunded`,
   disables the license keys the payment handed out when the whole payment is refunded, and writes
   `refund.succeeded` and the customer's email. A refund the processor refuses is `failed`, with `refund.failed`.

A retry with the same key answers the first refund; one left `pending` by a crash between the call and the settle
is finished by calling the processor again under the same key, which answers a repeated key with its first result.
"""

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from billing.context import BillingContext
from billing.document_store import credit_note_key, preferred_locale, queue_render
from billing.errors import BillingError, BillingErrorCode
from billing.events import record_refund_event
from billing.invoices import credit_note_number, next_sequence_number
from billing.notifications import Notifier
from billing.processors.protocol import ProcessorError
from core.clock import utcnow
from core.inputs import is_idempotency_key
from core.observations import Observed, report
from models import Business, CreditNoteSequence, Customer, Invoice, LicenseKey, Payment, Refund
from models.base import column_length, column_values
from models.enums import InvoiceStatus, LicenseKeyStatus, PaymentStatus, RefundStatus

REASON_LENGTH = column_length(Refund, "reason")
_COUNTED = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


def refundable_amount(payment: Payment, refunded_so_far: int) -> int:
    return payment.total_amount - refunded_so_far if payment.status == PaymentStatus.SUCCEEDED else 0


def refund_key(payment: Payment, client_key: str) -> str:
    """The stored key: the client's, namespaced by the business and mode of the payment."""
    key = f"{payment.business_id}:{'live' if payment.livemode else 'test'}:{client_key}"
    if not is_idempotency_key(client_key or ""):
        raise BillingError(BillingErrorCode.INVALID_INPUT, field="idempotencyKey")
    return key


async def refund_payment(
    payment: Payment,
    amount: int | None,
    reason: str,
    *,
    client_key: str,
    context: BillingContext,
    now: datetime | None = None,
) -> Refund:
    """Refund `amount` (None: all that is left) of a succeeded payment once per `client_key`; a retry answers the
    first refund. Raises BillingError, with nothing written, for a payment or amount that cannot be refunded and
    for a key used for another refund. A processor that fails unexpectedly leaves the refund `pending`, for a retry
    with the same key to finish."""
    key = refund_key(payment, client_key)
    if len(reason) > REASON_LENGTH:
        raise BillingError(BillingErrorCode.INVALID_INPUT, field="reason")
    now = now or utcnow()
    refund = await Refund.get_or_none(idempotency_key=key) or await _claim(payment, amount, reason, key, now)
    if refund.payment_id != payment.id or amount not in (None, refund.amount):
        raise BillingError(BillingErrorCode.IDEMPOTENCY_KEY_REUSED, field="idempotencyKey")
    if refund.status != RefundStatus.PENDING:
        return refund
    processor = await context.processor_for(payment.business_id, payment.livemode)
    try:
        await processor.refund(payment.processor_reference, refund.amount, idempotency_key=key)
    except ProcessorError:
        return await _settle(refund, RefundStatus.FAILED, context, now)
    return await _settle(refund, RefundStatus.SUCCEEDED, context, now)


async def record_refund(
    payment: Payment,
    amount: int,
    reason: str,
    now: datetime,
    *,
    context: BillingContext | None,
    key: str | None = None,
) -> Refund:
    """A refund the processor already made (from its own dashboard, say), recorded as a succeeded one with its
    credit note, event and email. Refuses more than is left to refund. `key` (the processor's refund id) makes
    recording it again answer the first record. Without a context nobody is emailed: a recorded history (the
    demo's) tells no customer about a refund long past."""
    refund = await _claim(payment, amount, reason[:REASON_LENGTH], key, now)
    if refund.status != RefundStatus.PENDING:
        return refund
    return await _settle(refund, RefundStatus.SUCCEEDED, context, now)


async def _counted_amount(connection: BaseDBAsyncClient, payment_id: str, statuses: tuple[RefundStatus, ...]) -> int:
    refunds = Refund.filter(payment_id=payment_id, status__in=statuses).using_db(connection)
    return sum(await column_values(refunds, "amount"))


async def _claim(payment: Payment, amount: int | None, reason: str, key: str | None, now: datetime) -> Refund:
    """The pending refund of this request, or the refund a concurrent request under the same key claimed first."""
    try:
        async with in_transaction() as connection:
            locked = await Payment.filter(id=payment.id).select_for_update().using_db(connection).get()
            # Checked again under the lock: a request with this key that held it first has claimed the refund.
            earlier = await Refund.get_or_none(idempotency_key=key, using_db=connection) if key else None
            if earlier is not None:
                return earlier
            left = refundable_amount(locked, await _counted_amount(connection, payment.id, _COUNTED))
            if left <= 0:
                raise BillingError(BillingErrorCode.PAYMENT_NOT_REFUNDABLE, field="paymentId")
            wanted = left if amount is None else amount
            if not 0 < wanted <= left:
                raise BillingError(BillingErrorCode.REFUND_AMOUNT_INVALID, field="amount", params={"maximum": left})
            return await Refund.create(
                business_id=locked.business_id,
                livemode=locked.livemode,
                customer_id=locked.customer_id,
                payment_id=locked.id,
                amount=wanted,
                currency=locked.currency,
                status=RefundStatus.PENDING,
                reason=reason,
                idempotency_key=key,
                created_at=now,
                using_db=connection,
            )
    except IntegrityError:
        # A concurrent request under the same key inserted first (where the database does not serialise the lock).
        return await Refund.get(idempotency_key=key)


async def _settle(refund: Refund, status: RefundStatus, context: BillingContext | None, now: datetime) -> Refund:
    async with in_transaction() as connection:
        won = await (
            Refund.filter(id=refund.id, status=RefundStatus.PENDING)
            .using_db(connection)
            .update(status=status, issued_at=now if status == RefundStatus.SUCCEEDED else None)
        )
        if won:
            refund = await Refund.get(id=refund.id, using_db=connection)
            payment = await Payment.get(id=refund.payment_id, using_db=connection)
            if status == RefundStatus.SUCCEEDED:
                await _issue_credit_note(connection, refund, payment, now)
                if context is not None:
                    await _notify(refund, payment, context)
            refund.payment = payment
            await record_refund_event(refund)
    if won:
        report(Observed.REFUND, status)
    return await Refund.get(id=refund.id)


async def _issue_credit_note(connection: BaseDBAsyncClient, refund: Refund, payment: Payment, now: datetime) -> None:
    """Number the succeeded refund's credit note and apply it: the invoice's status, and the keys on a full refund."""
    business = await Business.get(id=refund.business_id, using_db=connection)
    invoice = await Invoice.get_or_none(payment_id=payment.id, using_db=connection)
    number = await next_sequence_number(connection, business.id, refund.livemode, now, CreditNoteSequence)
    refund.credit_note_number = credit_note_number(business, number)
    refund.invoice_id = invoice.id if invoice else None
    await refund.save(update_fields=["credit_note_number", "invoice_id"], using_db=connection)
    refunded = await _counted_amount(connection, payment.id, (RefundStatus.SUCCEEDED,))
    fully_refunded = refunded >= payment.total_amount
    if invoice is not None:
        invoice.status = InvoiceStatus.REFUNDED if fully_refunded else InvoiceStatus.PARTIALLY_REFUNDED
        await invoice.save(update_fields=["status"], using_db=connection)
        customer = await Customer.get(id=refund.customer_id, using_db=connection)
        await queue_render(connection, credit_note_key(refund, preferred_locale(customer.locale)), now)
    if fully_refunded:
        await (
            LicenseKey.filter(payment_id=payment.id, status=LicenseKeyStatus.ACTIVE)
            .using_db(connection)
            .update(status=LicenseKeyStatus.DISABLED)
        )


async def _notify(refund: Refund, payment: Payment, context: BillingContext) -> None:
    customer = await Customer.get(id=refund.customer_id)
    business = await Business.get(id=refund.business_id)
    await Notifier(context, business, customer, customer.locale).refund_issued(refund, payment)

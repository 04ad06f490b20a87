"""Charging a saved payment method exactly once per idempotency key.

1. Claim: the Payment row is inserted as `processing` under its unique idempotency key. A request that finds the row
   already there is a retry: the same request replays the first one's answer, another request under the same key is
   refused (IDEMPOTENCY_KEY_REUSED).
2. Charge: the processor is called with the same key, outside any transaction and without a row lock. A processor
   answers a repeated key with its first charge, so a retry after a crash (charged, but never recorded) finds that
   charge instead of making a second. The charge is on-session or off-session as the outcome says (a renewal is
   made while the customer is away). A processor with no answer yet (PENDING: another request under the same key
   is still asking it) leaves the payment `processing`, for the retry or the billing run.
3. Settle: one transaction moves the payment out of `processing` with a conditional UPDATE whose row count decides
   who settles it, and, with it, issues the invoice, applies the outcome (the subscription reactivated, renewed, put
   on hold), and writes the events and emails; the settling request alone reports the outcome (core.observations,
   counted in the metrics). Of twenty concurrent identical requests, one settles; all answer the same payment.
"""

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from billing.credits import use_credit
from billing.errors import BillingError, BillingErrorCode, decline_message
from billing.events import record_payment_event
from billing.invoices import Line, issue_invoice
from billing.line_wording import Summary, Wording
from billing.notifications import Notifier
from billing.processors.protocol import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineCode,
    PaymentProcessor,
    ProcessorError,
)
from billing.tax import Amounts
from core.clock import utcnow
from core.inputs import is_idempotency_key
from core.observations import Observed, report
from models import Business, Customer, Invoice, Payment, PaymentMethod, Product, Subscription
from models.enums import PaymentPurpose, PaymentStatus

_KEPT_KEY_LENGTH = 64
SETTLED = (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED)
UNSETTLED = (PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_CUSTOMER_ACTION)


def check_client_key(client_key: str) -> None:
    """Refuse a client's idempotency key that is empty, too long or not printable ASCII."""
    if not is_idempotency_key(client_key or ""):
        raise BillingError(BillingErrorCode.INVALID_INPUT, field="idempotencyKey")


def client_idempotency_key(purpose: PaymentPurpose, subscription: Subscription, client_key: str) -> str:
    """A client's key, namespaced by what it is for and the subscription, so no other request can collide with it.

    A key of up to 64 characters is stored as sent, as keys always were; a longer one (core.inputs allows 255, as
    Stripe does) as its SHA-256, so that every allowed key fits the column. No key of 64 characters or fewer can
    read `sha256:` and 64 hex digits, so the two forms never meet."""
    check_client_key(client_key)
    kept = (
        client_key
        if len(client_key) <= _KEPT_KEY_LENGTH
        else f"sha256:{hashlib.sha256(client_key.encode()).hexdigest()}"
    )
    return f"{purpose}:{subscription.id}:{kept}"


def period_line(product_name: str, quantity: int, start: datetime, end: datetime, subtotal: int) -> Line:
    """The invoice line of one billing period of `quantity` × a product, making up `subtotal`."""
    return Line.worded(Wording.period(product_name, start, end), quantity, subtotal)


@dataclass(frozen=True)
class Parties:
    """Who a subscription's charge is between, and what it is for."""

    customer: Customer
    business: Business
    product_name: str


async def parties_of(subscription: Subscription) -> Parties:
    customer = await Customer.get(id=subscription.customer_id)
    business = await Business.get(id=subscription.business_id)
    product = await Product.get_or_none(id=subscription.product_id)
    return Parties(customer, business, product.name if product else "")


class ChargeOutcome(ABC):
    """What a settled charge changes, applied inside the settling transaction: for a subscription
    (SubscriptionOutcome) or for a purchase of one-time products (billing.purchases)."""

    purpose: PaymentPurpose
    # A charge made while the customer is away cannot be authenticated by them: it fails instead of waiting.
    off_session: bool = False
    customer: Customer
    business: Business
    notifier: Notifier
    currency: str
    # The subscription the payment is for; None for a purchase.
    subscription_id: str | None = None

    @staticmethod
    def amounts(payment: Payment) -> Amounts:
        return Amounts(payment.subtotal, payment.tax, payment.total_amount, payment.discount, payment.credit_applied)

    async def still_applies(self) -> bool:
        """Whether the change this payment pays for can still be made (checked when it settles late)."""
        return True

    async def recorded(self, payment: Payment) -> None:
        """The payment row was just made, before any charge: record what it is for beside it (nothing, by
        default: a subscription's payment says it through its subscription)."""
        return None

    @abstractmethod
    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        """The invoice lines of the succeeded payment."""

    def summary(self) -> Summary | None:
        """What the invoice is for, when its lines do not say it (by default they do)."""
        return None

    @abstractmethod
    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None: ...

    @abstractmethod
    async def failed(self, payment: Payment, now: datetime) -> None: ...


class SubscriptionOutcome(ChargeOutcome):
    """What a settled charge for a subscription changes."""

    def __init__(self, subscription: Subscription, parties: Parties, notifier: Notifier) -> None:
        self.subscription = subscription
        self.subscription_id = subscription.id
        self.currency = subscription.currency
        self.customer = parties.customer
        self.business = parties.business
        self.product_name = parties.product_name
        self.notifier = notifier

    def period_line(self, start: datetime, end: datetime, subtotal: int) -> Line:
        """The invoice line of one billing period."""
        return period_line(self.product_name, self.subscription.quantity, start, end, subtotal)


@dataclass(frozen=True)
class ChargeIntent:
    """A charge somebody asks for. `idempotency_key` is the stored key, already namespaced by its caller;
    `return_url` is where the customer returns after authenticating, with `{payment_id}` filled in."""

    method: PaymentMethod | None
    amounts: Amounts
    idempotency_key: str
    return_url: str = ""
    # What else the request asks for (a plan change's product and quantity): part of what a key must repeat.
    request: str = ""
    # Kept on the payment for whoever settles it later (a plan change's target, lines and cycle).
    details: dict | None = None

    def fingerprint(self, outcome: ChargeOutcome) -> str:
        request = (
            f"{outcome.purpose}|{outcome.customer.id}|{outcome.subscription_id or ''}|"
            f"{self.method.id if self.method else ''}|{self.amounts.total}|{outcome.currency}|{self.request}"
        )
        return hashlib.sha256(request.encode()).hexdigest()


async def charge_once(intent: ChargeIntent, outcome: ChargeOutcome, processor: PaymentProcessor) -> Payment:
    """Charge once for the intent's key and settle the outcome; a retry answers the first charge's payment.

    Raises BillingError(IDEMPOTENCY_KEY_REUSED) when the key was used for another request. A processor that fails
    unexpectedly leaves the payment `processing`, for a retry with the same key to finish."""
    payment = await _claim(intent, outcome)
    if payment.status != PaymentStatus.PROCESSING:
        return payment
    return_url = intent.return_url.replace("{payment_id}", payment.id)
    return await drive(payment, intent.method, outcome, processor, return_url=return_url)


async def drive(
    payment: Payment,
    method: PaymentMethod | None,
    outcome: ChargeOutcome,
    processor: PaymentProcessor,
    *,
    return_url: str = "",
) -> Payment:
    """Ask the processor about a `processing` payment (again) and settle whatever it answers. Nothing to charge
    (credit or a discount paid it all) needs no processor."""
    if not outcome.amounts(payment).add_up():
        # Amounts no invoice could show (a half-made payment): never charged, never invoiced.
        return await settle(payment, _failure(DeclineCode.PROCESSING_ERROR), outcome)
    if payment.total_amount == 0:
        return await settle(payment, ChargeResult(status=ChargeStatus.SUCCEEDED, reference=""), outcome)
    if method is None:
        return await settle(payment, _failure(DeclineCode.PROCESSING_ERROR), outcome)
    request = ChargeRequest(
        token=method.processor_token,
        amount=payment.total_amount,
        currency=payment.currency,
        idempotency_key=payment.idempotency_key,
        return_url=return_url,
        customer_reference=payment.customer_id,
        off_session=outcome.off_session,
    )
    try:
        result = await processor.charge(request)
    except ProcessorError:
        result = _failure(DeclineCode.PROCESSING_ERROR)
    if result.status == ChargeStatus.PENDING:
        return payment
    return await settle(payment, await _unless_superseded(payment, result, outcome, processor), outcome)


async def complete(payment: Payment, outcome: ChargeOutcome, processor: PaymentProcessor) -> Payment:
    """Settle a payment that waited for the customer's authentication, once the processor knows the answer."""
    if payment.status != PaymentStatus.REQUIRES_CUSTOMER_ACTION:
        return payment
    try:
        result = await processor.complete_charge(payment.processor_reference)
    except ProcessorError:
        result = _failure(DeclineCode.PROCESSING_ERROR)
    if result.status in (ChargeStatus.REQUIRES_ACTION, ChargeStatus.PENDING):
        return payment
    return await settle(payment, await _unless_superseded(payment, result, outcome, processor), outcome)


async def _unless_superseded(
    payment: Payment, result: ChargeResult, outcome: ChargeOutcome, processor: PaymentProcessor
) -> ChargeResult:
    """A charge that succeeded after what it paid for happened another way (another tab paid, a recovered charge
    finished late) is given back and settles as failed, so the same dues are never kept twice."""
    if result.status != ChargeStatus.SUCCEEDED or await outcome.still_applies():
        return result
    await processor.refund(result.reference, payment.total_amount, idempotency_key=f"superseded:{payment.id}")
    return ChargeResult(ChargeStatus.FAILED, result.reference, DeclineCode.SUPERSEDED)


def _failure(code: DeclineCode) -> ChargeResult:
    return ChargeResult(status=ChargeStatus.FAILED, reference="", decline_code=code)


async def _claim(intent: ChargeIntent, outcome: ChargeOutcome) -> Payment:
    fingerprint = intent.fingerprint(outcome)
    payment = await Payment.get_or_none(idempotency_key=intent.idempotency_key)
    if payment is None:
        try:
            payment = await _new_payment(intent, outcome, fingerprint)
        except IntegrityError:
            # A concurrent request with the same key inserted first: this request is its retry.
            payment = await Payment.get(idempotency_key=intent.idempotency_key)
    if payment.request_fingerprint != fingerprint:
        raise BillingError(BillingErrorCode.IDEMPOTENCY_KEY_REUSED, field="idempotencyKey")
    return payment


async def _new_payment(intent: ChargeIntent, outcome: ChargeOutcome, fingerprint: str) -> Payment:
    method = intent.method
    payment = await Payment.create(
        business_id=outcome.customer.business_id,
        livemode=outcome.customer.livemode,
        customer_id=outcome.customer.id,
        subscription_id=outcome.subscription_id,
        total_amount=intent.amounts.total,
        tax=intent.amounts.tax,
        subtotal=intent.amounts.subtotal,
        discount=intent.amounts.discount,
        credit_applied=intent.amounts.credit_applied,
        details=intent.details,
        currency=outcome.currency,
        status=PaymentStatus.PROCESSING,
        purpose=outcome.purpose,
        payment_method_id=method.id if method else None,
        card_last_four=method.last4 if method else "",
        card_network=method.brand if method else "",
        idempotency_key=intent.idempotency_key,
        request_fingerprint=fingerprint,
    )
    await outcome.recorded(payment)
    return payment


def _settled_status(result: ChargeResult, outcome: ChargeOutcome) -> tuple[PaymentStatus, ChargeResult]:
    if result.status == ChargeStatus.SUCCEEDED:
        return PaymentStatus.SUCCEEDED, result
    if result.status == ChargeStatus.REQUIRES_ACTION and not outcome.off_session:
        return PaymentStatus.REQUIRES_CUSTOMER_ACTION, result
    if result.status == ChargeStatus.REQUIRES_ACTION:
        result = ChargeResult(ChargeStatus.FAILED, result.reference, DeclineCode.AUTHENTICATION_REQUIRED)
    return PaymentStatus.FAILED, result


async def settle(
    payment: Payment, result: ChargeResult, outcome: ChargeOutcome, *, now: datetime | None = None
) -> Payment:
    """Record the processor's answer once; the request whose conditional UPDATE wins applies the outcome. `now` is
    the clock's (a recorded history, such as the demo's, passes its own)."""
    status, result = _settled_status(result, outcome)
    if status == PaymentStatus.REQUIRES_CUSTOMER_ACTION:
        async with in_transaction():
            waiting = await Payment.filter(id=payment.id, status=PaymentStatus.PROCESSING).update(
                status=status, processor_reference=result.reference, next_action_url=result.next_action_url
            )
            if waiting:
                await record_payment_event(await Payment.get(id=payment.id))
        if waiting:
            report(Observed.CHARGE, status)
        return await Payment.get(id=payment.id)
    now = now or utcnow()
    failed = status == PaymentStatus.FAILED
    async with in_transaction() as connection:
        won = await Payment.filter(id=payment.id, status__in=UNSETTLED).update(
            status=status,
            processor_reference=result.reference or payment.processor_reference,
            error_code=str(result.decline_code or DeclineCode.PROCESSING_ERROR) if failed else None,
            error_message=decline_message(result.decline_code) if failed else None,
            next_action_url="",
        )
        if won:
            payment = await Payment.get(id=payment.id)
            await record_payment_event(payment)
            if failed:
                await outcome.failed(payment, now)
            else:
                await use_credit(payment)
                invoice = await issue_invoice(
                    connection,
                    payment=payment,
                    customer=outcome.customer,
                    business=outcome.business,
                    lines=outcome.lines(payment, now),
                    amounts=outcome.amounts(payment),
                    now=now,
                    summary=outcome.summary(),
                )
                await outcome.succeeded(payment, invoice, now)
    if won:
        report(Observed.CHARGE, status)
    return await Payment.get(id=payment.id)

"""Buying one-time products: the cart of a purchase and its charge, paid at a checkout (billing.checkout) that the
merchant's payment link opens (Dodo's `payments.create` with `payment_link`).

A cart holds 1 to 100 lines of a one-time product of the customer's business and mode, not archived, in one
currency and one tax treatment (a price with its tax inside or tax on top: one invoice adds up one way). Each line
keeps the unit price the link was made at, so a later price change does not change what the link charges.

Paying charges through billing.charges under `purchase:{session}:{attempt}`. A declined charge moves the session's
`attempt` on (in the settling transaction), so the customer may try another card; two tabs at the same attempt share
one key, so one charge. A success is the paid Payment (purpose PURCHASE) with its items, the invoice, a license key
for each product that issues them, the receipt and the `payment.succeeded` event, and marks the session completed.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from tortoise.expressions import F

from billing.charges import ChargeIntent, ChargeOutcome, charge_once
from billing.context import BillingContext
from billing.credits import credit_balance
from billing.errors import BillingError, BillingErrorCode
from billing.invoices import Line
from billing.license_issuance import issue_license_key
from billing.notifications import Notifier
from billing.payment_methods import add_payment_method
from billing.tax import Amounts, charge_amounts
from core.clock import utcnow
from merchants.features import MAX_QUANTITY, merchant_features
from models import Business, CheckoutSession, Customer, Invoice, Payment, PaymentItem, Product
from models.enums import PaymentPurpose, PriceType
from models.ids import find_by_client_id

MAX_CART_LINES = 100


@dataclass(frozen=True)
class CartLine:
    """What the merchant asks for: a product id (as given) and how many."""

    product_id: str
    quantity: int


@dataclass(frozen=True)
class PurchaseLine:
    """A line of a checked cart."""

    product: Product
    quantity: int
    # The unit price the link was made at.
    amount: int

    @property
    def subtotal(self) -> int:
        return self.amount * self.quantity


def _refuse(code: BillingErrorCode, field: str, message: str) -> BillingError:
    return BillingError(code, field=field, message=message)


async def checked_cart(business_id: str, livemode: bool, cart: Sequence[CartLine]) -> list[PurchaseLine]:
    """The cart's lines, each a one-time product the business sells in this mode; raises BillingError naming the first
    line refused. A product of another business or mode is refused like a missing one."""
    if not 0 < len(cart) <= MAX_CART_LINES:
        raise _refuse(BillingErrorCode.INVALID_INPUT, "productCart", "A cart holds 1 to 100 products.")
    products = Product.filter(business_id=business_id, livemode=livemode, price_type=PriceType.ONE_TIME, archived=False)
    lines = []
    for index, line in enumerate(cart):
        product = await find_by_client_id(products, line.product_id)
        if product is None:
            message = "No one-time product with that id."
            raise _refuse(BillingErrorCode.NOT_FOUND, f"productCart.{index}.productId", message)
        if not 0 < line.quantity <= MAX_QUANTITY:
            message = f"The quantity is a whole number from 1 to {MAX_QUANTITY}."
            raise _refuse(BillingErrorCode.INVALID_INPUT, f"productCart.{index}.quantity", message)
        lines.append(PurchaseLine(product, line.quantity, product.price))
    first = lines[0].product
    if any((p.product.currency, p.product.tax_inclusive) != (first.currency, first.tax_inclusive) for p in lines):
        message = "The products of one payment share one currency and one tax treatment."
        raise _refuse(BillingErrorCode.INVALID_INPUT, "productCart", message)
    return lines


def stored_items(lines: Sequence[PurchaseLine]) -> list[dict[str, Any]]:
    """The cart as a checkout session keeps it."""
    return [
        {
            "product_id": line.product.id,
            "quantity": line.quantity,
            "amount": line.amount,
            "currency": line.product.currency,
            "tax_inclusive": line.product.tax_inclusive,
        }
        for line in lines
    ]


def cart_fingerprint(customer: Customer, lines: Sequence[PurchaseLine], return_url: str) -> str:
    """What a create asks, hashed: a retry under the same key must ask the same."""
    asked = [customer.id, [(line.product.id, line.quantity) for line in lines], return_url]
    return hashlib.sha256(orjson.dumps(asked)).hexdigest()


async def session_lines(session: CheckoutSession) -> list[PurchaseLine]:
    """A purchase session's cart, with its products as they are now and its prices as they were."""
    products = {p.id: p for p in await Product.filter(id__in=[item["product_id"] for item in session.items])}
    return [PurchaseLine(products[item["product_id"]], item["quantity"], item["amount"]) for item in session.items]


async def purchase_amounts(session: CheckoutSession, business: Business) -> Amounts:
    """What paying the cart charges now: its lines, taxed, less the customer's credit in its currency."""
    first = session.items[0]
    subtotal = sum(item["amount"] * item["quantity"] for item in session.items)
    balance = await credit_balance(session.customer_id or "", first["currency"])
    return charge_amounts(
        subtotal, rate_bp=business.tax_rate_bp, inclusive=first["tax_inclusive"], credit_balance=balance
    )


class PurchaseOutcome(ChargeOutcome):
    """A purchase's charge: the session completed with its license keys and receipt, or open for another card."""

    purpose = PaymentPurpose.PURCHASE

    def __init__(
        self,
        session: CheckoutSession,
        lines: list[PurchaseLine],
        parties: tuple[Customer, Business],
        notifier: Notifier,
    ) -> None:
        self.session = session
        self.lines_bought = lines
        self.customer, self.business = parties
        self.currency = session.items[0]["currency"]
        self.notifier = notifier

    async def recorded(self, payment: Payment) -> None:
        await PaymentItem.bulk_create(
            [
                PaymentItem(
                    payment_id=payment.id, product_id=line.product.id, quantity=line.quantity, amount=line.subtotal
                )
                for line in self.lines_bought
            ]
        )

    async def still_applies(self) -> bool:
        return await CheckoutSession.exists(id=self.session.id, completed_at__isnull=True)

    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        return [Line(line.product.name, line.quantity, line.amount) for line in self.lines_bought]

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        paid = CheckoutSession.filter(id=self.session.id, completed_at__isnull=True)
        if not await paid.update(completed_at=now, payment_id=payment.id):
            return
        for line in self.lines_bought:
            await issue_license_key(line.product, self.customer, now, payment=payment)
        names = ", ".join(line.product.name for line in self.lines_bought)
        await self.notifier.payment_receipt(payment, invoice, names)

    async def failed(self, payment: Payment, now: datetime) -> None:
        attempt = (payment.details or {}).get("attempt")
        await CheckoutSession.filter(id=self.session.id, attempt=attempt).update(attempt=F("attempt") + 1)


async def purchase_outcome(session: CheckoutSession, context: BillingContext, locale: str = "") -> PurchaseOutcome:
    customer = await Customer.get(id=session.customer_id)
    business = await Business.get(id=session.business_id)
    notifier = Notifier(context, business, customer, locale or customer.locale)
    return PurchaseOutcome(session, await session_lines(session), (customer, business), notifier)


async def payment_session(payment: Payment) -> CheckoutSession | None:
    """The purchase session a payment was charged for; None for any other payment."""
    session_id = (payment.details or {}).get("checkout_session_id")
    if payment.purpose != PaymentPurpose.PURCHASE or not session_id:
        return None
    return await CheckoutSession.get_or_none(id=session_id)


async def pay_purchase(
    session: CheckoutSession, processor_token: str, context: BillingContext, return_url: str
) -> Payment:
    """Save the card the customer gave at the checkout and charge the cart with it, under the session's attempt.

    A tab that finds the attempt's charge made (by another tab, or a reload) answers that payment and charges
    nothing. Raises BillingError for a card the processor refuses (the session stays open)."""
    await session.refresh_from_db()
    key = f"purchase:{session.id}:{session.attempt}"
    earlier = await Payment.get_or_none(idempotency_key=key)
    if earlier is not None or session.completed_at is not None:
        return earlier or await Payment.get(id=session.payment_id)
    if session.expires_at <= utcnow():
        raise BillingError(BillingErrorCode.NOT_ALLOWED, field="checkout", message="This payment link has expired.")
    customer = await Customer.get(id=session.customer_id)
    processor = await context.processor_for(session.business_id, session.livemode)
    method = await add_payment_method(
        customer, processor_token, set_as_default=False, processor=processor, features=merchant_features()
    )
    outcome = await purchase_outcome(session, context)
    intent = ChargeIntent(
        method=method,
        amounts=await purchase_amounts(session, outcome.business),
        idempotency_key=key,
        return_url=return_url,
        details={"checkout_session_id": session.id, "attempt": session.attempt},
    )
    try:
        return await charge_once(intent, outcome, processor)
    except BillingError as refused:
        if refused.code != BillingErrorCode.IDEMPOTENCY_KEY_REUSED:
            raise
        # Another tab claimed this attempt with its own card a moment ago: its charge is this checkout's.
        return await Payment.get(idempotency_key=key)

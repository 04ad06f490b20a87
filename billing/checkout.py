"""Checkout sessions: the hosted page a payment link opens (`/checkout/{token}`), where the customer of a subscription
created with `payment_link` gives a card and pays the first period (or starts the trial).

The link's token is derived from the session id under the deployment's secret key, so a retried create (the same
idempotency key) answers the same link; only its SHA-256 is stored, and a lookup finds the session by that hash.
The portal's "subscribe again" on an ended subscription opens one the same way (`subscribe_again`).
A session expires after `CHECKOUT_LIFETIME` (its pending subscription then fails, billing.subscription_start) and
is used once: the charge runs under a key derived from the session through billing.subscription_start's
`pay_pending_start`, under the subscription's claim, so a double submit or a second tab never charges twice. A
declined card leaves the checkout open for another one.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from billing.context import BillingContext
from billing.errors import BillingError, BillingErrorCode
from billing.payments import complete_payment
from billing.prices import subscription_price
from billing.subscription_start import (
    StartRequest,
    SubscriptionStart,
    first_period_charge,
    pay_pending_start,
    start_subscription,
)
from billing.tax import Amounts
from core.clock import utcnow
from core.prices import RecurringPrice
from core.tokens import CHECKOUT_PREFIX, hash_token
from models import Business, CheckoutSession, Customer, Payment, Product, Subscription
from models.enums import PaymentPurpose, SubscriptionStatus
from models.ids import find_by_client_id

CHECKOUT_LIFETIME = timedelta(hours=24)
CHECKOUT_PATH = "/checkout/"
# Where the processor's 3-D Secure page sends the customer back, `{payment_id}` filled in by billing.charges.
CHECKOUT_COMPLETE_PATH = "/checkout/payments/{payment_id}/complete"
_TOKEN_LENGTH = len(CHECKOUT_PREFIX) + 64
# What a customer may subscribe to again from the portal: an ended subscription, or one whose first payment failed
# (it never started and nothing is owed, so trying again with another card is a new checkout).
ENDED = (SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED, SubscriptionStatus.FAILED)


class CheckoutState(StrEnum):
    OPEN = "open"
    # Past its life, or its subscription ended another way: a new link is needed.
    EXPIRED = "expired"
    # The subscription started (this link or another way): nothing is left to pay.
    PAID = "paid"


@dataclass(frozen=True)
class Checkout:
    """One session and what its page shows."""

    session: CheckoutSession
    subscription: Subscription
    business: Business
    customer: Customer
    product: Product
    # What is charged now: the first period, or nothing while a trial runs.
    due_now: Amounts

    @property
    def price(self) -> RecurringPrice:
        """What each billing period will cost, with its interval and tax."""
        return subscription_price(self.subscription, self.business)

    def state(self, now: datetime) -> CheckoutState:
        status = self.subscription.status
        if self.session.completed_at is not None or status == SubscriptionStatus.ACTIVE:
            return CheckoutState.PAID
        # A pending subscription past its link's life, or one that ended unpaid (failed, cancelled by the merchant).
        if status != SubscriptionStatus.PENDING or self.session.expires_at <= now:
            return CheckoutState.EXPIRED
        return CheckoutState.OPEN


def _token(session_id: str, secret_key: str) -> str:
    digest = hmac.new(secret_key.encode(), f"checkout:{session_id}".encode(), hashlib.sha256).hexdigest()
    return CHECKOUT_PREFIX + digest


def _client_key(session: CheckoutSession) -> str:
    """The key the first period is charged under (with the attempt's number): one per session and attempt, whatever
    the tabs and submits."""
    return f"checkout:{session.id}"


@dataclass(frozen=True)
class CheckoutLink:
    link: str
    expires_at: datetime


async def open_checkout(subscription: Subscription, return_url: str, context: BillingContext) -> CheckoutLink:
    """The payment link of a pending subscription: its session's, made on the first call (a retried create's
    `return_url` is the first one's)."""
    session = await CheckoutSession.get_or_none(subscription_id=subscription.id)
    if session is None:
        session = CheckoutSession(
            business_id=subscription.business_id,
            livemode=subscription.livemode,
            subscription_id=subscription.id,
            return_url=return_url,
            expires_at=utcnow() + CHECKOUT_LIFETIME,
        )
        session.token_hash = hash_token(_token(session.id, context.secret_key))
        try:
            await session.save()
        except IntegrityError:
            # A concurrent retry of the same create made it first.
            session = await CheckoutSession.get(subscription_id=subscription.id)
    return CheckoutLink(context.portal_url(checkout_path(session, context)), session.expires_at)


def checkout_path(session: CheckoutSession, context: BillingContext) -> str:
    """The path of the session's checkout page, its token included."""
    return CHECKOUT_PATH + _token(session.id, context.secret_key)


async def subscribe_again(
    ended: Subscription, client_key: str, return_url: str, context: BillingContext
) -> CheckoutLink:
    """A new subscription to an ended (or failed) one's product and quantity, pending at a checkout where its
    customer gives a card and confirms the payment: nothing is charged before.

    No second trial. Raises BillingError(NOT_ALLOWED) for a subscription that has not ended or a product the business
    no longer sells; the same key answers the same checkout."""
    product = await Product.get(id=ended.product_id)
    if ended.status not in ENDED or product.archived:
        raise BillingError(BillingErrorCode.NOT_ALLOWED, field="subscriptionId")
    request = StartRequest(
        customer=await Customer.get(id=ended.customer_id),
        product_id=product.id,
        client_key=client_key,
        quantity=ended.quantity,
        trial_period_days=0,
        payment_link=True,
    )
    start = await start_subscription(request, context)
    return await open_checkout(start.subscription, return_url, context)


async def _checkout_of(session: CheckoutSession) -> Checkout:
    subscription = await Subscription.get(id=session.subscription_id)
    business = await Business.get(id=session.business_id)
    trial = subscription.trial_ends_at is not None
    due_now = Amounts(0, 0, 0) if trial else await first_period_charge(subscription, business)
    return Checkout(
        session=session,
        subscription=subscription,
        business=business,
        customer=await Customer.get(id=subscription.customer_id),
        product=await Product.get(id=subscription.product_id),
        due_now=due_now,
    )


async def find_checkout(token: str) -> Checkout | None:
    """The session a link's token opens, in any state; None for a token that opens nothing."""
    if not token.startswith(CHECKOUT_PREFIX) or len(token) != _TOKEN_LENGTH:
        return None
    session = await CheckoutSession.get_or_none(token_hash=hash_token(token))
    return await _checkout_of(session) if session is not None else None


async def session_checkout(session_id: str) -> Checkout | None:
    """The session with this id (from the processor's return address, which carries no token)."""
    session = await find_by_client_id(CheckoutSession.all(), session_id)
    return await _checkout_of(session) if session is not None else None


async def landing_url(checkout: Checkout, context: BillingContext) -> str:
    """Where a customer goes once paid: the merchant's return URL, else the business's portal."""
    return checkout.session.return_url or await context.sign_in_url(checkout.business, checkout.session.livemode)


def setup_return_path(token: str) -> str:
    """Where the processor's "add a card" page sends the customer back with the card's token."""
    return f"{CHECKOUT_PATH}{token}/card"


async def pay_checkout(checkout: Checkout, processor_token: str, context: BillingContext) -> SubscriptionStart:
    """Save the card and start the subscription (charge or trial); the session is used once it has started.

    Raises BillingError for a card the processor refuses (the session stays open for another card)."""
    session = checkout.session
    start = await pay_pending_start(
        checkout.subscription,
        processor_token,
        _client_key(session),
        context,
        return_url=context.portal_url(CHECKOUT_COMPLETE_PATH),
    )
    if start.subscription.status == SubscriptionStatus.ACTIVE:
        await _complete(session)
    return start


async def _complete(session: CheckoutSession) -> None:
    await CheckoutSession.filter(id=session.id, completed_at__isnull=True).update(completed_at=utcnow())
    await session.refresh_from_db()


async def finish_authenticated_payment(payment_id: str, context: BillingContext) -> tuple[Checkout, Payment] | None:
    """Record the bank's answer for a checkout's first charge (3-D Secure): the checkout and the payment as settled;
    None for a payment no checkout made.

    Decides nothing: the customer answered their bank on the processor's page, and asking again never charges."""
    payment = await find_by_client_id(Payment.filter(purpose=PaymentPurpose.SUBSCRIPTION_CREATE), payment_id)
    session = await CheckoutSession.get_or_none(subscription_id=payment.subscription_id) if payment else None
    if payment is None or session is None:
        return None
    payment = await complete_payment(payment, context)
    checkout = await _checkout_of(session)
    if checkout.subscription.status == SubscriptionStatus.ACTIVE:
        await _complete(session)
    return checkout, payment

"""Checkout sessions: the hosted page a payment link opens (`/checkout/{token}`), where the customer of a subscription
created with `payment_link` gives a card and pays the first period (or starts the trial), or the customer of a
purchase of one-time products (`open_purchase`, billing.purchases) gives a card and pays the cart.

The link's token is derived from the session id under the deployment's secret key, so a retried create (the same
idempotency key) answers the same link; only its SHA-256 is stored, and a lookup finds the session by that hash.
The portal's "subscribe again" on an ended subscription opens one the same way (`subscribe_again`).
A session expires after `CHECKOUT_LIFETIME` (its pending subscription then fails, billing.subscription_start) and
is used once: the charge runs under a key derived from the session through billing.subscription_start's
`pay_pending_start`, under the subscription's claim, so a double submit or a second tab never charges twice. A
declined card leaves the checkout open for another one. A purchase's charge runs through billing.purchases, under the
session's attempt, with the same guarantees.
"""

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from billing.charges import check_client_key
from billing.context import BillingContext
from billing.errors import BillingError, BillingErrorCode
from billing.payments import complete_payment
from billing.prices import subscription_price
from billing.purchases import (
    PurchaseLine,
    cart_fingerprint,
    pay_purchase,
    payment_session,
    purchase_amounts,
    session_lines,
    stored_items,
)
from billing.subscription_start import (
    StartRequest,
    first_period_charge,
    pay_pending_start,
    start_subscription,
    subscription_key,
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
# The payments a checkout makes.
_CHECKOUT_PURPOSES = (PaymentPurpose.SUBSCRIPTION_CREATE, PaymentPurpose.PURCHASE)
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
    """One session and what its page shows: a pending subscription and its product, or a purchase's lines."""

    session: CheckoutSession
    subscription: Subscription | None
    business: Business
    customer: Customer
    product: Product | None
    lines: list[PurchaseLine]
    # What is charged now: the first period (or nothing while a trial runs), or the cart.
    due_now: Amounts
    currency: str

    @property
    def started(self) -> bool:
        """Whether what the link sells is the customer's now: the subscription active, the purchase paid."""
        if self.subscription is None:
            return self.session.completed_at is not None
        return self.subscription.status == SubscriptionStatus.ACTIVE

    @property
    def price(self) -> RecurringPrice | None:
        """What each billing period of the subscription will cost, with its interval and tax; None for a purchase."""
        if self.subscription is None:
            return None
        return subscription_price(self.subscription, self.business)

    def state(self, now: datetime) -> CheckoutState:
        if self.session.completed_at is not None or self.started:
            return CheckoutState.PAID
        if self.subscription is None:
            return CheckoutState.EXPIRED if self.session.expires_at <= now else CheckoutState.OPEN
        status = self.subscription.status
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
        session = await _save_once(session, context, lambda: CheckoutSession.get(subscription_id=subscription.id))
    return CheckoutLink(context.portal_url(checkout_path(session, context)), session.expires_at)


async def _save_once(
    session: CheckoutSession, context: BillingContext, saved_first: Callable[[], Awaitable[CheckoutSession]]
) -> CheckoutSession:
    """Save a new session under its token's hash; when a concurrent retry of the same create saved one first, that
    one (`saved_first` finds it)."""
    session.token_hash = hash_token(_token(session.id, context.secret_key))
    try:
        await session.save()
    except IntegrityError:
        return await saved_first()
    return session


@dataclass(frozen=True)
class PurchaseLink:
    session: CheckoutSession
    link: CheckoutLink
    # What paying the link charges, as of its creation.
    amounts: Amounts


async def open_purchase(
    customer: Customer, lines: list[PurchaseLine], client_key: str | None, return_url: str, context: BillingContext
) -> PurchaseLink:
    """A checkout where the customer pays for a cart of one-time products (billing.purchases' `checked_cart`, for
    the customer's business and mode).

    With `client_key`, the same key and cart answer the first link; another cart raises
    BillingError(IDEMPOTENCY_KEY_REUSED), writing nothing."""
    if client_key is not None:
        check_client_key(client_key)
    scope = (customer.business_id, customer.livemode)
    if any((line.product.business_id, line.product.livemode) != scope for line in lines):
        raise BillingError(BillingErrorCode.NOT_FOUND, field="productCart")
    fingerprint = cart_fingerprint(customer, lines, return_url)
    # Hashed: a client's key may be longer (255) than the column has room for beside the business and mode.
    hashed = hashlib.sha256(client_key.encode()).hexdigest() if client_key is not None else None
    key = subscription_key(customer, f"purchase:{hashed}") if hashed is not None else None
    session = await CheckoutSession.get_or_none(idempotency_key=key) if key else None
    if session is None:
        session = CheckoutSession(
            business_id=customer.business_id,
            livemode=customer.livemode,
            customer_id=customer.id,
            items=stored_items(lines),
            idempotency_key=key,
            request_fingerprint=fingerprint,
            return_url=return_url,
            expires_at=utcnow() + CHECKOUT_LIFETIME,
        )
        session = await _save_once(session, context, lambda: CheckoutSession.get(idempotency_key=key))
    if session.request_fingerprint != fingerprint:
        raise BillingError(BillingErrorCode.IDEMPOTENCY_KEY_REUSED, field="idempotencyKey")
    link = CheckoutLink(context.portal_url(checkout_path(session, context)), session.expires_at)
    return PurchaseLink(session, link, await purchase_amounts(session, await Business.get(id=customer.business_id)))


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
    business = await Business.get(id=session.business_id)
    if session.subscription_id is None:
        return Checkout(
            session=session,
            subscription=None,
            business=business,
            customer=await Customer.get(id=session.customer_id),
            product=None,
            lines=await session_lines(session),
            due_now=await purchase_amounts(session, business),
            currency=session.items[0]["currency"],
        )
    subscription = await Subscription.get(id=session.subscription_id)
    trial = subscription.trial_ends_at is not None
    due_now = Amounts(0, 0, 0) if trial else await first_period_charge(subscription, business)
    return Checkout(
        session=session,
        subscription=subscription,
        business=business,
        customer=await Customer.get(id=subscription.customer_id),
        product=await Product.get(id=subscription.product_id),
        lines=[],
        due_now=due_now,
        currency=subscription.currency,
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


async def pay_checkout(checkout: Checkout, processor_token: str, context: BillingContext) -> Payment | None:
    """Save the card and pay: the purchase's cart, or the subscription's start (charge or trial; None for a trial).
    The session is used once paid.

    Raises BillingError for a card the processor refuses (the session stays open for another card)."""
    session = checkout.session
    return_url = context.portal_url(CHECKOUT_COMPLETE_PATH)
    if checkout.subscription is None:
        return await pay_purchase(session, processor_token, context, return_url)
    start = await pay_pending_start(
        checkout.subscription, processor_token, _client_key(session), context, return_url=return_url
    )
    if start.subscription.status == SubscriptionStatus.ACTIVE:
        await _complete(session)
    return start.payment


async def _complete(session: CheckoutSession) -> None:
    await CheckoutSession.filter(id=session.id, completed_at__isnull=True).update(completed_at=utcnow())
    await session.refresh_from_db()


async def finish_authenticated_payment(payment_id: str, context: BillingContext) -> tuple[Checkout, Payment] | None:
    """Record the bank's answer for a checkout's first charge (3-D Secure): the checkout and the payment as settled;
    None for a payment no checkout made.

    Decides nothing: the customer answered their bank on the processor's page, and asking again never charges."""
    payment = await find_by_client_id(Payment.filter(purpose__in=_CHECKOUT_PURPOSES), payment_id)
    session = await _session_of(payment) if payment else None
    if payment is None or session is None:
        return None
    payment = await complete_payment(payment, context)
    await session.refresh_from_db()  # a purchase's settling completed it
    checkout = await _checkout_of(session)
    if checkout.subscription is not None and checkout.started:
        await _complete(session)
    return checkout, payment


async def _session_of(payment: Payment) -> CheckoutSession | None:
    if payment.purpose == PaymentPurpose.PURCHASE:
        return await payment_session(payment)
    return await CheckoutSession.get_or_none(subscription_id=payment.subscription_id)

"""Starting a subscription for a customer (the merchant API's create): a recurring product, a quantity, a way to pay
(a processor token, attached and saved, or a saved method of the customer), an optional discount code, trial and
metadata, under the client's idempotency key.

1. Everything is checked before anything is written; a refusal is a BillingError and changes nothing.
2. Claim: the subscription is inserted `pending` under `Subscription.idempotency_key` = `{business}:{mode}:{client
   key}` (unique), holding the subscription's claim (billing.subscription_claims) while this request works on it.
   A request that finds the row is a retry: it waits for the claim, checks that it asks what the first one asked
   (a hash of the whole request, the processor token or saved method included; else IDEMPOTENCY_KEY_REUSED) and
   carries on from where the first stopped, so a request that died after the charge is finished by its retry and
   never charged twice. Under another key, a create for a customer and product that got a pending or active
   subscription less than a minute ago is refused (DUPLICATE_SUBSCRIPTION): the check and the insert hold the
   customer's lock (billing.customer_locks), so twenty keys at once start one subscription.
3. The token is attached through billing.payment_methods and becomes the subscription's method.
4. With a trial (the request's `trial_period_days`, else the product's) the subscription is active at once and the
   billing run charges when the trial ends (billing.renewals). Without one, the first period is charged through
   billing.charges under a key derived from the client's (`client_idempotency_key`): success makes it active (invoice,
   license key, receipt), a decline makes it `failed` (terminal, as Dodo's creation failure), and a card asking for
   3-D Secure leaves it `pending` with the payment's challenge URL until the customer answers their bank.
5. With a payment link (`payment_link`) there is no way to pay yet: the subscription stays `pending` while its
   checkout (billing.checkout) waits for the customer, whose card `pay_pending_start` saves before step 4 runs
   under the checkout's own key. A decline there leaves it pending for another card while the link lives; a link
   that expires unpaid leaves the create abandoned: it fails, its saved card never charged.

No transaction or row lock is held across a processor call (attach, charge). Uses merchants.portal_configurations
for the merchant's policy when saving the card.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from billing.charges import (
    UNSETTLED,
    ChargeIntent,
    SubscriptionOutcome,
    charge_once,
    check_client_key,
    client_idempotency_key,
    parties_of,
)
from billing.context import BillingContext
from billing.credits import credit_balance
from billing.customer_locks import for_customer
from billing.discounts import cycles_of, discount_amount
from billing.errors import BillingError
from billing.errors import BillingErrorCode as Code
from billing.events import record_subscription_event
from billing.invoices import Line
from billing.license_issuance import issue_license_key
from billing.notifications import Notifier
from billing.payment_methods import add_payment_method
from billing.periods import add_interval, period_end
from billing.subscription_claims import CLAIM, claim_subscription, claimed, release_subscription, try_claim
from billing.tax import Amounts, charge_amounts
from core.clock import utcnow
from core.event_types import EventType
from core.inputs import MAX_TRIAL_DAYS, metadata_problem
from merchants.discounts import discounts_of
from merchants.features import MAX_QUANTITY, merchant_features
from models import (
    Business,
    CheckoutSession,
    Customer,
    Discount,
    Invoice,
    Payment,
    PaymentItem,
    PaymentMethod,
    Product,
    Subscription,
)
from models.enums import DiscountType, PaymentPurpose, PaymentStatus, PriceType, SubscriptionStatus
from models.ids import find_by_client_id

# A second create for the same customer and product within this window, under another key, is a duplicate.
DUPLICATE_WINDOW = timedelta(minutes=1)
_TOKEN_MAX_LENGTH = 128


@dataclass(frozen=True)
class StartRequest:
    """What the merchant asks for. Exactly one of `processor_token` and `payment_method_id` names the way to pay."""

    customer: Customer
    product_id: str
    client_key: str
    quantity: int = 1
    processor_token: str | None = None
    payment_method_id: str | None = None
    discount_code: str | None = None
    trial_period_days: int | None = None
    # Any JSON value the API was given: check_start refuses all but a flat object of text.
    metadata: object = None
    # The customer gives the way to pay on a checkout page (billing.checkout) instead: neither of the two above.
    payment_link: bool = False


@dataclass(frozen=True)
class CheckedStart:
    """The request's rows and values, found and checked."""

    product: Product
    method: PaymentMethod | None
    discount: Discount | None
    trial_days: int
    metadata: dict


@dataclass(frozen=True)
class SubscriptionStart:
    subscription: Subscription
    # The first period's payment; None while a trial runs.
    payment: Payment | None

    @property
    def next_action_url(self) -> str:
        """Where the customer authenticates the first charge (3-D Secure); empty when nothing waits for them."""
        payment = self.payment
        if payment is None or payment.status != PaymentStatus.REQUIRES_CUSTOMER_ACTION:
            return ""
        return payment.next_action_url


def _refuse(code: Code, field: str, message: str) -> BillingError:
    return BillingError(code, field=field, message=message)


def subscription_key(customer: Customer, client_key: str) -> str:
    """The stored idempotency key of a create: the client's key, in the customer's business and mode."""
    return f"{customer.business_id}:{'live' if customer.livemode else 'test'}:{client_key}"


async def _checked_product(customer: Customer, product_id: str) -> Product:
    products = Product.filter(
        business_id=customer.business_id, livemode=customer.livemode, price_type=PriceType.RECURRING, archived=False
    )
    product = await find_by_client_id(products, product_id)
    if product is None:
        raise _refuse(Code.NOT_FOUND, "productId", "No recurring product with that id.")
    return product


async def _checked_method(request: StartRequest) -> PaymentMethod | None:
    if request.payment_link:
        if request.processor_token is not None or request.payment_method_id is not None:
            raise _refuse(Code.INVALID_INPUT, "paymentLink", "A payment link asks the customer for their card.")
        return None
    if (request.processor_token is None) == (request.payment_method_id is None):
        raise _refuse(Code.INVALID_INPUT, "paymentMethodId", "Give either a processor token or a payment method id.")
    if request.processor_token is not None:
        if not 0 < len(request.processor_token) <= _TOKEN_MAX_LENGTH:
            raise _refuse(Code.INVALID_PAYMENT_METHOD, "processorToken", "The processor token is not valid.")
        return None
    saved = PaymentMethod.filter(customer_id=request.customer.id, detached_at__isnull=True)
    method = await find_by_client_id(saved, request.payment_method_id)
    if method is None:
        raise _refuse(Code.NOT_FOUND, "paymentMethodId", "The customer has no saved payment method with that id.")
    return method


async def _checked_discount(customer: Customer, code: str | None, product: Product) -> Discount | None:
    if code is None:
        return None
    discount = await discounts_of(customer.business_id, customer.livemode).get_or_none(code=code)
    if discount is None:
        raise _refuse(Code.NOT_FOUND, "discountCode", "No discount with that code.")
    if discount.type == DiscountType.FIXED and discount.currency not in (None, product.currency):
        raise _refuse(Code.INVALID_INPUT, "discountCode", "This discount is in another currency than the product.")
    return discount


async def check_start(request: StartRequest) -> CheckedStart:
    """Everything the request names, found in the customer's business and mode and checked; raises BillingError."""
    check_client_key(request.client_key)
    if not 1 <= request.quantity <= MAX_QUANTITY:
        raise _refuse(Code.INVALID_INPUT, "quantity", f"The quantity is from 1 to {MAX_QUANTITY}.")
    trial = request.trial_period_days
    if trial is not None and not 0 <= trial <= MAX_TRIAL_DAYS:
        raise _refuse(Code.INVALID_INPUT, "trialPeriodDays", f"The trial is from 0 to {MAX_TRIAL_DAYS} days.")
    metadata = request.metadata or {}
    # metadata_problem refuses every value but a dict; the isinstance says so to the type checker.
    if (problem := metadata_problem(metadata)) or not isinstance(metadata, dict):
        raise _refuse(Code.INVALID_INPUT, "metadata", problem)
    product = await _checked_product(request.customer, request.product_id)
    method = await _checked_method(request)
    discount = await _checked_discount(request.customer, request.discount_code, product)
    trial_days = product.trial_period_days if trial is None else trial
    return CheckedStart(product, method, discount, trial_days, dict(metadata))


def _first_cycles(discount: Discount | None, trial_days: int) -> int | None:
    """The discount's renewals left once the subscription starts: the first charge (none in a trial) uses one."""
    if discount is None:
        return None
    cycles = cycles_of(discount)
    return cycles if cycles is None or trial_days else cycles - 1


def _new_subscription(request: StartRequest, checked: CheckedStart, key: str, now: datetime) -> Subscription:
    product, customer = checked.product, request.customer
    count, interval = product.billing_cycle()
    term_count, term_interval = product.subscription_term()
    trial_ends_at = now + timedelta(days=checked.trial_days) if checked.trial_days else None
    return Subscription(
        business_id=customer.business_id,
        livemode=customer.livemode,
        customer_id=customer.id,
        product_id=product.id,
        status=SubscriptionStatus.PENDING,
        quantity=request.quantity,
        recurring_pre_tax_amount=product.price * request.quantity,
        currency=product.currency,
        tax_inclusive=product.tax_inclusive,
        payment_frequency_interval=interval,
        payment_frequency_count=count,
        subscription_period_interval=term_interval,
        subscription_period_count=term_count,
        trial_period_days=checked.trial_days,
        trial_ends_at=trial_ends_at,
        previous_billing_date=now,
        next_billing_date=trial_ends_at or add_interval(now, interval, count),
        payment_method_id=checked.method.id if checked.method else None,
        discount_id=checked.discount.id if checked.discount else None,
        discount_cycles_remaining=_first_cycles(checked.discount, checked.trial_days),
        metadata=checked.metadata,
        idempotency_key=key,
        change_claimed_until=now + CLAIM,
    )


def request_fingerprint(request: StartRequest, checked: CheckedStart) -> str:
    """What a create asks, hashed: a retry under the same key must ask the same, the way to pay included."""
    asked = [
        request.customer.id,
        checked.product.id,
        request.quantity,
        checked.discount.id if checked.discount else None,
        checked.trial_days,
        checked.metadata,
        request.processor_token,
        checked.method.id if checked.method else None,
    ]
    return hashlib.sha256(orjson.dumps(asked, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _claimed(request: StartRequest, checked: CheckedStart) -> Subscription:
    """The subscription this request works on, with its claim held: a new one, or the first request's."""
    key = subscription_key(request.customer, request.client_key)
    existing = await Subscription.get_or_none(idempotency_key=key)
    if existing is None:
        subscription = _new_subscription(request, checked, key, utcnow())
        subscription.request_fingerprint = request_fingerprint(request, checked)
        try:
            existing = await for_customer(subscription.customer_id, partial(_insert_unless_duplicate, subscription))
        except IntegrityError:
            # A concurrent request with the same key (for another customer) inserted first.
            existing = await Subscription.get(idempotency_key=key)
        if existing is None:
            return subscription
    await claim_subscription(existing)
    return existing


async def _insert_unless_duplicate(subscription: Subscription, connection: BaseDBAsyncClient) -> Subscription | None:
    """Save the new subscription, under the customer's lock; None once saved, or the row that a concurrent request
    with the same key saved first. Refused when the customer got the same product a moment ago under another key:
    an integration that retries with a new key, or a double submit, must not start and charge it twice."""
    first = await Subscription.filter(idempotency_key=subscription.idempotency_key).using_db(connection).first()
    if first is not None:
        return first
    recent = Subscription.filter(
        customer_id=subscription.customer_id,
        product_id=subscription.product_id,
        status__in=(SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE),
        created_at__gte=utcnow() - DUPLICATE_WINDOW,
    )
    if await recent.using_db(connection).exists():
        raise BillingError(Code.DUPLICATE_SUBSCRIPTION, field="productId")
    await subscription.save(using_db=connection)
    return None


def _asks_the_same(subscription: Subscription, request: StartRequest, checked: CheckedStart) -> bool:
    return subscription.request_fingerprint == request_fingerprint(request, checked)


async def start_subscription(request: StartRequest, context: BillingContext) -> SubscriptionStart:
    """Start the subscription as asked; the same key answers the first request's subscription and payment.

    Raises BillingError for what cannot be tried; a declined first charge is a failed subscription, not an error."""
    checked = await check_start(request)
    subscription = await _claimed(request, checked)
    try:
        if not _asks_the_same(subscription, request, checked):
            raise BillingError(Code.IDEMPOTENCY_KEY_REUSED, field="idempotencyKey")
        if request.payment_link:
            return SubscriptionStart(subscription, None)
        if subscription.status == SubscriptionStatus.PENDING and subscription.payment_method_id is None:
            await _attach(subscription, request, context)
        if subscription.trial_ends_at is not None:
            await _start_trial(subscription)
            return SubscriptionStart(subscription, None)
        payment = await _charge_first_period(subscription, request.client_key, context)
        await subscription.refresh_from_db()
        return SubscriptionStart(subscription, payment)
    finally:
        await release_subscription(subscription)


async def _attach(subscription: Subscription, request: StartRequest, context: BillingContext) -> None:
    """Save the token's card as the subscription's method; a token the processor refuses leaves no subscription."""
    try:
        await _save_method(subscription, request.customer, request.processor_token or "", context)
    except BillingError:
        await Subscription.filter(id=subscription.id, status=SubscriptionStatus.PENDING).delete()
        raise


async def _save_method(subscription: Subscription, customer: Customer, token: str, context: BillingContext) -> None:
    method = await add_payment_method(
        customer,
        token,
        set_as_default=False,
        processor=await context.processor_for(subscription.business_id, subscription.livemode),
        features=merchant_features(),
    )
    await Subscription.filter(id=subscription.id).update(payment_method_id=method.id)
    subscription.payment_method_id = method.id


async def pay_pending_start(
    subscription: Subscription, processor_token: str, client_key: str, context: BillingContext, return_url: str
) -> SubscriptionStart:
    """Start a subscription created with a payment link, once its customer gave a card on the checkout page: the
    card is saved, then the trial starts or the first period is charged, as a create would. Each attempt is charged
    under `client_key` and the number of declined attempts before it, so a card declined while the checkout is open
    leaves the subscription pending for another card (StartOutcome.failed).

    Under the subscription's claim, so two tabs take turns: the second finds the subscription started, or the
    first one's payment still open (waiting for 3-D Secure) and never charges again. Raises BillingError for a card
    the processor refuses (the subscription stays pending)."""
    async with claimed(subscription):
        latest = await Payment.filter(subscription_id=subscription.id).order_by("-created_at").first()
        if subscription.status != SubscriptionStatus.PENDING or (latest and latest.status in UNSETTLED):
            return SubscriptionStart(subscription, latest)
        await _save_method(subscription, await Customer.get(id=subscription.customer_id), processor_token, context)
        if subscription.trial_ends_at is not None:
            await _start_trial(subscription)
            return SubscriptionStart(subscription, None)
        declined = await Payment.filter(subscription_id=subscription.id, status=PaymentStatus.FAILED).count()
        payment = await _charge_first_period(subscription, f"{client_key}:{declined}", context, return_url)
        await subscription.refresh_from_db()
        return SubscriptionStart(subscription, payment)


async def _checkout_open(subscription: Subscription, now: datetime) -> bool:
    return await CheckoutSession.exists(subscription_id=subscription.id, expires_at__gt=now)


async def _start_trial(subscription: Subscription) -> None:
    """Active now, charged when the trial ends; a retry finds it active already and changes nothing."""
    async with in_transaction():
        started = await Subscription.filter(id=subscription.id, status=SubscriptionStatus.PENDING).update(
            status=SubscriptionStatus.ACTIVE
        )
        await subscription.refresh_from_db()
        if started:
            await record_subscription_event(EventType.SUBSCRIPTION_ACTIVE, subscription)
            product = await Product.get(id=subscription.product_id)
            customer = await Customer.get(id=subscription.customer_id)
            await issue_license_key(product, customer, utcnow(), subscription=subscription)


class StartOutcome(SubscriptionOutcome):
    """The first period's charge: active (with its license key) when it succeeds, failed for good when it does not."""

    purpose = PaymentPurpose.SUBSCRIPTION_CREATE

    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        return [self.period_line(now, period_end(self.subscription, now), self.amounts(payment).subtotal)]

    def _pending(self) -> QuerySet[Subscription]:
        return Subscription.filter(id=self.subscription.id, status=SubscriptionStatus.PENDING)

    async def still_applies(self) -> bool:
        return await self._pending().exists()

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        subscription = self.subscription
        started = await self._pending().update(
            status=SubscriptionStatus.ACTIVE, previous_billing_date=now, next_billing_date=period_end(subscription, now)
        )
        await subscription.refresh_from_db()
        if not started:
            return
        await record_subscription_event(EventType.SUBSCRIPTION_ACTIVE, subscription)
        product = await Product.get(id=subscription.product_id)
        await issue_license_key(product, self.customer, now, subscription=subscription, payment=payment)
        await self.notifier.payment_receipt(payment, invoice, self.product_name)

    async def failed(self, payment: Payment, now: datetime) -> None:
        if await _checkout_open(self.subscription, now):
            return  # The customer is at the checkout and may try another card.
        if await self._pending().update(status=SubscriptionStatus.FAILED):
            await self.subscription.refresh_from_db()
            await record_subscription_event(EventType.SUBSCRIPTION_FAILED, self.subscription)


async def start_outcome(subscription: Subscription, context: BillingContext, locale: str = "") -> StartOutcome:
    parties = await parties_of(subscription)
    notifier = Notifier(context, parties.business, parties.customer, locale or parties.customer.locale)
    return StartOutcome(subscription, parties, notifier)


async def first_period_charge(subscription: Subscription, business: Business) -> Amounts:
    """The first period: its price, less the discount's first cycle, taxed, less the customer's credit."""
    discount = await Discount.get_or_none(id=subscription.discount_id) if subscription.discount_id else None
    subtotal = subscription.recurring_pre_tax_amount
    return charge_amounts(
        subtotal,
        rate_bp=business.tax_rate_bp,
        inclusive=subscription.tax_inclusive,
        discount=discount_amount(discount, subtotal),
        credit_balance=await credit_balance(subscription.customer_id, subscription.currency),
    )


async def _charge_first_period(
    subscription: Subscription, client_key: str, context: BillingContext, return_url: str = ""
) -> Payment:
    key = client_idempotency_key(PaymentPurpose.SUBSCRIPTION_CREATE, subscription, client_key)
    earlier = await Payment.get_or_none(idempotency_key=key)
    outcome = await start_outcome(subscription, context)
    # A retry is the first request again: its amounts, not today's (the credit it used is spent by now).
    amounts = outcome.amounts(earlier) if earlier else await first_period_charge(subscription, outcome.business)
    method = await PaymentMethod.get_or_none(id=subscription.payment_method_id)
    intent = ChargeIntent(
        method=method,
        amounts=amounts,
        idempotency_key=key,
        return_url=return_url or context.portal_url("/payments/{payment_id}/complete"),
    )
    processor = await context.processor_for(subscription.business_id, subscription.livemode)
    payment = await charge_once(intent, outcome, processor)
    if not await PaymentItem.exists(payment_id=payment.id):
        # What the payment bought, as a purchase's items say it.
        await PaymentItem.create(
            payment_id=payment.id,
            product_id=subscription.product_id,
            quantity=subscription.quantity,
            amount=subscription.recurring_pre_tax_amount,
        )
    return payment


async def finish_abandoned_starts(context: BillingContext, now: datetime, limit: int = 100) -> int:
    """Finish, as their retry would, the creates whose request died before charging and was never retried, once
    their claim has lapsed: a trial starts, a saved card is charged under the request's own key, and a create that
    died before its card was saved fails with nothing charged, as does a payment link that expired unpaid."""
    # A create with a payment link waits for its customer while the link lives; once it has expired, it fails.
    # (A purchase's session has no subscription: a NULL in NOT IN would match nothing at all.)
    waiting = CheckoutSession.filter(expires_at__gt=now, subscription_id__isnull=False).values("subscription_id")
    abandoned = Subscription.filter(
        status=SubscriptionStatus.PENDING,
        idempotency_key__isnull=False,
        updated_at__lt=now - CLAIM,
        id__not_in=Subquery(waiting),
    )
    finished = 0
    for subscription in await abandoned.order_by("updated_at").limit(limit):
        open_payment = Payment.exists(subscription_id=subscription.id, status__in=UNSETTLED)
        if await open_payment or not await try_claim(subscription):
            continue  # An open payment is the stale-payment recovery's (billing.payments) or waits for the customer.
        try:
            await _finish(subscription, context)
        finally:
            await release_subscription(subscription)
        finished += 1
    return finished


async def _finish(subscription: Subscription, context: BillingContext) -> None:
    # A checkout's card is charged only while its customer is there to see the outcome.
    if subscription.payment_method_id is None or await CheckoutSession.exists(subscription_id=subscription.id):
        async with in_transaction():
            if await Subscription.filter(id=subscription.id, status=SubscriptionStatus.PENDING).update(
                status=SubscriptionStatus.FAILED
            ):
                await subscription.refresh_from_db()
                await record_subscription_event(EventType.SUBSCRIPTION_FAILED, subscription)
    elif subscription.trial_ends_at is not None:
        await _start_trial(subscription)
    else:
        client_key = (subscription.idempotency_key or "").split(":", 2)[-1]
        await _charge_first_period(subscription, client_key, context)

"""Changing plan: moving a subscription to another plan of its product collection, or to another quantity, with a
preview of the price that the change then charges exactly.

- What is offered follows the business's switch (`allow_subscription_updates`) and the portal configuration's
  `subscription_update` (proration mode, downgrades at the period end, quantity limits, what a failed charge does).
  The merchant (merchants.features.merchant_features) may move to any recurring product of the business
  in the subscription's currency, with the proration mode it names, now or at the next billing date.
- `preview_plan_change` and `change_plan` call the same `_quote`, so the charge equals the preview taken at the same
  instant. An upgrade is charged through billing.charges (idempotent, 3-D Secure, invoice); a downgrade waits for
  the period end when configured (the billing run applies it) or applies now and leaves a credit.
- A trialing subscription keeps its trial: the change applies now without a charge and the new price starts when
  the trial ends.
- Two changes of one subscription never run at once: each holds the subscription's claim (billing.subscription_claims)
  while it runs, and the other waits for it, then quotes the subscription as the first left it. A retry under the
  same key finishes the first request's payment without waiting for its claim.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from billing.charges import (
    ChargeIntent,
    Parties,
    SubscriptionOutcome,
    charge_once,
    client_idempotency_key,
    drive,
    parties_of,
)
from billing.context import BillingContext
from billing.credits import GRANT_DOWNGRADE, credit_balance, grant_credit
from billing.errors import (
    NO_SCHEDULED_CHANGE,
    NOT_A_PLAN,
    PLAN_CHANGE_OFF,
    QUANTITY_FIXED,
    QUANTITY_OUT_OF_RANGE,
    SAME_PLAN,
    BillingError,
    decline_message,
)
from billing.errors import BillingErrorCode as Code
from billing.events import record_subscription_event
from billing.invoices import Line
from billing.license_keys import disable_subscription_keys
from billing.line_wording import (
    DOWNGRADE,
    FROM_TODAY,
    PLAN_CHANGE,
    REMAINING_TIME,
    UNUSED_TIME,
    UPGRADE,
    Summary,
    Wording,
)
from billing.notifications import Notifier
from billing.periods import add_interval
from billing.processors.protocol import DeclineCode
from billing.proration import Proration, ProrationMode, prorate, round_half_up
from billing.subscription_claims import claimed
from billing.tax import Amounts, charge_amounts, split_tax
from core.clock import utcnow
from core.event_types import EventType
from merchants.features import (
    EffectiveAt,
    PaymentFailureBehavior,
    PortalFeatures,
    QuantityLimits,
    SubscriptionUpdateKind,
)
from models import Business, Invoice, Payment, PaymentItem, PaymentMethod, Product, Subscription
from models.enums import Interval, PaymentPurpose, PaymentStatus, PriceType, SubscriptionStatus
from models.ids import find_by_client_id

# Months in an interval, to compare a monthly plan with a yearly one.
_MONTHS = {
    Interval.DAY: Fraction(12, 365),
    Interval.WEEK: Fraction(12, 52),
    Interval.MONTH: Fraction(1),
    Interval.YEAR: Fraction(12),
}


class Direction(StrEnum):
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    CURRENT = "current"


@dataclass(frozen=True)
class PlanOption:
    product: Product
    amount: int
    direction: Direction
    # The amount per month, which plans billed at different intervals are compared by.
    monthly_amount: int


@dataclass(frozen=True)
class PlanChangeQuote:
    """What a change would do at one instant: the proration, what is charged now (tax and credit included), the
    credit left over, the new recurring amount and when the change takes effect."""

    product: Product
    quantity: int
    direction: Direction
    new_amount: int
    proration: Proration
    charge: Amounts
    leftover_credit: int
    effective_at: datetime
    scheduled: bool
    trial_continues: bool
    lines: tuple[Line, ...]


def updates_allowed(business: Business, features: PortalFeatures) -> bool:
    return features.merchant or (business.allow_subscription_updates and features.subscription_update.enabled)


def _per_month(amount: int, interval: Interval | None, count: int | None) -> Fraction:
    return Fraction(amount) / (_MONTHS[interval or Interval.MONTH] * (count or 1))


def monthly_equivalent(amount: int, interval: Interval | None, count: int | None) -> int:
    """What `amount` every `count` `interval`s comes to a month, rounded half up to the minor unit: €240 a year is
    €20 a month."""
    return round_half_up(_per_month(amount, interval, count))


def direction_of(subscription: Subscription, product: Product, quantity: int) -> Direction:
    if product.id == subscription.product_id and quantity == subscription.quantity:
        return Direction.CURRENT
    new = _per_month(product.price * quantity, product.payment_frequency_interval, product.payment_frequency_count)
    current = _per_month(
        subscription.recurring_pre_tax_amount,
        subscription.payment_frequency_interval,
        subscription.payment_frequency_count,
    )
    return Direction.UPGRADE if new > current else Direction.DOWNGRADE if new < current else Direction.CURRENT


async def collection_plans(subscription: Subscription) -> list[Product]:
    """The recurring plans of the subscription's product collection, low to high; just its own product if none."""
    current = await Product.get(id=subscription.product_id)
    if current.collection_id is None:
        return [current]
    plans = Product.filter(
        collection_id=current.collection_id,
        livemode=subscription.livemode,
        price_type=PriceType.RECURRING,
        currency=subscription.currency,
    ).filter(Q(archived=False) | Q(id=current.id))
    return list(await plans.order_by("collection_position", "price", "id"))


async def plan_options(subscription: Subscription, business: Business, features: PortalFeatures) -> list[PlanOption]:
    """The plans the customer may move to, each marked as an upgrade, a downgrade or the current plan."""
    if not updates_allowed(business, features) or subscription.status != SubscriptionStatus.ACTIVE:
        return []
    quantity = subscription.quantity
    return [
        PlanOption(
            plan,
            plan.price * quantity,
            direction_of(subscription, plan, quantity),
            monthly_equivalent(plan.price * quantity, plan.payment_frequency_interval, plan.payment_frequency_count),
        )
        for plan in await collection_plans(subscription)
    ]


def quantity_choice(features: PortalFeatures) -> QuantityLimits | None:
    """The quantities a plan change may ask for, or None where the business lets customers change the plan but not
    its quantity (`default_allowed_updates` without `quantity`): the quantity then stays as it is."""
    update = features.subscription_update
    allowed = features.merchant or SubscriptionUpdateKind.QUANTITY in update.default_allowed_updates
    return update.quantity if allowed else None


def _check(subscription: Subscription, business: Business, features: PortalFeatures, quantity: int) -> None:
    if not updates_allowed(business, features) or subscription.status != SubscriptionStatus.ACTIVE:
        raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=PLAN_CHANGE_OFF)
    limits = quantity_choice(features)
    if limits is None:
        if quantity != subscription.quantity:
            raise BillingError(Code.NOT_ALLOWED, field="quantity", message=QUANTITY_FIXED)
    elif not limits.allows(quantity):
        params = {"minimum": limits.minimum, "maximum": limits.maximum}
        raise BillingError(Code.INVALID_INPUT, field="quantity", message=QUANTITY_OUT_OF_RANGE, params=params)


async def merchant_plan(subscription: Subscription, product_id: str) -> Product | None:
    """Any recurring product of the subscription's business and mode in its currency: what a merchant may move to."""
    plans = Product.filter(
        business_id=subscription.business_id,
        livemode=subscription.livemode,
        price_type=PriceType.RECURRING,
        currency=subscription.currency,
    ).filter(Q(archived=False) | Q(id=subscription.product_id))
    return await find_by_client_id(plans, product_id)


async def _plan(subscription: Subscription, product_id: str, features: PortalFeatures) -> Product:
    if features.merchant:
        plan = await merchant_plan(subscription, product_id)
    else:
        plan = next((plan for plan in await collection_plans(subscription) if plan.id == product_id), None)
    if plan is None:
        raise BillingError(Code.NOT_FOUND, field="productId", message=NOT_A_PLAN)
    return plan


async def _quote(
    subscription: Subscription,
    parties: Parties,
    features: PortalFeatures,
    product_id: str,
    quantity: int | None,
    at: datetime,
) -> PlanChangeQuote:
    quantity = subscription.quantity if quantity is None else quantity
    _check(subscription, parties.business, features, quantity)
    plan = await _plan(subscription, product_id, features)
    direction = direction_of(subscription, plan, quantity)
    if direction == Direction.CURRENT and plan.id == subscription.product_id and quantity == subscription.quantity:
        raise BillingError(Code.NOT_ALLOWED, field="productId", message=SAME_PLAN)
    new_amount = plan.price * quantity
    trial = subscription.trial_ends_at is not None and subscription.trial_ends_at > at
    settings = features.subscription_update
    at_period_end = settings.effective_at == EffectiveAt.NEXT_BILLING_DATE
    waits = direction == Direction.DOWNGRADE and settings.downgrade_at_period_end
    scheduled = not trial and (at_period_end or waits)
    mode = ProrationMode.DO_NOT_BILL if trial or scheduled else ProrationMode(settings.proration_billing_mode)
    proration = prorate(
        mode,
        current_amount=subscription.recurring_pre_tax_amount,
        new_amount=new_amount,
        period_start=subscription.previous_billing_date,
        period_end=subscription.next_billing_date,
        at=at,
        same_interval=(plan.payment_frequency_interval, plan.payment_frequency_count)
        == (subscription.payment_frequency_interval, subscription.payment_frequency_count),
    )
    rate, inclusive = parties.business.tax_rate_bp, plan.tax_inclusive
    balance = await credit_balance(subscription.customer_id, subscription.currency) if proration.due_now else 0
    charge = charge_amounts(proration.due_now, rate_bp=rate, inclusive=inclusive, credit_balance=balance)
    return PlanChangeQuote(
        product=plan,
        quantity=quantity,
        direction=direction,
        new_amount=new_amount,
        proration=proration,
        charge=charge,
        leftover_credit=split_tax(proration.leftover_credit, rate, inclusive).total,
        effective_at=subscription.next_billing_date if scheduled else at,
        scheduled=scheduled,
        trial_continues=trial,
        lines=_lines(subscription, parties.product_name, plan, quantity, proration, at),
    )


def _lines(
    subscription: Subscription, current_name: str, plan: Product, quantity: int, proration: Proration, at: datetime
) -> tuple[Line, ...]:
    """The invoice lines of the change, each with the days it covers: the unused rest of the period credited (a
    negative line), the new plan charged for the rest of the period or, when the cycle restarts, a new period."""
    period_end = subscription.next_billing_date
    lines = []
    if proration.credit:
        unused = Wording.of(UNUSED_TIME, current_name, at, period_end)
        lines.append(Line.worded(unused, subscription.quantity, -proration.credit))
    if proration.charge:
        if proration.restarts_cycle:
            interval, count = plan.payment_frequency_interval or Interval.MONTH, plan.payment_frequency_count or 1
            charged = Wording.of(FROM_TODAY, plan.name, at, add_interval(at, interval, count))
        else:
            charged = Wording.of(REMAINING_TIME, plan.name, at, period_end)
        lines.append(Line.worded(charged, quantity, proration.charge))
    return tuple(lines)


_SUMMARY_KINDS = {Direction.UPGRADE: UPGRADE, Direction.DOWNGRADE: DOWNGRADE, Direction.CURRENT: PLAN_CHANGE}


def _summary(subscription: Subscription, current_name: str, quote: PlanChangeQuote) -> Summary:
    """What the invoice says the change was, "Upgrade: Team → Business"; with the quantities when a side has more
    than one ("Team × 2 → Team × 5"), so a change of seats says what changed."""
    counted = subscription.quantity != 1 or quote.quantity != 1
    before, after = (
        f"{name} × {quantity}" if counted else name
        for name, quantity in ((current_name, subscription.quantity), (quote.product.name, quote.quantity))
    )
    return Summary(_SUMMARY_KINDS[quote.direction], before, after)


async def preview_plan_change(
    subscription: Subscription,
    product_id: str,
    quantity: int | None,
    features: PortalFeatures,
    at: datetime | None = None,
) -> PlanChangeQuote:
    """What changing to `product_id` × `quantity` would do now; raises BillingError when it is not allowed."""
    return await _quote(subscription, await parties_of(subscription), features, product_id, quantity, at or utcnow())


# --- making the change ------------------------------------------------------------------------------------------


def applied_fields(plan: Product, quantity: int, restart_at: datetime | None) -> dict:
    changes = {
        "product_id": plan.id,
        "quantity": quantity,
        "recurring_pre_tax_amount": plan.price * quantity,
        "tax_inclusive": plan.tax_inclusive,
        "payment_frequency_interval": plan.payment_frequency_interval or Interval.MONTH,
        "payment_frequency_count": plan.payment_frequency_count or 1,
        "scheduled_change": None,
    }
    if restart_at is not None:
        interval, count = changes["payment_frequency_interval"], changes["payment_frequency_count"]
        changes |= {"previous_billing_date": restart_at, "next_billing_date": add_interval(restart_at, interval, count)}
        # A new cycle paid from today replaces the period whose renewal was being retried (billing.dunning).
        changes |= {"renewal_attempts": 0, "next_retry_at": None}
    return changes


async def apply_plan(subscription: Subscription, plan: Product, quantity: int, restart_at: datetime | None) -> None:
    """Put the subscription on the plan; call inside the change's transaction."""
    await Subscription.filter(id=subscription.id).update(**applied_fields(plan, quantity, restart_at))
    await subscription.refresh_from_db()
    await record_subscription_event(EventType.SUBSCRIPTION_PLAN_CHANGED, subscription)


@dataclass(frozen=True)
class PlanTarget:
    """What a charged change is to do, kept on its payment so that a later request (3-D Secure) settles it as
    quoted: the plan, the quantity, whether the cycle restarts, the invoice lines and the plan it moves from."""

    product_id: str
    quantity: int
    restarts_cycle: bool
    from_product_id: str
    from_quantity: int
    lines: tuple[Line, ...]
    apply_on_failure: bool
    # What the invoice says the change was (Summary as JSON); None in a change quoted before invoices said it.
    summary: dict | None = None

    def as_details(self) -> dict:
        return {
            **{key: value for key, value in self.__dict__.items() if key != "lines"},
            "lines": [
                [line.description, line.quantity, line.unit_amount, line.wording.as_json() if line.wording else None]
                for line in self.lines
            ],
        }

    @classmethod
    def from_details(cls, details: dict) -> "PlanTarget":
        lines = tuple(
            Line(line[0], line[1], line[2], Wording.from_json(line[3] if len(line) > 3 else None))
            for line in details["lines"]
        )
        return cls(**{**details, "lines": lines})

    def asked_for(self, product_id: str, quantity: int | None) -> bool:
        return self.product_id == product_id and quantity in (None, self.quantity)


class PlanChangeOutcome(SubscriptionOutcome):
    """A charged upgrade: the plan changes when the payment succeeds; a failed charge changes nothing, unless the
    configuration says `apply_change` (then the plan changes and the subscription goes on hold like any other)."""

    purpose = PaymentPurpose.PLAN_CHANGE

    def __init__(
        self, subscription: Subscription, parties: Parties, notifier: Notifier, target: PlanTarget, plan: Product
    ) -> None:
        super().__init__(subscription, parties, notifier)
        self.target = target
        self.plan = plan

    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        return list(self.target.lines)

    def summary(self) -> Summary | None:
        return Summary.from_json(self.target.summary)

    async def still_applies(self) -> bool:
        current = await Subscription.get(id=self.subscription.id)
        moved = (current.product_id, current.quantity) != (self.target.from_product_id, self.target.from_quantity)
        return current.status == SubscriptionStatus.ACTIVE and not moved

    async def _apply(self, now: datetime) -> None:
        restart = now if self.target.restarts_cycle else None
        await apply_plan(self.subscription, self.plan, self.target.quantity, restart)

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        await self._apply(now)
        await self.notifier.plan_changed(self.subscription, self.plan.name, payment, invoice)

    async def failed(self, payment: Payment, now: datetime) -> None:
        if not self.target.apply_on_failure or payment.error_code == DeclineCode.SUPERSEDED:
            return
        await self._apply(now)
        await Subscription.filter(id=self.subscription.id).update(status=SubscriptionStatus.ON_HOLD)
        await disable_subscription_keys(self.subscription.id)
        await self.subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_ON_HOLD, self.subscription)
        reason = payment.error_message or decline_message(None)
        await self.notifier.payment_failed(payment, self.plan.name, reason)
        await self.notifier.subscription_on_hold(self.subscription, self.plan.name, payment.total_amount)


@dataclass(frozen=True)
class PlanChange:
    subscription: Subscription
    payment: Payment | None


def _request(quote: PlanChangeQuote) -> str:
    return hashlib.sha256(f"{quote.product.id}|{quote.quantity}".encode()).hexdigest()[:16]


async def change_plan(
    subscription: Subscription,
    product_id: str,
    quantity: int | None,
    *,
    client_key: str,
    method: PaymentMethod | None,
    features: PortalFeatures,
    context: BillingContext,
    locale: str = "",
) -> PlanChange:
    """Change the plan as previewed now: charged upgrades through the payment path, scheduled downgrades for the
    period end, everything else at once. The same key answers the first request's result."""
    key = client_idempotency_key(PaymentPurpose.PLAN_CHANGE, subscription, client_key)
    earlier = await Payment.get_or_none(idempotency_key=key)
    if earlier is not None:
        # A retry finishes its first request's payment at once, without waiting for that request's claim.
        return PlanChange(subscription, await _replay(earlier, subscription, product_id, quantity, context))
    async with claimed(subscription):
        earlier = await Payment.get_or_none(idempotency_key=key)
        if earlier is not None:
            return PlanChange(subscription, await _replay(earlier, subscription, product_id, quantity, context))
        if subscription.last_change_key == key:
            return PlanChange(_same_request(subscription, product_id, quantity), None)
        parties = await parties_of(subscription)
        quote = await _quote(subscription, parties, features, product_id, quantity, utcnow())
        if quote.charge.total == 0 and not quote.charge.credit_applied:
            await _change_without_charge(subscription, parties, quote, key, context, locale)
            return PlanChange(subscription, None)
        payment = await _charge(subscription, parties, quote, key, method, features, context, locale)
        await subscription.refresh_from_db()
        return PlanChange(subscription, payment)


async def _charge(
    subscription: Subscription,
    parties: Parties,
    quote: PlanChangeQuote,
    key: str,
    method: PaymentMethod | None,
    features: PortalFeatures,
    context: BillingContext,
    locale: str,
) -> Payment:
    failure_behavior = features.subscription_update.payment_failure_behavior
    target = PlanTarget(
        product_id=quote.product.id,
        quantity=quote.quantity,
        restarts_cycle=quote.proration.restarts_cycle,
        from_product_id=subscription.product_id,
        from_quantity=subscription.quantity,
        lines=quote.lines,
        apply_on_failure=failure_behavior == PaymentFailureBehavior.APPLY_CHANGE,
        summary=_summary(subscription, parties.product_name, quote).as_json(),
    )
    notifier = Notifier(context, parties.business, parties.customer, locale or parties.customer.locale)
    intent = ChargeIntent(
        method=method or await _paying_method(subscription),
        amounts=quote.charge,
        idempotency_key=key,
        return_url=context.portal_url("/payments/{payment_id}/complete"),
        request=_request(quote),
        details=target.as_details(),
    )
    processor = await context.processor_for(subscription.business_id, subscription.livemode)
    payment = await charge_once(
        intent, PlanChangeOutcome(subscription, parties, notifier, target, quote.product), processor
    )
    if not await PaymentItem.exists(payment_id=payment.id):
        # What the payment bought, as a purchase's items say it.
        await PaymentItem.create(
            payment_id=payment.id, product_id=quote.product.id, quantity=quote.quantity, amount=quote.new_amount
        )
    return payment


async def _paying_method(subscription: Subscription) -> PaymentMethod | None:
    saved = PaymentMethod.filter(customer_id=subscription.customer_id, detached_at__isnull=True)
    method = await saved.get_or_none(id=subscription.payment_method_id) if subscription.payment_method_id else None
    return method or await saved.filter(is_default=True).first()


async def _change_without_charge(
    subscription: Subscription, parties: Parties, quote: PlanChangeQuote, key: str, context: BillingContext, locale: str
) -> None:
    """A trial's change, a downgrade now (its credit to the balance) or one scheduled for the period end."""
    async with in_transaction():
        await Subscription.filter(id=subscription.id).update(last_change_key=key)
        if quote.scheduled:
            scheduled = {
                "product_id": quote.product.id,
                "quantity": quote.quantity,
                "effective_at": quote.effective_at.isoformat(),
            }
            await Subscription.filter(id=subscription.id).update(scheduled_change=scheduled)
            await subscription.refresh_from_db()
            await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, subscription)
            return
        restart = quote.effective_at if quote.proration.restarts_cycle else None
        await apply_plan(subscription, quote.product, quote.quantity, restart)
        await grant_credit(
            parties.customer, subscription.currency, quote.leftover_credit, GRANT_DOWNGRADE, subscription.id
        )
        notifier = Notifier(context, parties.business, parties.customer, locale or parties.customer.locale)
        await notifier.plan_changed(subscription, quote.product.name, None, None)


def _same_request(subscription: Subscription, product_id: str, quantity: int | None) -> Subscription:
    """A retried change that charged nothing: the subscription as the first request left it, if it asked the same."""
    change = subscription.scheduled_change or {}
    target = (change.get("product_id"), change.get("quantity")) if change else (subscription.product_id, None)
    if target[0] != product_id or quantity not in (None, target[1] or subscription.quantity):
        raise BillingError(Code.IDEMPOTENCY_KEY_REUSED, field="idempotencyKey")
    return subscription


async def _replay(
    earlier: Payment, subscription: Subscription, product_id: str, quantity: int | None, context: BillingContext
) -> Payment:
    """The first request's payment (finished if it was left unfinished), when this request asks the same."""
    outcome = await plan_change_outcome(earlier, subscription, context, "")
    if outcome is None or not outcome.target.asked_for(product_id, quantity):
        raise BillingError(Code.IDEMPOTENCY_KEY_REUSED, field="idempotencyKey")
    if earlier.status != PaymentStatus.PROCESSING:
        return earlier
    method = await PaymentMethod.get_or_none(id=earlier.payment_method_id) if earlier.payment_method_id else None
    return await drive(earlier, method, outcome, await context.processor_for(earlier.business_id, earlier.livemode))


async def cancel_scheduled_change(subscription: Subscription) -> Subscription:
    """Keep the current plan: forget the change waiting for the period end."""
    async with in_transaction():
        kept = await Subscription.filter(id=subscription.id, scheduled_change__isnull=False).update(
            scheduled_change=None
        )
        if not kept:
            raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=NO_SCHEDULED_CHANGE)
        await subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, subscription)
    return subscription


async def apply_scheduled_change(subscription: Subscription) -> bool:
    """The billing run's part: at the period end, put the subscription on the plan it was scheduled to move to."""
    change = subscription.scheduled_change or {}
    plan = await Product.get_or_none(id=change.get("product_id", ""))
    async with in_transaction():
        if plan is None:
            await Subscription.filter(id=subscription.id).update(scheduled_change=None)
            return False
        claimed = await Subscription.filter(
            id=subscription.id, scheduled_change__isnull=False, next_billing_date=subscription.next_billing_date
        ).update(scheduled_change=None)
        if claimed:
            await apply_plan(subscription, plan, int(change.get("quantity", subscription.quantity)), None)
    return bool(claimed)


async def plan_change_outcome(
    payment: Payment, subscription: Subscription, context: BillingContext, locale: str
) -> PlanChangeOutcome | None:
    """The outcome of a plan-change payment, as it was quoted (for completing or replaying it later)."""
    if not payment.details:
        return None
    target = PlanTarget.from_details(payment.details)
    plan = await Product.get_or_none(id=target.product_id)
    if plan is None:
        return None
    parties = await parties_of(subscription)
    notifier = Notifier(context, parties.business, parties.customer, locale or parties.customer.locale)
    return PlanChangeOutcome(subscription, parties, notifier, target, plan)

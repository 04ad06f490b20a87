"""Renewals: charging a due subscription (a trial ending included) for its next period.

A renewal charges the first card that can pay (the subscription's own, else the customer's default, else their
newest; an expired card is skipped) with the idempotency key of its attempt (billing.dunning.attempt_key: the first
one's is `renewal:{subscription}:{period end}`). Success issues the invoice, moves the period on and ends any retries;
a failure schedules the next retry of the business's schedule and emails the customer the amount, the card and the
date of that retry (billing.dunning); the failure of the last one puts the subscription on hold, disables its license
keys and emails the customer a link to fix it. A second worker renewing the same subscription at the same time finds
the first one's charge under the same key, and each change is a conditional UPDATE that only one of them wins.
"""

from datetime import datetime

from tortoise.queryset import QuerySet

from billing.charges import ChargeIntent, Parties, SubscriptionOutcome, charge_once, parties_of
from billing.context import BillingContext
from billing.discounts import spend_cycle
from billing.dues import period_charge
from billing.dunning import RenewalAttempt, next_retry_at
from billing.errors import decline_message
from billing.events import record_subscription_event
from billing.invoices import Line
from billing.license_keys import disable_subscription_keys
from billing.notifications import Notifier
from billing.payment_methods import usable
from billing.periods import period_end
from core.clock import utcnow
from core.event_types import EventType
from merchants.portal_configurations import portal_features
from models import Invoice, Payment, PaymentMethod, Subscription
from models.enums import PaymentPurpose, SubscriptionStatus


class RenewalOutcome(SubscriptionOutcome):
    purpose = PaymentPurpose.RENEWAL
    off_session = True

    def __init__(
        self,
        subscription: Subscription,
        parties: Parties,
        notifier: Notifier,
        attempt: RenewalAttempt,
        retry_after_days: tuple[int, ...],
    ) -> None:
        super().__init__(subscription, parties, notifier)
        # The charge this is: its outcome applies only while the subscription is still at that charge.
        self.attempt = attempt
        self.retry_after_days = retry_after_days

    @property
    def period_start(self) -> datetime:
        return self.attempt.due

    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        start = self.period_start
        return [self.period_line(start, period_end(self.subscription, start), self.amounts(payment).subtotal)]

    def _this_period(self) -> QuerySet[Subscription]:
        return Subscription.filter(
            id=self.subscription.id, status=SubscriptionStatus.ACTIVE, next_billing_date=self.period_start
        )

    def _this_attempt(self) -> QuerySet[Subscription]:
        return self._this_period().filter(renewal_attempts=self.attempt.failed_before)

    async def still_applies(self) -> bool:
        """A retry's charge that succeeds late is kept only while the renewal is still unpaid (not paid meanwhile with
        Pay now)."""
        return not self.attempt.failed_before or await self._this_attempt().exists()

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        start = self.period_start
        end = period_end(self.subscription, start)
        renewed = await self._this_period().update(
            previous_billing_date=start, next_billing_date=end, renewal_attempts=0, next_retry_at=None
        )
        if renewed:
            await spend_cycle(self.subscription)
        await self.subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_RENEWED, self.subscription)
        await self.notifier.payment_receipt(payment, invoice, self.product_name)

    async def failed(self, payment: Payment, now: datetime) -> None:
        reason = payment.error_message or decline_message(None)
        failed = self.attempt.failed_before + 1
        retry_at = next_retry_at(self.retry_after_days, self.period_start, failed, now)
        if retry_at is not None:
            if await self._this_attempt().update(renewal_attempts=failed, next_retry_at=retry_at):
                await self.notifier.payment_failed(payment, self.product_name, reason, next_attempt_at=retry_at)
            return
        on_hold = {"status": SubscriptionStatus.ON_HOLD, "renewal_attempts": 0, "next_retry_at": None}
        if not await self._this_attempt().update(**on_hold):
            return
        await disable_subscription_keys(self.subscription.id)
        await self.subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_ON_HOLD, self.subscription)
        await self.notifier.payment_failed(payment, self.product_name, reason)
        await self.notifier.subscription_on_hold(self.subscription, self.product_name, payment.total_amount)


async def renewal_outcome(
    subscription: Subscription, context: BillingContext, payment: Payment | None = None
) -> RenewalOutcome:
    """The outcome of the renewal charge `payment` made, or of the one due now."""
    parties = await parties_of(subscription)
    notifier = Notifier(context, parties.business, parties.customer, parties.customer.locale)
    attempt = RenewalAttempt.of(payment, subscription) if payment else RenewalAttempt.now_due(subscription)
    # Nobody is signed in: the business's default configuration's schedule applies.
    features = await portal_features(subscription.business_id, subscription.livemode)
    return RenewalOutcome(subscription, parties, notifier, attempt, features.payment_retry.retry_after_days)


async def renewal_method(subscription: Subscription) -> PaymentMethod | None:
    """The first saved card that can pay: the subscription's own, the customer's default, their newest. An expired
    card would only be declined, so it is passed over."""
    now = utcnow()
    saved = await PaymentMethod.filter(customer_id=subscription.customer_id, detached_at__isnull=True).order_by(
        "-created_at", "-id"
    )
    able = [method for method in saved if usable(method, now)]
    own = next((method for method in able if method.id == subscription.payment_method_id), None)
    default = next((method for method in able if method.is_default), None)
    return own or default or next(iter(able), None)


async def _method_of(payment: Payment) -> PaymentMethod | None:
    if payment.payment_method_id is None:
        return None
    return await PaymentMethod.get_or_none(id=payment.payment_method_id)


async def renew(subscription: Subscription, context: BillingContext) -> Payment:
    """Make the renewal's charge due now (the first, or a retry) once; a second worker on the same attempt finds
    the first's charge. Raises BillingError, with nothing changed, when nobody may charge the business in its mode."""
    processor = await context.processor_for(subscription.business_id, subscription.livemode)
    outcome = await renewal_outcome(subscription, context)
    attempt = outcome.attempt
    earlier = await Payment.get_or_none(idempotency_key=attempt.key)
    # An attempt made before (it crashed, or another worker is on it) is finished as it was asked: its card, its
    # amounts, even if the card changed since.
    intent = ChargeIntent(
        method=await _method_of(earlier) if earlier else await renewal_method(subscription),
        amounts=outcome.amounts(earlier) if earlier else await period_charge(subscription, outcome.business),
        idempotency_key=attempt.key,
        details=attempt.details(),
    )
    return await charge_once(intent, outcome, processor)

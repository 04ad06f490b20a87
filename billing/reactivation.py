"""Reactivating a subscription that went on hold after a failed payment: the dues are charged to a payment method
the customer chooses, an invoice is issued, and the subscription is active again with its license keys, a new
period counted from the payment. When the charge fails nothing changes but a failed payment, and the customer can
retry with another method (and another idempotency key).

The same request pays a past-due subscription (billing.dunning: still active, its renewal being retried) now: the
renewal is charged to the chosen method, which pays the subscription from then on, the period moves on as the retry
would have moved it, and the retries stop.
"""

from datetime import datetime

from billing.charges import ChargeIntent, SubscriptionOutcome, charge_once, client_idempotency_key, parties_of
from billing.context import BillingContext
from billing.discounts import spend_cycle
from billing.dues import period_charge, period_charges
from billing.dunning import RenewalAttempt, past_due
from billing.errors import NOT_ALLOWED_ELSEWHERE, NOTHING_DUE, PAYMENT_METHOD_UPDATE_OFF, BillingError
from billing.errors import BillingErrorCode as Code
from billing.events import record_subscription_event
from billing.invoices import Line
from billing.license_keys import enable_subscription_keys
from billing.notifications import Notifier
from billing.payment_methods import check_can_pay
from billing.periods import period_end
from billing.renewals import RenewalOutcome
from billing.subscription_claims import claimed
from billing.tax import Amounts
from core.event_types import EventType
from merchants.features import PortalFeatures
from models import Business, Invoice, Payment, PaymentMethod, Subscription
from models.enums import PaymentPurpose, SubscriptionStatus


class ReactivationOutcome(SubscriptionOutcome):
    purpose = PaymentPurpose.REACTIVATION

    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        return [self.period_line(now, period_end(self.subscription, now), self.amounts(payment).subtotal)]

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        subscription = self.subscription
        await Subscription.filter(id=subscription.id, status=SubscriptionStatus.ON_HOLD).update(
            status=SubscriptionStatus.ACTIVE,
            previous_billing_date=now,
            next_billing_date=period_end(subscription, now),
            payment_method_id=payment.payment_method_id,
        )
        await enable_subscription_keys(subscription.id, now)
        if payment.discount:
            await spend_cycle(subscription)
        await subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_ACTIVE, subscription)
        await self.notifier.subscription_reactivated(subscription, self.product_name, payment, invoice)

    async def still_applies(self) -> bool:
        """Still on hold: no other payment has reactivated it meanwhile (a second tab, another card)."""
        return await Subscription.exists(id=self.subscription.id, status=SubscriptionStatus.ON_HOLD)

    async def failed(self, payment: Payment, now: datetime) -> None:
        """The subscription stays on hold; the customer sees why on the page they are on."""


class PayNowOutcome(RenewalOutcome):
    """A past-due renewal paid by the customer: it renews as its retry would, with the card they chose."""

    purpose = PaymentPurpose.REACTIVATION
    off_session = False

    async def still_applies(self) -> bool:
        """Still past due in this period: no retry nor other tab has paid it meanwhile."""
        return await self._this_period().filter(renewal_attempts__gt=0).exists()

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        await self._this_period().update(payment_method_id=payment.payment_method_id)
        await super().succeeded(payment, invoice, now)

    async def failed(self, payment: Payment, now: datetime) -> None:
        """Its retries go on as scheduled; the customer sees why on the page they are on."""


async def reactivation_outcome(
    subscription: Subscription, context: BillingContext, locale: str
) -> ReactivationOutcome | PayNowOutcome:
    """Paying what the subscription owes: the on-hold dues, or its past-due renewal."""
    parties = await parties_of(subscription)
    notifier = Notifier(context, parties.business, parties.customer, locale or parties.customer.locale)
    if past_due(subscription):
        return PayNowOutcome(subscription, parties, notifier, RenewalAttempt.now_due(subscription), retry_after_days=())
    return ReactivationOutcome(subscription, parties, notifier)


def owes(subscription: Subscription) -> bool:
    """On hold, or past due: it has dues the customer may pay."""
    return subscription.status == SubscriptionStatus.ON_HOLD or past_due(subscription)


async def dues_of(subscriptions: list[Subscription], businesses: dict[str, Business]) -> dict[str, Amounts]:
    """What paying each subscription's dues would charge (one period, tax included), keyed by id: only the ones on
    hold or past due owe anything."""
    return await period_charges([row for row in subscriptions if owes(row)], businesses)


def check_method(subscription: Subscription, method: PaymentMethod, features: PortalFeatures) -> None:
    """The method may pay this subscription: the same customer record, not expired, and a change the business
    allows."""
    if method.customer_id != subscription.customer_id:
        raise BillingError(Code.NOT_ALLOWED, field="paymentMethodId", message=NOT_ALLOWED_ELSEWHERE)
    check_can_pay(method)
    if method.id != subscription.payment_method_id and not features.payment_method_update.enabled:
        raise BillingError(Code.NOT_ALLOWED, field="paymentMethodId", message=PAYMENT_METHOD_UPDATE_OFF)


async def reactivate(
    subscription: Subscription,
    method: PaymentMethod,
    *,
    client_key: str,
    features: PortalFeatures,
    context: BillingContext,
    locale: str = "",
) -> Payment:
    """Charge an on-hold subscription's dues to `method` and reactivate it, or a past-due one's renewal (Pay now);
    the same key replays the first answer.

    Whatever the keys, the dues are charged once: a first request holds the subscription's claim and checks, once
    it has it, that the subscription still owes them, so a second tab waits and is then refused (NOT_ALLOWED). A
    retry under the same key finishes its first request's payment at once. Raises BillingError for what cannot be
    tried at all; a declined card is a failed payment, not an error."""
    key = client_idempotency_key(PaymentPurpose.REACTIVATION, subscription, client_key)
    earlier = await Payment.get_or_none(idempotency_key=key)
    if earlier is not None:
        return await _charge(subscription, method, key, earlier, context, locale)
    async with claimed(subscription):
        earlier = await Payment.get_or_none(idempotency_key=key)
        if earlier is None:
            if not owes(subscription):
                raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=NOTHING_DUE)
            check_method(subscription, method, features)
        return await _charge(subscription, method, key, earlier, context, locale)


async def _charge(
    subscription: Subscription,
    method: PaymentMethod,
    key: str,
    earlier: Payment | None,
    context: BillingContext,
    locale: str,
) -> Payment:
    processor = await context.processor_for(subscription.business_id, subscription.livemode)
    outcome = await reactivation_outcome(subscription, context, locale)
    # A retry is the first request again: its amounts, not today's (the credit it used is spent by now).
    amounts = outcome.amounts(earlier) if earlier else await period_charge(subscription, outcome.business)
    intent = ChargeIntent(
        method=method,
        amounts=amounts,
        idempotency_key=key,
        return_url=context.portal_url("/payments/{payment_id}/complete"),
    )
    return await charge_once(intent, outcome, processor)

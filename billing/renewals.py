"""Renewals: charging a due subscription (a trial ending included) for its next period.

A renewal charges the subscription's payment method (else the customer's default) with the idempotency key
`renewal:{subscription}:{period end}`. Success issues the invoice and moves the period on; failure puts the
subscription on hold, disables its license keys and emails the customer a link to fix it. A second worker renewing
the same subscription at the same time finds the first one's charge under the same key, and each change is a
conditional UPDATE that only one of them wins.
"""

from datetime import datetime

from tortoise.queryset import QuerySet

from billing.charges import ChargeIntent, SubscriptionOutcome, charge_once, parties_of
from billing.context import BillingContext
from billing.discounts import spend_cycle
from billing.dues import period_charge
from billing.errors import decline_message
from billing.events import record_subscription_event
from billing.invoices import Line
from billing.license_keys import disable_subscription_keys
from billing.notifications import Notifier
from billing.periods import period_end
from core.event_types import EventType
from models import Invoice, Payment, PaymentMethod, Subscription
from models.enums import PaymentPurpose, SubscriptionStatus


class RenewalOutcome(SubscriptionOutcome):
    purpose = PaymentPurpose.RENEWAL
    off_session = True

    @property
    def period_start(self) -> datetime:
        return self.subscription.next_billing_date

    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        start = self.period_start
        return [self.period_line(start, period_end(self.subscription, start), self.amounts(payment).subtotal)]

    def _this_period(self) -> QuerySet[Subscription]:
        return Subscription.filter(
            id=self.subscription.id, status=SubscriptionStatus.ACTIVE, next_billing_date=self.period_start
        )

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        start = self.period_start
        end = period_end(self.subscription, start)
        if await self._this_period().update(previous_billing_date=start, next_billing_date=end):
            await spend_cycle(self.subscription)
        await self.subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_RENEWED, self.subscription)
        await self.notifier.payment_receipt(payment, invoice, self.product_name)

    async def failed(self, payment: Payment, now: datetime) -> None:
        if not await self._this_period().update(status=SubscriptionStatus.ON_HOLD):
            return
        await disable_subscription_keys(self.subscription.id)
        await self.subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_ON_HOLD, self.subscription)
        await self.notifier.payment_failed(payment, self.product_name, payment.error_message or decline_message(None))
        await self.notifier.subscription_on_hold(self.subscription, self.product_name, payment.total_amount)


async def renewal_outcome(subscription: Subscription, context: BillingContext) -> RenewalOutcome:
    parties = await parties_of(subscription)
    notifier = Notifier(context, parties.business, parties.customer, parties.customer.locale)
    return RenewalOutcome(subscription, parties, notifier)


async def renewal_method(subscription: Subscription) -> PaymentMethod | None:
    """The subscription's own method while it is saved, else the customer's default."""
    saved = PaymentMethod.filter(customer_id=subscription.customer_id, detached_at__isnull=True)
    if subscription.payment_method_id:
        method = await saved.get_or_none(id=subscription.payment_method_id)
        if method is not None:
            return method
    return await saved.filter(is_default=True).order_by("-created_at").first()


async def renew(subscription: Subscription, context: BillingContext) -> Payment:
    """Charge the subscription's next period once; a second worker on the same period finds the first's charge.
    Raises BillingError, with nothing changed, when nobody may charge the business in its mode."""
    processor = await context.processor_for(subscription.business_id, subscription.livemode)
    outcome = await renewal_outcome(subscription, context)
    key = f"renewal:{subscription.id}:{subscription.next_billing_date.isoformat()}"
    earlier = await Payment.get_or_none(idempotency_key=key)
    intent = ChargeIntent(
        method=await renewal_method(subscription),
        amounts=outcome.amounts(earlier) if earlier else await period_charge(subscription, outcome.business),
        idempotency_key=key,
    )
    return await charge_once(intent, outcome, processor)

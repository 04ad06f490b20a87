"""Payments after the request that started them: completing one that waited for the customer's authentication
(3-D Secure), recovering one whose outcome was never recorded (the process died between the processor's answer
and the commit), and settling either when the processor announces its outcome (billing.stripe_events). Each finds
the payment's outcome from its purpose, then settles it through billing.charges.
"""

from datetime import datetime, timedelta

from billing.charges import ChargeOutcome, complete, drive
from billing.context import BillingContext
from billing.errors import BillingError
from billing.plan_changes import plan_change_outcome
from billing.purchases import payment_session, purchase_outcome
from billing.reactivation import reactivation_outcome
from billing.renewals import renewal_outcome
from billing.subscription_start import start_outcome
from models import Payment, PaymentMethod, Subscription
from models.enums import PaymentPurpose, PaymentStatus

# As long as a subscription's claim (billing.subscription_claims) and longer than a processor call may take (the
# Stripe SDK gives up after 80 s). Asking the processor again under the payment's own key never charges twice, and a
# live request's retry finishes its payment at once without waiting for this.
STALE_AFTER = timedelta(minutes=2)
RECOVERABLE = (
    PaymentPurpose.REACTIVATION,
    PaymentPurpose.RENEWAL,
    PaymentPurpose.PLAN_CHANGE,
    PaymentPurpose.SUBSCRIPTION_CREATE,
    PaymentPurpose.PURCHASE,
)


async def outcome_for(payment: Payment, context: BillingContext, locale: str = "") -> ChargeOutcome | None:
    if payment.purpose == PaymentPurpose.PURCHASE:
        session = await payment_session(payment)
        return await purchase_outcome(session, context, locale) if session else None
    subscription = await Subscription.get_or_none(id=payment.subscription_id) if payment.subscription_id else None
    if subscription is None:
        return None
    if payment.purpose == PaymentPurpose.REACTIVATION:
        return await reactivation_outcome(subscription, context, locale)
    if payment.purpose == PaymentPurpose.RENEWAL:
        return await renewal_outcome(subscription, context, payment)
    if payment.purpose == PaymentPurpose.PLAN_CHANGE:
        return await plan_change_outcome(payment, subscription, context, locale)
    if payment.purpose == PaymentPurpose.SUBSCRIPTION_CREATE:
        return await start_outcome(subscription, context, locale)
    return None


async def complete_payment(payment: Payment, context: BillingContext, locale: str = "") -> Payment:
    """Settle a payment the customer has just authenticated (or refused to) with their bank."""
    outcome = await outcome_for(payment, context, locale)
    if outcome is None:
        return payment
    return await complete(payment, outcome, await context.processor_for(payment.business_id, payment.livemode))


async def _ask_again(payment: Payment, context: BillingContext) -> Payment:
    """Ask the processor about a `processing` payment under its own key, and settle what it answers."""
    outcome = await outcome_for(payment, context)
    if outcome is None:
        return payment
    method = await PaymentMethod.get_or_none(id=payment.payment_method_id) if payment.payment_method_id else None
    try:
        processor = await context.processor_for(payment.business_id, payment.livemode)
    except BillingError:
        return payment  # Its processor is gone (disconnected): the payment waits until one is back.
    return await drive(payment, method, outcome, processor)


async def finish_open_payment(payment: Payment, context: BillingContext) -> Payment:
    """Settle a payment still open, now that its processor has announced an outcome (a processor's event): one
    waiting for the customer's authentication, or one whose answer was never recorded. A settled one is left."""
    if payment.status == PaymentStatus.REQUIRES_CUSTOMER_ACTION:
        return await complete_payment(payment, context)
    if payment.status == PaymentStatus.PROCESSING and payment.purpose in RECOVERABLE:
        return await _ask_again(payment, context)
    return payment


async def recover_stale_payments(context: BillingContext, now: datetime) -> int:
    """Finish every payment left `processing` for too long by asking the processor again under its own key."""
    recovered = 0
    stale = Payment.filter(status=PaymentStatus.PROCESSING, purpose__in=RECOVERABLE, updated_at__lt=now - STALE_AFTER)
    for payment in await stale.order_by("updated_at").limit(100):
        settled = await _ask_again(payment, context)
        recovered += settled.status != PaymentStatus.PROCESSING
    return recovered

"""Cancelling a subscription: at the end of its period (the billing run ends it; resuming before then undoes it) or
immediately (it ends now and its license keys stop working), with the customer's reason and comment, and the
retention offer the business may make once per subscription.

What is offered follows the business's switch (`allow_subscription_cancellation`) and the portal configuration's
`subscription_cancel` feature; what is not offered is refused with NOT_ALLOWED. The merchant
(merchants.features.merchant_features) is bound by neither.
"""

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from billing.charges import parties_of
from billing.context import BillingContext
from billing.credits import GRANT_CANCELLATION, grant_credit
from billing.discounts import cycles_of
from billing.errors import (
    CANCEL_NOW_OFF,
    CANCELLATION_OFF,
    NO_RETENTION_OFFER,
    NOT_CANCELLABLE,
    NOT_RESUMABLE,
    UNKNOWN_REASON,
    BillingError,
)
from billing.errors import BillingErrorCode as Code
from billing.events import record_subscription_event
from billing.license_keys import disable_subscription_keys
from billing.notifications import Notifier
from billing.proration import remaining_share, round_half_up
from core.clock import utcnow
from core.event_types import EventType
from core.inputs import CANCELLATION_COMMENT
from merchants.discounts import find_discount
from merchants.features import CancelMode, CancelProrationBehavior, PortalFeatures
from models import Business, Discount, Invoice, Subscription
from models.enums import CancellationFeedback, SubscriptionStatus

CANCELLABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.ON_HOLD, SubscriptionStatus.PAUSED)


@dataclass(frozen=True)
class CancellationOptions:
    allowed: bool
    immediately: bool
    at_period_end: bool
    reasons: tuple[CancellationFeedback, ...]
    retention_offer: Discount | None


async def cancellation_options(
    subscription: Subscription, business: Business, features: PortalFeatures
) -> CancellationOptions:
    """What this customer may do to end this subscription, here and now."""
    cancel = features.subscription_cancel
    switched_on = business.allow_subscription_cancellation and cancel.enabled
    allowed = (switched_on or features.merchant) and subscription.status in CANCELLABLE
    # A merchant may still end now a subscription that is set to end at the period end.
    allowed = allowed and (features.merchant or not subscription.cancel_at_next_billing_date)
    at_period_end = (
        allowed and subscription.status == SubscriptionStatus.ACTIVE and not subscription.cancel_at_next_billing_date
    )
    # Nothing is left to wait for once a subscription is on hold or paused.
    immediately = allowed and (cancel.mode == CancelMode.IMMEDIATELY or not at_period_end)
    return CancellationOptions(
        allowed=allowed,
        immediately=immediately,
        at_period_end=at_period_end,
        reasons=cancel.cancellation_reason.offered,
        retention_offer=await _retention_offer(subscription, cancel.retention_coupon_id) if allowed else None,
    )


async def _retention_offer(subscription: Subscription, coupon_id: str | None) -> Discount | None:
    """The business's retention coupon, unless this subscription already saw it or has a discount."""
    if not coupon_id or subscription.retention_offer_at or subscription.discount_id:
        return None
    return await find_discount(subscription.business_id, subscription.livemode, coupon_id)


def _checked_feedback(options: CancellationOptions, reason: str | None, comment: str | None) -> tuple[str | None, str]:
    if reason and reason not in options.reasons:
        raise BillingError(Code.INVALID_INPUT, field="reason", message=UNKNOWN_REASON)
    comment = (comment or "").strip()
    if not CANCELLATION_COMMENT.allows(comment):
        raise BillingError(Code.INVALID_INPUT, field="comment")
    return reason or None, comment


async def cancel_subscription(
    subscription: Subscription,
    *,
    reason: str | None,
    comment: str | None,
    immediately: bool,
    features: PortalFeatures,
    context: BillingContext,
    locale: str = "",
    now: datetime | None = None,
) -> Subscription:
    """Cancel at the period end, or now when asked and offered; emails the customer when access ends."""
    now = now or utcnow()
    parties = await parties_of(subscription)
    options = await cancellation_options(subscription, parties.business, features)
    if not options.allowed:
        message = CANCELLATION_OFF if not parties.business.allow_subscription_cancellation else NOT_CANCELLABLE
        raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=message)
    if (immediately and not options.immediately) or (not immediately and not options.at_period_end):
        raise BillingError(Code.NOT_ALLOWED, field="immediately", message=CANCEL_NOW_OFF)
    reason, comment = _checked_feedback(options, reason, comment)
    feedback = {"cancellation_feedback": reason, "cancellation_comment": comment or None, "retention_offer_at": now}
    async with in_transaction():
        if immediately:
            await _end_now(subscription, features, feedback, now)
        else:
            await Subscription.filter(id=subscription.id, status=SubscriptionStatus.ACTIVE).update(
                cancel_at_next_billing_date=True, **feedback
            )
        await subscription.refresh_from_db()
        event = EventType.SUBSCRIPTION_CANCELLED if immediately else EventType.SUBSCRIPTION_UPDATED
        await record_subscription_event(event, subscription)
        notifier = Notifier(context, parties.business, parties.customer, locale or parties.customer.locale)
        ends_at = subscription.cancelled_at if immediately else subscription.next_billing_date
        # `_end_now` (or a cancellation that came first) set the time it ended.
        assert ends_at is not None
        await notifier.cancellation_confirmed(subscription, parties.product_name, ends_at)
    return subscription


async def _end_now(subscription: Subscription, features: PortalFeatures, feedback: dict, now: datetime) -> None:
    await Subscription.filter(id=subscription.id, status__in=CANCELLABLE).update(
        status=SubscriptionStatus.CANCELLED, cancelled_at=now, cancel_at_next_billing_date=False, **feedback
    )
    await disable_subscription_keys(subscription.id)
    credits = features.subscription_cancel.proration_behavior == CancelProrationBehavior.CREDIT
    if credits and subscription.status == SubscriptionStatus.ACTIVE:
        share = remaining_share(subscription.previous_billing_date, subscription.next_billing_date, now)
        unused = round_half_up(await _paid_for_period(subscription) * share)
        parties = await parties_of(subscription)
        await grant_credit(parties.customer, subscription.currency, unused, GRANT_CANCELLATION, subscription.id)


async def _paid_for_period(subscription: Subscription) -> int:
    """What the current period's invoice charged (discounts and credit taken off); nothing during a free trial."""
    invoice = await (
        Invoice.filter(subscription_id=subscription.id, issued_at__gte=subscription.previous_billing_date)
        .order_by("-issued_at")
        .first()
    )
    return invoice.total if invoice else 0


async def resume_subscription(subscription: Subscription, now: datetime | None = None) -> Subscription:
    """Undo a cancellation scheduled for the period end, while the period lasts."""
    now = now or utcnow()
    async with in_transaction():
        undone = await Subscription.filter(
            id=subscription.id,
            status=SubscriptionStatus.ACTIVE,
            cancel_at_next_billing_date=True,
            next_billing_date__gt=now,
        ).update(cancel_at_next_billing_date=False)
        if not undone:
            raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=NOT_RESUMABLE)
        await subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, subscription)
    return subscription


async def accept_retention_offer(
    subscription: Subscription, features: PortalFeatures, now: datetime | None = None
) -> Subscription:
    """Stay, with the offered discount on the next renewals; the offer is made once."""
    parties = await parties_of(subscription)
    offer = (await cancellation_options(subscription, parties.business, features)).retention_offer
    if offer is None:
        raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=NO_RETENTION_OFFER)
    async with in_transaction():
        await Subscription.filter(id=subscription.id, retention_offer_at__isnull=True).update(
            discount_id=offer.id, discount_cycles_remaining=cycles_of(offer), retention_offer_at=now or utcnow()
        )
        await subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, subscription)
    return subscription

"""Pausing a subscription, where the portal configuration allows it (`subscription_pause`, off by default): the pause
starts at the period end and lasts 1 to `max_cycles` billing periods, or until the customer unpauses. A paused
subscription is not charged; its license keys keep working unless the configuration says otherwise. The billing run
starts and ends pauses.
"""

from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from billing.errors import NOT_PAUSABLE, NOT_PAUSED, PAUSE_CYCLES, PAUSE_OFF, BillingError
from billing.errors import BillingErrorCode as Code
from billing.events import record_subscription_event
from billing.license_keys import disable_subscription_keys, enable_subscription_keys
from billing.periods import add_interval
from core.clock import utcnow
from core.event_types import EventType
from merchants.features import PortalFeatures
from models import Subscription
from models.enums import SubscriptionStatus


def pause_allowed(subscription: Subscription, features: PortalFeatures) -> bool:
    return (
        features.subscription_pause.enabled
        and subscription.status == SubscriptionStatus.ACTIVE
        and not subscription.cancel_at_next_billing_date
        and not subscription.pause_at_next_billing_date
    )


async def _changed(subscription: Subscription, event: EventType, **changes: Any) -> Subscription:
    async with in_transaction():
        await Subscription.filter(id=subscription.id).update(**changes)
        await subscription.refresh_from_db()
        await record_subscription_event(event, subscription)
    return subscription


async def pause_subscription(subscription: Subscription, cycles: int | None, features: PortalFeatures) -> Subscription:
    """Pause from the period end for `cycles` periods, or until unpaused (None)."""
    if not features.subscription_pause.enabled:
        raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=PAUSE_OFF)
    if not pause_allowed(subscription, features):
        raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=NOT_PAUSABLE)
    maximum = features.subscription_pause.max_cycles
    if cycles is not None and not 1 <= cycles <= maximum:
        raise BillingError(Code.INVALID_INPUT, field="cycles", message=PAUSE_CYCLES, params={"maximum": maximum})
    return await _changed(
        subscription, EventType.SUBSCRIPTION_UPDATED, pause_at_next_billing_date=True, pause_cycles=cycles
    )


async def unpause_subscription(subscription: Subscription, now: datetime | None = None) -> Subscription:
    """Call off a pause that has not started, or end one now: billing resumes today (the billing run charges)."""
    if subscription.pause_at_next_billing_date:
        return await _changed(
            subscription, EventType.SUBSCRIPTION_UPDATED, pause_at_next_billing_date=False, pause_cycles=None
        )
    if subscription.status != SubscriptionStatus.PAUSED:
        raise BillingError(Code.NOT_ALLOWED, field="subscriptionId", message=NOT_PAUSED)
    return await _resume(subscription, now or utcnow())


async def _resume(subscription: Subscription, at: datetime) -> Subscription:
    async with in_transaction():
        await Subscription.filter(id=subscription.id, status=SubscriptionStatus.PAUSED).update(
            status=SubscriptionStatus.ACTIVE, paused_until=None, pause_cycles=None, next_billing_date=at
        )
        await enable_subscription_keys(subscription.id, at)
        await subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_ACTIVE, subscription)
    return subscription


async def start_pause(subscription: Subscription, features: PortalFeatures) -> bool:
    """The billing run's part at the period end of a subscription asked to pause."""
    start = subscription.next_billing_date
    cycles = subscription.pause_cycles
    until = None
    if cycles:
        interval, count = subscription.payment_frequency_interval, subscription.payment_frequency_count
        until = add_interval(start, interval, count * cycles)
    async with in_transaction():
        started = await Subscription.filter(
            id=subscription.id, status=SubscriptionStatus.ACTIVE, pause_at_next_billing_date=True
        ).update(
            status=SubscriptionStatus.PAUSED,
            pause_at_next_billing_date=False,
            paused_until=until,
            # The pause replaces the period whose renewal may have been retried (billing.dunning): nothing is owed.
            renewal_attempts=0,
            next_retry_at=None,
        )
        if started:
            if not features.subscription_pause.keep_license_keys_active:
                await disable_subscription_keys(subscription.id)
            await subscription.refresh_from_db()
            await record_subscription_event(EventType.SUBSCRIPTION_PAUSED, subscription)
    return bool(started)


async def end_pause(subscription: Subscription) -> bool:
    """The billing run's part when a pause's last cycle ends: active again, charged from that day."""
    if subscription.paused_until is None:
        return False
    await _resume(subscription, subscription.paused_until)
    return True

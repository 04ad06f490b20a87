"""Pausing a subscription, where the portal configuration allows it (`subscription_pause`, off by default): the pause
starts at the period end and lasts 1 to `max_cycles` billing periods, or until the customer unpauses. A paused
subscription is not charged; its license keys keep working unless the configuration says otherwise. The billing run
starts and ends pauses. Also when a pause would end, and when billing goes on for a customer who keeps a subscription
going (what the portal's confirmations say before anything changes).
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


def cycles_allowed(cycles: int | None, features: PortalFeatures) -> bool:
    """Whether a pause of `cycles` periods (None: until unpaused) is one the business allows."""
    return cycles is None or 1 <= cycles <= features.subscription_pause.max_cycles


def cycles_refused(features: PortalFeatures) -> BillingError:
    maximum = features.subscription_pause.max_cycles
    return BillingError(Code.INVALID_INPUT, field="cycles", message=PAUSE_CYCLES, params={"maximum": maximum})


def pause_end(subscription: Subscription, start: datetime, cycles: int | None) -> datetime | None:
    """When a pause of `cycles` billing periods from `start` ends and billing resumes; None for one until unpaused."""
    if not cycles:
        return None
    interval, count = subscription.payment_frequency_interval, subscription.payment_frequency_count
    return add_interval(start, interval, count * cycles)


def pause_ends_at(subscription: Subscription) -> datetime | None:
    """When the subscription's pause, waiting for the period end or under way, ends; None without one or for one
    until unpaused."""
    if subscription.pause_at_next_billing_date:
        return pause_end(subscription, subscription.next_billing_date, subscription.pause_cycles)
    return subscription.paused_until if subscription.status == SubscriptionStatus.PAUSED else None


def billing_continues_at(subscription: Subscription, now: datetime) -> datetime | None:
    """When the next charge falls if the customer keeps the subscription going (resumes a cancellation, calls off a
    pause, or unpauses): today for a paused one (unpausing bills from now), else its next billing date. None once it
    ended, before it started, or on hold (its dues are what it owes)."""
    if subscription.status == SubscriptionStatus.PAUSED:
        return now
    return subscription.next_billing_date if subscription.status == SubscriptionStatus.ACTIVE else None


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
    if not cycles_allowed(cycles, features):
        raise cycles_refused(features)
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
    until = pause_ends_at(subscription)
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

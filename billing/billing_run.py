"""The billing run: everything that falls due, done once. Period-end cancellations end, fixed-term subscriptions
expire, pauses start and end, scheduled plan changes apply, due subscriptions (trials ending included) renew,
failed renewals are retried when their retry is due (billing.dunning), payments whose outcome was never recorded
and creates whose request died are finished, and license keys past their expiry say so.
`portal billing run` runs it once; the worker runs it periodically; the demo's history replays its subscription work
for the demo's businesses at the moments things fell due. Several workers may run it at once: every change is a
conditional UPDATE that only one of them wins, and a renewal's idempotency key makes a second worker's charge the
first one's.
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from billing.context import BillingContext
from billing.errors import BillingError
from billing.events import record_subscription_event
from billing.license_keys import disable_subscription_keys, expire_license_keys
from billing.pauses import end_pause, start_pause
from billing.payments import recover_stale_payments
from billing.plan_changes import apply_scheduled_change
from billing.renewals import renew
from billing.subscription_claims import release_subscription, try_claim
from billing.subscription_start import finish_abandoned_starts
from core.clock import utcnow
from core.event_types import EventType
from merchants.features import PortalFeatures
from merchants.portal_configurations import portal_features
from models import Payment, Subscription
from models.enums import PaymentStatus, SubscriptionStatus

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
# A run catches up at most this many periods of one subscription (a clock moved far ahead in test mode).
MAX_PASSES = 50


@dataclass
class BillingRunReport:
    renewed: int = 0
    # Renewals that failed with a retry left (billing.dunning), and those whose last charge failed.
    retry_scheduled: int = 0
    put_on_hold: int = 0
    cancelled: int = 0
    expired: int = 0
    paused: int = 0
    unpaused: int = 0
    plans_changed: int = 0
    recovered: int = 0
    license_keys_expired: int = 0

    def add(self, other: "BillingRunReport") -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    @property
    def total(self) -> int:
        return sum(getattr(self, field.name) for field in fields(self))


@dataclass(frozen=True)
class RunScope:
    """Which subscriptions a run looks at: one mode or both, every business or only some."""

    livemode: bool | None = None
    businesses: Collection[str] | None = None


def _due(scope: RunScope, status: SubscriptionStatus = SubscriptionStatus.ACTIVE) -> QuerySet[Subscription]:
    query = Subscription.filter(status=status)
    if scope.livemode is not None:
        query = query.filter(livemode=scope.livemode)
    return query if scope.businesses is None else query.filter(business_id__in=list(scope.businesses))


async def _business_features(subscription: Subscription) -> PortalFeatures:
    # Nobody is signed in during a billing run: the business's default configuration applies.
    return await portal_features(subscription.business_id, subscription.livemode)


async def _period_ends(now: datetime, scope: RunScope, report: BillingRunReport) -> None:
    """What happens at a period end before anything is charged: pauses start and end, scheduled plans apply."""
    starting = _due(scope).filter(pause_at_next_billing_date=True, next_billing_date__lte=now)
    for subscription in await starting.limit(BATCH_SIZE):
        report.paused += await start_pause(subscription, await _business_features(subscription))
    ending = _due(scope, SubscriptionStatus.PAUSED).filter(paused_until__lte=now)
    for subscription in await ending.limit(BATCH_SIZE):
        report.unpaused += await end_pause(subscription)
    changing = _due(scope).filter(scheduled_change__isnull=False, next_billing_date__lte=now)
    for subscription in await changing.limit(BATCH_SIZE):
        report.plans_changed += await apply_scheduled_change(subscription)


async def _end_period(
    subscription: Subscription, status: SubscriptionStatus, event_type: EventType, **changes: Any
) -> bool:
    async with in_transaction():
        won = await Subscription.filter(id=subscription.id, status=SubscriptionStatus.ACTIVE).update(
            status=status, **changes
        )
        if won:
            await disable_subscription_keys(subscription.id)
            await subscription.refresh_from_db()
            await record_subscription_event(event_type, subscription)
    return bool(won)


def _renewing(scope: RunScope, now: datetime) -> QuerySet[Subscription]:
    """Subscriptions whose renewal is due: its first charge, or the retry of a failed one (billing.dunning)."""
    return _due(scope).filter(
        Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now),
        cancel_at_next_billing_date=False,
        next_billing_date__lte=now,
    )


async def _renew_claimed(
    subscription: Subscription, context: BillingContext, scope: RunScope, now: datetime
) -> Payment | None:
    """Renew under the subscription's claim, if it is still due once claimed: a customer paying a past-due renewal
    at this moment holds the claim, and the run leaves the subscription to them (None)."""
    if not await try_claim(subscription):
        return None
    try:
        if not await _renewing(scope, now).filter(id=subscription.id).exists():
            return None
        await subscription.refresh_from_db()
        return await renew(subscription, context)
    finally:
        await release_subscription(subscription)


async def _billing_pass(context: BillingContext, now: datetime, scope: RunScope) -> BillingRunReport:
    report = BillingRunReport()
    ending = _due(scope).filter(cancel_at_next_billing_date=True, next_billing_date__lte=now)
    for subscription in await ending.order_by("next_billing_date").limit(BATCH_SIZE):
        # Ended: nothing is scheduled any more (the portal would still offer to resume it), as a cancellation now.
        changes = {"cancelled_at": subscription.next_billing_date, "cancel_at_next_billing_date": False}
        report.cancelled += await _end_period(
            subscription, SubscriptionStatus.CANCELLED, EventType.SUBSCRIPTION_CANCELLED, **changes
        )
    for subscription in await _due(scope).filter(expires_at__lte=now).limit(BATCH_SIZE):
        report.expired += await _end_period(subscription, SubscriptionStatus.EXPIRED, EventType.SUBSCRIPTION_EXPIRED)
    await _period_ends(now, scope, report)
    for subscription in await _renewing(scope, now).order_by("next_billing_date").limit(BATCH_SIZE):
        try:
            payment = await _renew_claimed(subscription, context, scope, now)
        except BillingError as error:
            # Nobody may charge this business in this mode (live, without a processor): it stays due, unchanged.
            logger.warning("Billing run: %s not renewed: %s", subscription.id, error.message)
            continue
        if payment is None:
            continue
        if payment.status == PaymentStatus.SUCCEEDED:
            report.renewed += 1
        elif await Subscription.exists(id=subscription.id, status=SubscriptionStatus.ACTIVE):
            report.retry_scheduled += 1
        else:
            report.put_on_hold += 1
    return report


async def run_billing(
    context: BillingContext,
    now: datetime | None = None,
    livemode: bool | None = None,
    businesses: Collection[str] | None = None,
) -> BillingRunReport:
    """Do the due work once (both modes, or one), until nothing more is due at `now`. `businesses` limits the
    subscriptions' work (ends, pauses, plan changes, renewals) to theirs; the recovery of unfinished payments and
    creates and the expiry of license keys always look at every business."""
    now = now or utcnow()
    scope = RunScope(livemode, businesses)
    report = BillingRunReport()
    for _ in range(MAX_PASSES):
        done = await _billing_pass(context, now, scope)
        report.add(done)
        if not done.total:
            break
    report.recovered = await recover_stale_payments(context, now) + await finish_abandoned_starts(context, now)
    report.license_keys_expired = await expire_license_keys(now, livemode)
    if report.total:
        logger.info("Billing run: %s", report)
    return report

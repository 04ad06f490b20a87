"""One money-moving change of a subscription at a time.

Every path that charges a subscription's dues or changes what it costs (a reactivation, a plan change, a create, a
renewal) holds the subscription's claim while it works: a conditional UPDATE of `change_claimed_until`, a lease
rather than a row lock, because the work includes a processor call that no transaction may span. Whoever holds the
claim reads the subscription again and re-checks that its change still applies, so two tabs, two keys or the
billing run beside a customer can never both charge the same dues. A lease outlives a crashed holder by `CLAIM`.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from tortoise.expressions import Q

from billing.errors import BillingError, BillingErrorCode
from core.clock import utcnow
from models import Subscription

CLAIM = timedelta(minutes=2)
CLAIM_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05


async def try_claim(subscription: Subscription) -> bool:
    """Take the claim if nobody holds it; never waits."""
    now = utcnow()
    free = Q(change_claimed_until__isnull=True) | Q(change_claimed_until__lt=now)
    return bool(await Subscription.filter(free, id=subscription.id).update(change_claimed_until=now + CLAIM))


async def claim_subscription(subscription: Subscription) -> None:
    """Wait until no other change of this subscription runs, then hold the claim and read the subscription again.

    Raises BillingError(CHANGE_IN_PROGRESS) when another change holds it for longer than a customer should wait."""
    deadline = asyncio.get_running_loop().time() + CLAIM_WAIT_SECONDS
    while not await try_claim(subscription):
        if asyncio.get_running_loop().time() > deadline:
            raise BillingError(BillingErrorCode.CHANGE_IN_PROGRESS, field="subscriptionId")
        await asyncio.sleep(_POLL_SECONDS)
    await subscription.refresh_from_db()


async def release_subscription(subscription: Subscription) -> None:
    await Subscription.filter(id=subscription.id).update(change_claimed_until=None)


@asynccontextmanager
async def claimed(subscription: Subscription) -> AsyncIterator[Subscription]:
    """`async with claimed(subscription):` the subscription, fresh from the database, is this request's alone."""
    await claim_subscription(subscription)
    try:
        yield subscription
    finally:
        await release_subscription(subscription)

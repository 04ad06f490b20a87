"""What needs the customer's action about their money, shown first on both homes: every subscription on hold (its
dues are owed until paid), every one past due (a failed renewal the billing run tries again, billing.dunning, which
the customer may pay now) and every subscription whose first payment was declined (nothing is owed; the customer may
try again with another card) that no live subscription to the same product has replaced since. A subscription that
failed because its payment link was never paid declined nothing, so it is not listed."""

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from billing.dunning import PAST_DUE
from models import Payment, Subscription
from models.base import column_values
from models.enums import PaymentStatus, SubscriptionStatus

NEEDS_ACTION = (SubscriptionStatus.ON_HOLD, SubscriptionStatus.FAILED)
# A subscription of these makes a failed one to the same product moot: the customer has what they tried to buy.
_LIVE = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE, SubscriptionStatus.ON_HOLD, SubscriptionStatus.PAUSED)
# More than this many problems at once is not a banner any more; the lists below it show the rest.
LIMIT = 20


async def needing_action(subscriptions: QuerySet[Subscription]) -> list[Subscription]:
    """Those of `subscriptions` (a Viewer's, already scoped) that need the customer: on hold first, then past due,
    then failed, newest first within each; at most LIMIT, in three statements at most."""
    needing = Q(status__in=NEEDS_ACTION) | PAST_DUE
    rows = await subscriptions.filter(needing).order_by("-created_at", "-id").limit(LIMIT)
    on_hold = [row for row in rows if row.status == SubscriptionStatus.ON_HOLD]
    past_due = [row for row in rows if row.status == SubscriptionStatus.ACTIVE]
    failed = [row for row in rows if row.status == SubscriptionStatus.FAILED]
    return on_hold + past_due + await _declined_unreplaced(failed)


async def _declined_unreplaced(failed: list[Subscription]) -> list[Subscription]:
    """The failed subscriptions whose first payment was declined and that nothing live replaced."""
    if not failed:
        return []
    live = Subscription.filter(
        customer_id__in={row.customer_id for row in failed},
        product_id__in={row.product_id for row in failed},
        status__in=_LIVE,
    )
    replaced = set(await live.values_list("customer_id", "product_id"))
    failed = [row for row in failed if (row.customer_id, row.product_id) not in replaced]
    if not failed:
        return []
    declines = Payment.filter(subscription_id__in=[row.id for row in failed], status=PaymentStatus.FAILED)
    declined = set(await column_values(declines, "subscription_id"))
    return [row for row in failed if row.id in declined]

"""What needs the customer's action about their money, shown first on both homes: every subscription on hold (its
dues are owed until paid) and every subscription whose first payment failed (nothing is owed; the customer may try
again with another card) that no live subscription to the same product has replaced since."""

from tortoise.queryset import QuerySet

from models import Subscription
from models.enums import SubscriptionStatus

NEEDS_ACTION = (SubscriptionStatus.ON_HOLD, SubscriptionStatus.FAILED)
# A subscription of these makes a failed one to the same product moot: the customer has what they tried to buy.
_LIVE = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE, SubscriptionStatus.ON_HOLD, SubscriptionStatus.PAUSED)
# More than this many problems at once is not a banner any more; the lists below it show the rest.
LIMIT = 20


async def needing_action(subscriptions: QuerySet[Subscription]) -> list[Subscription]:
    """Those of `subscriptions` (a Viewer's, already scoped) that need the customer: on hold first, then failed,
    newest first within each; at most LIMIT, in two statements."""
    rows = await subscriptions.filter(status__in=NEEDS_ACTION).order_by("-created_at", "-id").limit(LIMIT)
    failed = [row for row in rows if row.status == SubscriptionStatus.FAILED]
    replaced: set[tuple[str, str]] = set()
    if failed:
        live = Subscription.filter(
            customer_id__in={row.customer_id for row in failed},
            product_id__in={row.product_id for row in failed},
            status__in=_LIVE,
        )
        replaced = set(await live.values_list("customer_id", "product_id"))
    on_hold = [row for row in rows if row.status == SubscriptionStatus.ON_HOLD]
    return on_hold + [row for row in failed if (row.customer_id, row.product_id) not in replaced]

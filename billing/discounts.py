"""Discounts on a subscription's renewals (the retention offer): a percentage or a fixed amount, for the next renewal
(`once`), the next N (`repeating`) or every one (`forever`)."""

from fractions import Fraction

from billing.proration import round_half_up
from models import Discount, Subscription
from models.enums import DiscountDuration, DiscountType


def discount_amount(discount: Discount | None, subtotal: int) -> int:
    """What the discount takes off a subtotal: basis points of it (rounded half up) or a fixed amount, never more
    than the subtotal."""
    if discount is None or subtotal <= 0:
        return 0
    if discount.type == DiscountType.PERCENTAGE:
        return min(round_half_up(Fraction(subtotal * discount.amount, 10000)), subtotal)
    return min(discount.amount, subtotal)


def cycles_of(discount: Discount) -> int | None:
    """How many renewals a newly applied discount lasts; None for ever."""
    if discount.duration == DiscountDuration.ONCE:
        return 1
    if discount.duration == DiscountDuration.REPEATING:
        return max(discount.duration_cycles or 1, 1)
    return None


async def active_discount(subscription: Subscription) -> Discount | None:
    """The discount the subscription's next renewal gets, if any cycles of it remain."""
    if subscription.discount_id is None or subscription.discount_cycles_remaining == 0:
        return None
    return await Discount.get_or_none(id=subscription.discount_id)


async def discounts_by_id(discount_ids: list[str | None]) -> dict[str, Discount]:
    """The discounts of several subscriptions (active_discount's rows, for many at once) in one statement."""
    wanted = {discount_id for discount_id in discount_ids if discount_id}
    return {discount.id: discount for discount in await Discount.filter(id__in=wanted)} if wanted else {}


async def spend_cycle(subscription: Subscription) -> None:
    """One renewal used the discount; call inside the renewal's transaction."""
    remaining = subscription.discount_cycles_remaining
    if subscription.discount_id is None or remaining is None:
        return
    changes: dict[str, int | None] = {"discount_cycles_remaining": remaining - 1}
    if remaining <= 1:
        changes["discount_id"] = None
    await Subscription.filter(id=subscription.id).update(**changes)

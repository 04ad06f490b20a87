"""What a customer may do with a subscription, as the schema shows it: the cancellation options (with the retention
offer), the plans to change to and the preview of a change, the pause options, the discount it has and the change
scheduled for its period end. The rules are billing's (cancellation, plan_changes, pauses); this module shapes them."""

from datetime import datetime
from enum import Enum

import strawberry

from billing.cancellation import cancellation_options
from billing.errors import BillingError
from billing.pauses import cycles_allowed, pause_allowed, pause_end
from billing.plan_changes import PlanChangeQuote, plan_options, preview_plan_change, quantity_choice
from billing.prices import discounted_price, plan_price, subscription_price
from merchants.features import PortalFeatures
from models import Business, Discount
from models import Subscription as SubscriptionRow
from models.enums import DiscountType
from schema.customer.actions import features_for
from schema.customer.enums import CancellationReason
from schema.customer.money import Money
from schema.customer.prices import RecurringPrice
from schema.customer.products import Product, product_of


@strawberry.enum(description="How a plan compares with the subscription's current one, per month.")
class PlanDirection(Enum):
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    CURRENT = "current"


@strawberry.type(description="The offer a business makes to a customer about to cancel; shown once.")
class RetentionOffer:
    description: str = strawberry.field(description="The offer as the business words it.")
    percent_off: float | None
    amount_off: Money | None
    cycles: int | None = strawberry.field(description="How many renewals it applies to; null for every one.")
    regular_price: RecurringPrice = strawberry.field(description="The subscription's price without the offer.")
    discounted_price: RecurringPrice = strawberry.field(description="Its price on the renewals the offer applies to.")


@strawberry.type
class CancellationOptions:
    allowed: bool
    immediately: bool = strawberry.field(description="Whether it may end now (else only at the period end).")
    at_period_end: bool
    reasons: list[CancellationReason]
    retention_offer: RetentionOffer | None


@strawberry.type
class PlanChangeOption:
    product: Product
    amount: Money = strawberry.field(description="The plan's recurring price for the subscription's quantity.")
    price: RecurringPrice = strawberry.field(description="The same price with its interval and tax.")
    monthly_equivalent: Money = strawberry.field(
        description="That price per month, before tax: what `direction` compares across billing intervals."
    )
    direction: PlanDirection


@strawberry.type(description="The quantities a plan change may ask for, both included.")
class QuantityLimits:
    minimum: int
    maximum: int


@strawberry.type
class PreviewLine:
    description: str
    amount: Money


@strawberry.type(description="What a plan change would do now; the change charges exactly this at its own instant.")
class PlanChangePreview:
    immediate_charge: Money = strawberry.field(description="Charged today, tax included, after any credit.")
    credit: Money = strawberry.field(description="Credited to the balance for the next charges (a downgrade).")
    credit_applied: Money = strawberry.field(description="Paid today from the credit balance.")
    tax: Money
    new_recurring_amount: Money = strawberry.field(description="The new price of each billing period, before tax.")
    new_price: RecurringPrice = strawberry.field(description="The new price with its interval and tax.")
    effective_at: datetime
    proration_mode: str
    direction: PlanDirection
    scheduled: bool = strawberry.field(description="The change waits for the period end.")
    trial_continues: bool = strawberry.field(description="The trial goes on; the new price starts when it ends.")
    lines: list[PreviewLine]


@strawberry.type
class ScheduledChange:
    product: Product | None
    quantity: int
    effective_at: datetime


@strawberry.type
class SubscriptionDiscount:
    name: str
    percent_off: float | None
    amount_off: Money | None
    remaining_cycles: int | None = strawberry.field(description="Renewals it still applies to; null for every one.")
    discounted_price: RecurringPrice = strawberry.field(description="The subscription's price on those renewals.")


@strawberry.type
class PauseOptions:
    allowed: bool
    max_cycles: int
    starts_at: datetime = strawberry.field(description="When a pause asked for now would start: the period end.")
    row: strawberry.Private[SubscriptionRow]
    features: strawberry.Private[PortalFeatures]

    @strawberry.field(
        description="When a pause of `cycles` billing periods asked for now would end and billing resume; null for "
        "a pause until resumed (no `cycles`) or a number of periods the business does not allow."
    )
    def resumes_at(self, cycles: int | None = None) -> datetime | None:
        if cycles is None or not cycles_allowed(cycles, self.features):
            return None
        return pause_end(self.row, self.starts_at, cycles)


def _offer_amounts(discount: Discount, currency: str, locale: str) -> tuple[float | None, Money | None]:
    if discount.type == DiscountType.PERCENTAGE:
        return discount.amount / 100, None
    return None, Money.of(discount.amount, discount.currency or currency, locale)


def discount_of(discount: Discount, row: SubscriptionRow, business: Business, locale: str) -> SubscriptionDiscount:
    percent, amount = _offer_amounts(discount, row.currency, locale)
    return SubscriptionDiscount(
        name=discount.name or discount.code,
        percent_off=percent,
        amount_off=amount,
        remaining_cycles=row.discount_cycles_remaining,
        discounted_price=RecurringPrice.of(discounted_price(subscription_price(row, business), discount), locale),
    )


async def cancellation_options_of(info: strawberry.Info, row: SubscriptionRow) -> CancellationOptions:
    viewer = info.context.signed_in_viewer()
    business = viewer.business(row.business_id)
    options = await cancellation_options(row, business, await features_for(viewer, row.business_id))
    offer = options.retention_offer
    retention = None
    if offer is not None:
        locale = info.context.locale
        percent, amount = _offer_amounts(offer, row.currency, locale)
        cycles = offer.duration_cycles if offer.duration == "repeating" else (1 if offer.duration == "once" else None)
        regular = subscription_price(row, business)
        retention = RetentionOffer(
            description=offer.name or offer.code,
            percent_off=percent,
            amount_off=amount,
            cycles=cycles,
            regular_price=RecurringPrice.of(regular, locale),
            discounted_price=RecurringPrice.of(discounted_price(regular, offer), locale),
        )
    return CancellationOptions(
        allowed=options.allowed,
        immediately=options.immediately,
        at_period_end=options.at_period_end,
        reasons=[CancellationReason(reason) for reason in options.reasons],
        retention_offer=retention,
    )


async def plan_change_options_of(info: strawberry.Info, row: SubscriptionRow) -> list[PlanChangeOption]:
    viewer = info.context.signed_in_viewer()
    features = await features_for(viewer, row.business_id)
    business = viewer.business(row.business_id)
    return [
        PlanChangeOption(
            product=Product.from_row(option.product),
            amount=Money.of(option.amount, row.currency, info.context.locale),
            price=RecurringPrice.of(plan_price(option.product, row.quantity, business), info.context.locale),
            monthly_equivalent=Money.of(option.monthly_amount, row.currency, info.context.locale),
            direction=PlanDirection(option.direction.value),
        )
        for option in await plan_options(row, business, features)
    ]


async def plan_change_quantity_of(info: strawberry.Info, row: SubscriptionRow) -> QuantityLimits | None:
    limits = quantity_choice(await features_for(info.context.signed_in_viewer(), row.business_id))
    return QuantityLimits(minimum=limits.minimum, maximum=limits.maximum) if limits else None


def _preview(quote: PlanChangeQuote, business: Business, currency: str, locale: str) -> PlanChangePreview:
    def money(amount: int) -> Money:
        return Money.of(amount, currency, locale)

    return PlanChangePreview(
        immediate_charge=money(quote.charge.total),
        credit=money(quote.leftover_credit),
        credit_applied=money(quote.charge.credit_applied),
        tax=money(quote.charge.tax),
        new_recurring_amount=money(quote.new_amount),
        new_price=RecurringPrice.of(plan_price(quote.product, quote.quantity, business), locale),
        effective_at=quote.effective_at,
        proration_mode=quote.proration.mode.value,
        direction=PlanDirection(quote.direction.value),
        scheduled=quote.scheduled,
        trial_continues=quote.trial_continues,
        lines=[PreviewLine(description=line.text(locale), amount=money(line.amount)) for line in quote.lines],
    )


async def plan_change_preview_of(
    info: strawberry.Info, row: SubscriptionRow, product_id: str, quantity: int | None
) -> PlanChangePreview | None:
    """The preview, or null when the change is not allowed (the mutation says why)."""
    viewer = info.context.signed_in_viewer()
    features = await features_for(viewer, row.business_id)
    try:
        quote = await preview_plan_change(row, product_id, quantity, features)
    except BillingError:
        return None
    business = viewer.business(row.business_id)
    assert business is not None, "a viewer sees a subscription only at one of its businesses"
    return _preview(quote, business, row.currency, info.context.locale)


async def scheduled_change_of(info: strawberry.Info, row: SubscriptionRow) -> ScheduledChange | None:
    change = row.scheduled_change
    if not change:
        return None
    return ScheduledChange(
        product=await product_of(info, str(change.get("product_id", ""))),
        quantity=int(change.get("quantity", row.quantity)),
        effective_at=datetime.fromisoformat(change["effective_at"]),
    )


async def pause_options_of(info: strawberry.Info, row: SubscriptionRow) -> PauseOptions:
    features = await features_for(info.context.signed_in_viewer(), row.business_id)
    return PauseOptions(
        allowed=pause_allowed(row, features),
        max_cycles=features.subscription_pause.max_cycles,
        starts_at=row.next_billing_date,
        row=row,
        features=features,
    )

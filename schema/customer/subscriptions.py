"""Subscriptions as the customer sees them, with the field names of the payments API merchants know."""

from datetime import datetime
from typing import Self

import strawberry

from billing.dues import upcoming_charge
from billing.dunning import payment_retry
from billing.pauses import pause_ends_at
from billing.periods import in_trial
from billing.prices import subscription_price
from core.clock import utcnow
from models import Business as BusinessRow
from models import PaymentMethod as PaymentMethodRow
from models import Product as ProductRow
from models import Subscription as SubscriptionRow
from schema.common.connections import Connection, connection, parse_after
from schema.common.limits import page_size
from schema.customer.context import CustomerContext
from schema.customer.enums import CancellationReason, Interval, SubscriptionStatus
from schema.customer.invoices import Invoice
from schema.customer.loaders import SubscriptionPageKey
from schema.customer.lookahead import Selection, load_related, selection_of
from schema.customer.money import Money
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness
from schema.customer.payment_methods import PaymentMethod
from schema.customer.prices import RecurringPrice
from schema.customer.products import Product
from schema.customer.subscription_options import (
    CancellationOptions,
    PauseOptions,
    PlanChangeOption,
    PlanChangePreview,
    QuantityLimits,
    ScheduledChange,
    SubscriptionDiscount,
    cancellation_options_of,
    discount_of,
    pause_options_of,
    plan_change_options_of,
    plan_change_preview_of,
    plan_change_quantity_of,
    scheduled_change_of,
)


@strawberry.type(description="A free trial under way: when it ends, and whether the card it will charge then failed.")
class SubscriptionTrial:
    ends_at: datetime = strawberry.field(description="When the trial ends and the first charge is made.")
    card_declined: bool = strawberry.field(
        description="The card that will be charged failed its most recent charge: choose another before the trial ends."
    )


@strawberry.type(description="A charge to come and its date.")
class UpcomingCharge:
    amount: Money = strawberry.field(description="What is charged, tax included, after discounts and credit.")
    at: datetime


@strawberry.type(
    description="A renewal that failed and is charged again on the business's schedule; the subscription stays "
    "ACTIVE meanwhile and goes ON_HOLD when the last retry fails. Paying now (reactivateSubscription) ends it."
)
class PaymentRetry:
    attempt: int = strawberry.field(description="How many charges of this renewal have failed so far.")
    next_attempt_at: datetime = strawberry.field(description="When the card is charged again.")
    subscription: strawberry.Private["Subscription"]

    @strawberry.field(description="What paying now charges, tax included.")
    async def amount_due(self, info: strawberry.Info) -> Money:
        due = await self.subscription.dues(info)
        assert due is not None, "a past-due subscription owes its renewal"
        return due


@strawberry.type
class Subscription(Node, OwnedByBusiness):
    status: SubscriptionStatus
    quantity: int
    amount: Money = strawberry.field(description="What each billing cycle costs before tax, for the quantity.")
    tax_inclusive: bool
    payment_frequency_count: int
    payment_frequency_interval: Interval
    previous_billing_date: datetime = strawberry.field(description="Start of the current period.")
    next_billing_date: datetime = strawberry.field(description="End of the current period: the next renewal.")
    cancel_at_next_billing_date: bool
    cancelled_at: datetime | None
    trial_ends_at: datetime | None
    expires_at: datetime | None
    cancellation_feedback: CancellationReason | None
    cancellation_comment: str | None
    pause_at_next_billing_date: bool = strawberry.field(description="A pause starts at the period end.")
    pause_cycles: int | None = strawberry.field(description="How many periods the pause lasts; null: until resumed.")
    paused_until: datetime | None
    pause_ends_at: datetime | None = strawberry.field(
        description="When the pause, waiting for the period end or under way, ends and billing resumes; null "
        "without a pause or for one until resumed."
    )
    created_at: datetime
    product: Product | None
    payment_method: PaymentMethod | None
    row: strawberry.Private[SubscriptionRow]

    def _business(self, info: strawberry.Info) -> BusinessRow:
        business = info.context.signed_in_viewer().business(self.business_id)
        assert business is not None, "a viewer sees a subscription only at one of its businesses"
        return business

    @strawberry.field(description="What each billing period costs, with its interval and tax, before discounts.")
    def price(self, info: strawberry.Info) -> RecurringPrice:
        return RecurringPrice.of(subscription_price(self.row, self._business(info)), info.context.locale)

    @strawberry.field(description="The free trial, while it lasts; null otherwise.")
    async def trial(self, info: strawberry.Info) -> SubscriptionTrial | None:
        row = self.row
        if row.trial_ends_at is None or not in_trial(row, utcnow()):
            return None
        method_id = row.payment_method_id
        declined = bool(method_id) and await info.context.loaders.declined_at.load(method_id) is not None
        return SubscriptionTrial(ends_at=row.trial_ends_at, card_declined=declined)

    @strawberry.field(
        description="What paying the dues (reactivateSubscription) will charge, tax included; null unless ON_HOLD "
        "or past due (paymentRetry)."
    )
    async def dues(self, info: strawberry.Info) -> Money | None:
        amounts = await info.context.loaders.dues.load(self.row)
        return Money.of(amounts.total, self.row.currency, info.context.locale) if amounts else None

    @strawberry.field(
        description="What the next charge will be, and when, if the subscription goes on: a cancellation resumed "
        "or a pause called off renews on the next billing date; a paused subscription unpaused now is charged "
        "today. Null once it ended, before it started, or on hold (see `dues`)."
    )
    async def upcoming_charge(self, info: strawberry.Info) -> UpcomingCharge | None:
        business = self._business(info)
        charge = await upcoming_charge(self.row, business, utcnow())
        if charge is None:
            return None
        amount = Money.of(charge.amounts.total, self.row.currency, info.context.locale)
        return UpcomingCharge(amount=amount, at=charge.at)

    @strawberry.field(description="The retries of a failed renewal, while they go on; null otherwise.")
    def payment_retry(self) -> PaymentRetry | None:
        retry = payment_retry(self.row)
        if retry is None:
            return None
        return PaymentRetry(attempt=retry.attempts, next_attempt_at=retry.next_attempt_at, subscription=self)

    @strawberry.field(description="The discount its next renewals get (a retention offer it accepted).")
    async def discount(self, info: strawberry.Info) -> SubscriptionDiscount | None:
        row = self.row
        if row.discount_id is None or row.discount_cycles_remaining == 0:
            return None
        discount = await info.context.loaders.discounts.load(row.discount_id)
        if discount is None:
            return None
        return discount_of(discount, row, self._business(info), info.context.locale)

    @strawberry.field(description="A plan change waiting for the period end.")
    async def scheduled_change(self, info: strawberry.Info) -> ScheduledChange | None:
        return await scheduled_change_of(info, self.row)

    @strawberry.field(description="How this subscription may be cancelled here, if at all.")
    async def cancellation_options(self, info: strawberry.Info) -> CancellationOptions:
        return await cancellation_options_of(info, self.row)

    @strawberry.field(description="The plans of its product collection it may change to; empty when changes are off.")
    async def plan_change_options(self, info: strawberry.Info) -> list[PlanChangeOption]:
        return await plan_change_options_of(info, self.row)

    @strawberry.field(
        description="The quantities a plan change may ask for; null when the business lets the customer change the "
        "plan but not its quantity, which then stays as it is."
    )
    async def plan_change_quantity(self, info: strawberry.Info) -> QuantityLimits | None:
        return await plan_change_quantity_of(info, self.row)

    @strawberry.field(description="What changing to this plan and quantity would do now; null when not allowed.")
    async def plan_change_preview(
        self, info: strawberry.Info, product_id: strawberry.ID, quantity: int | None = None
    ) -> PlanChangePreview | None:
        return await plan_change_preview_of(info, self.row, str(product_id), quantity)

    @strawberry.field
    async def pause_options(self, info: strawberry.Info) -> PauseOptions:
        return await pause_options_of(info, self.row)

    @strawberry.field(description="The invoices of this subscription, newest first.")
    async def invoices(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Invoice]:
        key = SubscriptionPageKey(subscription_id=str(self.id), first=page_size(first), after=parse_after(after))
        page = await info.context.loaders.subscription_invoices.load(key)
        return connection(page, await Invoice.build(info.context, page.rows, selection_of(info).nodes))

    @classmethod
    async def build(cls, context: CustomerContext, rows: list[SubscriptionRow], selection: Selection) -> list[Self]:
        """Subscriptions with the product and payment method the selection shows, loaded for all at once."""
        loaders = context.loaders
        products, payment_methods = await load_related(
            (loaders.products, [row.product_id for row in rows], "product" in selection),
            (loaders.payment_methods, [row.payment_method_id for row in rows], "paymentMethod" in selection),
        )
        return [cls.from_row(*loaded, context.locale) for loaded in zip(rows, products, payment_methods, strict=True)]

    @classmethod
    def from_row(
        cls, row: SubscriptionRow, product: ProductRow | None, payment_method: PaymentMethodRow | None, locale: str
    ) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            status=row.status,
            quantity=row.quantity,
            amount=Money.of(row.recurring_pre_tax_amount, row.currency, locale),
            tax_inclusive=row.tax_inclusive,
            payment_frequency_count=row.payment_frequency_count,
            payment_frequency_interval=row.payment_frequency_interval,
            previous_billing_date=row.previous_billing_date,
            next_billing_date=row.next_billing_date,
            cancel_at_next_billing_date=row.cancel_at_next_billing_date,
            cancelled_at=row.cancelled_at,
            trial_ends_at=row.trial_ends_at,
            expires_at=row.expires_at,
            cancellation_feedback=row.cancellation_feedback,
            cancellation_comment=row.cancellation_comment,
            pause_at_next_billing_date=row.pause_at_next_billing_date,
            pause_cycles=row.pause_cycles,
            paused_until=row.paused_until,
            pause_ends_at=pause_ends_at(row),
            created_at=row.created_at,
            product=Product.from_row(product) if product else None,
            payment_method=PaymentMethod.from_row(payment_method) if payment_method else None,
            row=row,
        )

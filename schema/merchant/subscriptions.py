"""Subscriptions in the merchant schema: get one, list them (by customer and status), start one for a customer (its
first period charged, or its trial started), cancel, resume, change plan, preview a change, and update (Dodo's PATCH).
Every mutation takes one input naming the subscription, as the customer schema's do, and the charging ones answer the
Payment of schema.merchant.payments.

The rules are billing's (subscription_start, merchant_changes); resolvers find the subscription in the key's business
and mode (an id outside it answers exactly like a missing one) and shape the answer. A declined charge is a UserError
next to the payment it left.

The preview is a query: it changes nothing, so a client may repeat or cache it like any read; Stripe's
`invoices.createPreview` and Dodo's preview endpoint are likewise reads that only need a body.
"""

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Protocol

import strawberry
from strawberry.scalars import JSON

from billing.errors import BillingError, decline_error_code
from billing.merchant_changes import (
    PlanRequest,
    SubscriptionUpdate,
    cancel_by_merchant,
    change_by_merchant,
    planned_subscription,
    preview_change,
    resume_by_merchant,
    update_subscription,
)
from billing.plan_changes import PlanChangeQuote
from billing.subscription_start import StartRequest, start_subscription
from merchants.customers import find_customer
from models import Customer as CustomerRow
from models import Payment as PaymentRow
from models import Subscription as SubscriptionRow
from models.enums import PaymentStatus
from models.ids import find_by_client_id, matching_id
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError, user_error
from schema.customer.enums import CancellationReason, Interval, SubscriptionStatus
from schema.merchant.context import MerchantContext
from schema.merchant.inputs import attempt, not_found
from schema.merchant.payments import MerchantPayment
from schema.merchant.portal_configurations import PlanChangeProration

Info = strawberry.Info[MerchantContext, None]
SUBSCRIPTION_NOT_FOUND = not_found("subscription", field="subscriptionId")


@strawberry.enum(description="When a plan change takes effect.")
class EffectiveAt(Enum):
    IMMEDIATELY = "immediately"
    NEXT_BILLING_DATE = "next_billing_date"


@strawberry.type(name="Subscription", description="A subscription of the business in the key's mode; Dodo's fields.")
class MerchantSubscription:
    id: strawberry.ID
    customer_id: strawberry.ID
    product_id: strawberry.ID
    status: SubscriptionStatus
    quantity: int
    recurring_pre_tax_amount: int = strawberry.field(description="Minor units, per billing period, before tax.")
    currency: str
    tax_inclusive: bool
    payment_frequency_count: int
    payment_frequency_interval: Interval
    subscription_period_count: int
    subscription_period_interval: Interval
    trial_period_days: int
    trial_ends_at: datetime | None
    previous_billing_date: datetime
    next_billing_date: datetime
    cancel_at_next_billing_date: bool
    cancelled_at: datetime | None
    expires_at: datetime | None
    payment_method_id: strawberry.ID | None
    discount_id: strawberry.ID | None
    cancellation_feedback: CancellationReason | None
    cancellation_comment: str | None
    scheduled_change: JSON | None = strawberry.field(description="`{product_id, quantity, effective_at}` or null.")
    metadata: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: SubscriptionRow) -> "MerchantSubscription":
        return cls(
            id=strawberry.ID(row.id),
            customer_id=strawberry.ID(row.customer_id),
            product_id=strawberry.ID(row.product_id),
            status=row.status,
            quantity=row.quantity,
            recurring_pre_tax_amount=row.recurring_pre_tax_amount,
            currency=row.currency,
            tax_inclusive=row.tax_inclusive,
            payment_frequency_count=row.payment_frequency_count,
            payment_frequency_interval=row.payment_frequency_interval,
            subscription_period_count=row.subscription_period_count,
            subscription_period_interval=row.subscription_period_interval,
            trial_period_days=row.trial_period_days,
            trial_ends_at=row.trial_ends_at,
            previous_billing_date=row.previous_billing_date,
            next_billing_date=row.next_billing_date,
            cancel_at_next_billing_date=row.cancel_at_next_billing_date,
            cancelled_at=row.cancelled_at,
            expires_at=row.expires_at,
            payment_method_id=strawberry.ID(row.payment_method_id) if row.payment_method_id else None,
            discount_id=strawberry.ID(row.discount_id) if row.discount_id else None,
            cancellation_feedback=row.cancellation_feedback,
            cancellation_comment=row.cancellation_comment,
            scheduled_change=JSON(row.scheduled_change),
            metadata=JSON(row.metadata),
            created_at=row.created_at,
        )


@strawberry.type
class SubscriptionPayload:
    subscription: MerchantSubscription | None
    errors: list[UserError]


@strawberry.type(description="What a charging subscription action did, as the customer schema's PaymentPayload.")
class PaymentPayload:
    subscription: MerchantSubscription | None
    payment: MerchantPayment | None = strawberry.field(description="Null when nothing was charged.")
    errors: list[UserError]


@strawberry.type
class ChargeLine:
    description: str
    amount: int


@strawberry.type(description="What a plan change charges now (Dodo's `immediate_charge`).")
class ImmediateCharge:
    total_amount: int = strawberry.field(description="Charged now, tax included, after the customer's credits.")
    tax: int
    customer_credits: int = strawberry.field(description="Paid from the customer's credit balance.")
    currency: str
    lines: list[ChargeLine]


@strawberry.type
class PlanChangePreview:
    immediate_charge: ImmediateCharge
    new_plan: MerchantSubscription = strawberry.field(description="The subscription as the change would leave it.")
    effective_at: datetime
    scheduled: bool = strawberry.field(description="The change waits for the next billing date.")


@strawberry.type
class PlanChangePreviewPayload:
    preview: PlanChangePreview | None
    errors: list[UserError]


@strawberry.input
class CreateSubscriptionInput:
    idempotency_key: str = strawberry.field(description="Unique per attempt: a retry never charges twice.")
    customer_id: strawberry.ID
    product_id: strawberry.ID
    quantity: int = 1
    processor_token: str | None = strawberry.field(default=None, description="A card token from the processor.")
    payment_method_id: strawberry.ID | None = strawberry.field(
        default=None, description="A saved payment method of the customer, instead of a token."
    )
    discount_code: str | None = None
    trial_period_days: int | None = strawberry.field(default=None, description="Overrides the product's trial.")
    metadata: JSON | None = None


@strawberry.input(description="A plan change to preview; changePlan's input without its idempotency key.")
class PlanChangeInput:
    subscription_id: strawberry.ID
    product_id: strawberry.ID
    quantity: int | None = None
    proration_billing_mode: PlanChangeProration = PlanChangeProration.PRORATED_IMMEDIATELY
    effective_at: EffectiveAt = EffectiveAt.IMMEDIATELY

    def request(self) -> PlanRequest:
        return PlanRequest(
            product_id=str(self.product_id),
            quantity=self.quantity,
            proration_billing_mode=self.proration_billing_mode.value,
            effective_at=self.effective_at.value,
        )


@strawberry.input
class ChangePlanInput(PlanChangeInput):
    idempotency_key: str = strawberry.field(description="Unique per attempt: a retry never charges twice.")


@strawberry.input
class SubscriptionInput:
    subscription_id: strawberry.ID


@strawberry.input
class CancelSubscriptionInput:
    subscription_id: strawberry.ID
    immediately: bool = strawberry.field(
        default=False, description="End now instead of at the next billing date, whatever customers may do."
    )
    reason: CancellationReason | None = None
    comment: str | None = None


@strawberry.input(description="Dodo's PATCH; an omitted field is left as it is.")
class UpdateSubscriptionInput:
    subscription_id: strawberry.ID
    metadata: JSON | None = None
    cancel_at_next_billing_date: bool | None = None
    status: SubscriptionStatus | None = strawberry.field(default=None, description="Only CANCELLED: end now.")
    payment_method_id: strawberry.ID | None = None
    cancel_reason: CancellationReason | None = None


def payment_errors(payment: PaymentRow | None) -> list[UserError]:
    """A declined charge as the error a merchant acts on; nothing for one that succeeded or waits."""
    if payment is None or payment.status != PaymentStatus.FAILED:
        return []
    decline = BillingError(decline_error_code(payment.error_code), message=payment.error_message or None)
    return [user_error(decline)]


async def find_subscription(info: Info, subscription_id: object) -> SubscriptionRow | None:
    context = info.context
    scope = SubscriptionRow.filter(business_id=context.business_id, livemode=context.livemode)
    return await find_by_client_id(scope, subscription_id)


class Charged(Protocol):
    """What a charging action answers: the subscription it left and the payment it made, if it made one."""

    @property
    def subscription(self) -> SubscriptionRow: ...

    @property
    def payment(self) -> PaymentRow | None: ...


async def payment_payload(work: Awaitable[Charged]) -> PaymentPayload:
    """The subscription and payment a charging action left, a decline as an error beside them; or its refusal."""
    outcome, errors = await attempt(work)
    if outcome is None:
        return PaymentPayload(subscription=None, payment=None, errors=errors)
    return PaymentPayload(
        subscription=MerchantSubscription.from_row(outcome.subscription),
        payment=MerchantPayment.from_row(outcome.payment) if outcome.payment else None,
        errors=payment_errors(outcome.payment),
    )


async def subscription_payload(work: Awaitable[SubscriptionRow]) -> SubscriptionPayload:
    row, errors = await attempt(work)
    return SubscriptionPayload(subscription=MerchantSubscription.from_row(row) if row else None, errors=errors)


def preview_of(subscription: SubscriptionRow, quote: PlanChangeQuote) -> PlanChangePreview:
    charge = quote.charge
    return PlanChangePreview(
        immediate_charge=ImmediateCharge(
            total_amount=charge.total,
            tax=charge.tax,
            customer_credits=charge.credit_applied,
            currency=subscription.currency,
            lines=[ChargeLine(description=line.description, amount=line.amount) for line in quote.lines],
        ),
        new_plan=MerchantSubscription.from_row(planned_subscription(subscription, quote)),
        effective_at=quote.effective_at,
        scheduled=quote.scheduled,
    )


@strawberry.type
class SubscriptionQuery:
    @strawberry.field(description="A subscription of the business; null for any id outside the key's scope.")
    async def subscription(self, info: Info, id: strawberry.ID) -> MerchantSubscription | None:
        row = await find_subscription(info, id)
        return MerchantSubscription.from_row(row) if row else None

    @strawberry.field(description="The business's subscriptions in the key's mode, newest first.")
    async def subscriptions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        customer_id: strawberry.ID | None = None,
        status: list[SubscriptionStatus] | None = None,
    ) -> Connection[MerchantSubscription]:
        query = SubscriptionRow.filter(business_id=info.context.business_id, livemode=info.context.livemode)
        query = matching_id(query, "customer_id", customer_id, CustomerRow)
        if status:
            query = query.filter(status__in=list(status))
        return await query_connection(query, MerchantSubscription.from_row, first=first, after=after)

    @strawberry.field(description="What a plan change would charge now and the plan it would leave; changes nothing.")
    async def plan_change_preview(self, info: Info, input: PlanChangeInput) -> PlanChangePreviewPayload:
        row = await find_subscription(info, input.subscription_id)
        if row is None:
            return PlanChangePreviewPayload(preview=None, errors=[SUBSCRIPTION_NOT_FOUND])
        quote, errors = await attempt(preview_change(row, input.request()))
        return PlanChangePreviewPayload(preview=preview_of(row, quote) if quote else None, errors=errors)


@strawberry.type
class SubscriptionMutations:
    @strawberry.mutation(description="Start a subscription: its trial, or its first period charged once per key.")
    async def create_subscription(self, info: Info, input: CreateSubscriptionInput) -> PaymentPayload:
        context = info.context
        customer = await find_customer(context.business_id, context.livemode, input.customer_id)
        if customer is None:
            error = not_found("customer", field="customerId")
            return PaymentPayload(subscription=None, payment=None, errors=[error])
        request = StartRequest(
            customer=customer,
            product_id=str(input.product_id),
            client_key=input.idempotency_key,
            quantity=input.quantity,
            processor_token=input.processor_token,
            payment_method_id=str(input.payment_method_id) if input.payment_method_id is not None else None,
            discount_code=input.discount_code,
            trial_period_days=input.trial_period_days,
            metadata=input.metadata,
        )
        return await payment_payload(start_subscription(request, context.billing))

    @strawberry.mutation(description="Cancel now, or at the next billing date, whatever customers may do.")
    async def cancel_subscription(self, info: Info, input: CancelSubscriptionInput) -> SubscriptionPayload:
        row = await find_subscription(info, input.subscription_id)
        if row is None:
            return SubscriptionPayload(subscription=None, errors=[SUBSCRIPTION_NOT_FOUND])
        reason = input.reason.value if input.reason else None
        return await subscription_payload(
            cancel_by_merchant(
                row, immediately=input.immediately, reason=reason, comment=input.comment, context=info.context.billing
            )
        )

    @strawberry.mutation(description="Undo a cancellation set for the next billing date.")
    async def resume_subscription(self, info: Info, input: SubscriptionInput) -> SubscriptionPayload:
        row = await find_subscription(info, input.subscription_id)
        if row is None:
            return SubscriptionPayload(subscription=None, errors=[SUBSCRIPTION_NOT_FOUND])
        return await subscription_payload(resume_by_merchant(row))

    @strawberry.mutation(description="Move to another product or quantity, charged once per idempotency key.")
    async def change_plan(self, info: Info, input: ChangePlanInput) -> PaymentPayload:
        row = await find_subscription(info, input.subscription_id)
        if row is None:
            return PaymentPayload(subscription=None, payment=None, errors=[SUBSCRIPTION_NOT_FOUND])
        return await payment_payload(
            change_by_merchant(row, input.request(), client_key=input.idempotency_key, context=info.context.billing)
        )

    @strawberry.mutation(description="Change metadata, the cancellation, the status (cancel now) or payment method.")
    async def update_subscription(self, info: Info, input: UpdateSubscriptionInput) -> SubscriptionPayload:
        row = await find_subscription(info, input.subscription_id)
        if row is None:
            return SubscriptionPayload(subscription=None, errors=[SUBSCRIPTION_NOT_FOUND])
        update = SubscriptionUpdate(
            metadata=input.metadata,
            cancel_at_next_billing_date=input.cancel_at_next_billing_date,
            status=input.status.value if input.status else None,
            payment_method_id=str(input.payment_method_id) if input.payment_method_id is not None else None,
            cancel_reason=input.cancel_reason.value if input.cancel_reason else None,
        )
        return await subscription_payload(update_subscription(row, update, info.context.billing))

"""What a merchant does to a running subscription through the API, in Dodo Payments' terms, over the functions the
portal uses, under the merchant's policy (merchants.features.merchant_features: the business's switches
govern its customers, not the business):

- change plan (`product_id`, `quantity`, `proration_billing_mode`, `effective_at`) and its preview, which says what
  the change would charge now and what the subscription would become (billing.plan_changes);
- cancel now or at the next billing date with a reason, and undo a cancellation at the next billing date
  (billing.cancellation);
- update (Dodo's PATCH): `metadata`, `cancel_at_next_billing_date`, `status: cancelled`, the payment method. Every
  value is checked first; then the changes apply in one transaction, all or none.
"""

import copy
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from tortoise.transactions import in_transaction

from billing.cancellation import cancel_subscription, resume_subscription
from billing.context import BillingContext
from billing.errors import BillingError
from billing.errors import BillingErrorCode as Code
from billing.events import record_subscription_event
from billing.payment_methods import check_can_pay, use_for_subscription
from billing.plan_changes import PlanChange, PlanChangeQuote, applied_fields, change_plan, preview_plan_change
from core.event_types import EventType
from core.inputs import metadata_problem
from merchants.features import EffectiveAt, PlanChangeProration, PortalFeatures, merchant_features
from models import PaymentMethod, Subscription
from models.enums import CancellationFeedback, SubscriptionStatus
from models.ids import find_by_client_id

Choice = TypeVar("Choice", bound=StrEnum)


@dataclass(frozen=True)
class PlanRequest:
    """Dodo's change-plan body."""

    product_id: str
    quantity: int | None = None
    proration_billing_mode: str = PlanChangeProration.PRORATED_IMMEDIATELY
    effective_at: str = EffectiveAt.IMMEDIATELY

    def features(self) -> PortalFeatures:
        """The merchant's policy for this change; raises BillingError for a mode or timing Dodo does not name."""
        proration = _named(PlanChangeProration, self.proration_billing_mode, "prorationBillingMode")
        return merchant_features(proration, _named(EffectiveAt, self.effective_at, "effectiveAt"))


def _named(vocabulary: type[Choice], value: str, field: str) -> Choice:
    if value not in list(vocabulary):
        raise BillingError(Code.INVALID_INPUT, field=field, message=f"Choose one of: {', '.join(vocabulary)}.")
    return vocabulary(value)


async def preview_change(subscription: Subscription, request: PlanRequest) -> PlanChangeQuote:
    """What the change would charge now; nothing changes."""
    return await preview_plan_change(subscription, request.product_id, request.quantity, request.features())


def planned_subscription(subscription: Subscription, quote: PlanChangeQuote) -> Subscription:
    """The subscription as the quoted change would leave it (unsaved): Dodo's `new_plan`."""
    planned = copy.copy(subscription)
    if quote.scheduled:
        planned.scheduled_change = {
            "product_id": quote.product.id,
            "quantity": quote.quantity,
            "effective_at": quote.effective_at.isoformat(),
        }
        return planned
    restart = quote.effective_at if quote.proration.restarts_cycle else None
    for field, value in applied_fields(quote.product, quote.quantity, restart).items():
        setattr(planned, field, value)
    return planned


async def change_by_merchant(
    subscription: Subscription, request: PlanRequest, *, client_key: str, context: BillingContext
) -> PlanChange:
    """Make the change as previewed; the same key answers the first request's result."""
    return await change_plan(
        subscription,
        request.product_id,
        request.quantity,
        client_key=client_key,
        method=None,
        features=request.features(),
        context=context,
    )


def _feedback(reason: str | None) -> str | None:
    if reason is not None and reason not in set(CancellationFeedback):
        reasons = ", ".join(CancellationFeedback)
        raise BillingError(Code.INVALID_INPUT, field="reason", message=f"Choose one of: {reasons}.")
    return reason


async def cancel_by_merchant(
    subscription: Subscription,
    *,
    immediately: bool,
    reason: str | None,
    comment: str | None,
    context: BillingContext,
) -> Subscription:
    """End now, or at the next billing date, whatever the business lets its customers do."""
    return await cancel_subscription(
        subscription,
        reason=_feedback(reason),
        comment=comment,
        immediately=immediately,
        features=merchant_features(),
        context=context,
    )


async def resume_by_merchant(subscription: Subscription) -> Subscription:
    """Undo a cancellation set for the next billing date."""
    return await resume_subscription(subscription)


@dataclass(frozen=True)
class SubscriptionUpdate:
    """Dodo's PATCH body; None leaves a field as it is."""

    # Any JSON value the API was given: _check_update refuses all but a flat object of text.
    metadata: object = None
    cancel_at_next_billing_date: bool | None = None
    # Only "cancelled" (end now) may be asked for.
    status: str | None = None
    payment_method_id: str | None = None
    # The churn reason (a CancellationFeedback) and comment a cancellation records.
    cancel_reason: str | None = None
    cancel_comment: str | None = None


async def _checked_method(subscription: Subscription, method_id: str | None) -> PaymentMethod | None:
    if method_id is None:
        return None
    saved = PaymentMethod.filter(customer_id=subscription.customer_id, detached_at__isnull=True)
    method = await find_by_client_id(saved, method_id)
    if method is None:
        message = "The customer has no saved payment method with that id."
        raise BillingError(Code.NOT_FOUND, field="paymentMethodId", message=message)
    check_can_pay(method)
    return method


def _check_update(update: SubscriptionUpdate) -> None:
    if update.metadata is not None and (problem := metadata_problem(update.metadata)):
        raise BillingError(Code.INVALID_INPUT, field="metadata", message=problem)
    if update.status not in (None, SubscriptionStatus.CANCELLED):
        raise BillingError(Code.INVALID_INPUT, field="status", message="Only status cancelled may be set.")
    if update.status is not None and update.cancel_at_next_billing_date is not None:
        message = "Cancel now (status) or at the next billing date, not both."
        raise BillingError(Code.INVALID_INPUT, field="cancelAtNextBillingDate", message=message)
    _feedback(update.cancel_reason)


async def update_subscription(
    subscription: Subscription, update: SubscriptionUpdate, context: BillingContext
) -> Subscription:
    """Apply Dodo's PATCH; raises BillingError, changing nothing, when any part of it cannot be done."""
    _check_update(update)
    method = await _checked_method(subscription, update.payment_method_id)
    async with in_transaction():
        if isinstance(update.metadata, dict) and update.metadata != subscription.metadata:
            await Subscription.filter(id=subscription.id).update(metadata=dict(update.metadata))
            await subscription.refresh_from_db()
            await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, subscription)
        if method is not None:
            subscription = await use_for_subscription(subscription, method, merchant_features())
        await _apply_cancellation(subscription, update, context)
    await subscription.refresh_from_db()
    return subscription


async def _apply_cancellation(subscription: Subscription, update: SubscriptionUpdate, context: BillingContext) -> None:
    """Asking for what already holds (cancelled, or set to end at the next billing date) changes nothing."""
    ends_later = update.cancel_at_next_billing_date
    if update.status == SubscriptionStatus.CANCELLED and subscription.status != SubscriptionStatus.CANCELLED:
        await cancel_by_merchant(
            subscription, immediately=True, reason=update.cancel_reason, comment=update.cancel_comment, context=context
        )
    elif ends_later and not subscription.cancel_at_next_billing_date:
        await cancel_by_merchant(
            subscription, immediately=False, reason=update.cancel_reason, comment=update.cancel_comment, context=context
        )
    elif ends_later is False and subscription.cancel_at_next_billing_date:
        await resume_subscription(subscription)

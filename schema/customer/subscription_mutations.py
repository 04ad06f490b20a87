"""Mutations that change a subscription's course: cancel (with a reason, a comment and the retention offer), resume,
change plan or quantity (charged through the payment path), keep the current plan instead of a scheduled change,
pause and unpause, and subscribe again after a subscription ended (through a checkout). Every id goes through the
Viewer; the rules are billing's."""

from collections.abc import Awaitable, Callable

import strawberry

from billing.cancellation import accept_retention_offer, cancel_subscription, resume_subscription
from billing.checkout import subscribe_again
from billing.errors import BillingError
from billing.pauses import pause_subscription, unpause_subscription
from billing.plan_changes import cancel_scheduled_change, change_plan
from merchants.features import PortalFeatures
from models import Invoice as InvoiceRow
from models import Subscription as SubscriptionRow
from schema.common.errors import UserError
from schema.customer.actions import features_for, not_found, user_error
from schema.customer.enums import CancellationReason
from schema.customer.lookahead import built_node
from schema.customer.payments import PaymentPayload, payment_payload
from schema.customer.subscriptions import Subscription


@strawberry.input
class SubscriptionInput:
    subscription_id: strawberry.ID


@strawberry.input
class CancelSubscriptionInput:
    subscription_id: strawberry.ID
    reason: CancellationReason | None = None
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")
    immediately: bool | None = strawberry.field(
        default=False, description="End now instead of at the period end, where the business allows it."
    )


@strawberry.input
class ChangePlanInput:
    subscription_id: strawberry.ID
    product_id: strawberry.ID
    quantity: int | None = None
    idempotency_key: str = strawberry.field(description="Unique per attempt: a retry never charges twice.")


@strawberry.input
class PauseSubscriptionInput:
    subscription_id: strawberry.ID
    cycles: int | None = strawberry.field(default=None, description="Billing periods to skip; null: until unpaused.")


@strawberry.type
class SubscriptionPayload:
    subscription: Subscription | None
    errors: list[UserError]


Change = Callable[[SubscriptionRow, PortalFeatures], Awaitable[SubscriptionRow]]


async def _changed(info: strawberry.Info, subscription_id: strawberry.ID, change: Change) -> SubscriptionPayload:
    """Run `change` on a subscription in the viewer's scope, with the portal features of its business; an expected
    failure is a UserError."""
    viewer = info.context.signed_in_viewer()
    row = await viewer.get_subscription(str(subscription_id))
    if row is None:
        return SubscriptionPayload(subscription=None, errors=[not_found(info, "subscriptionId")])
    try:
        row = await change(row, await features_for(viewer, row.business_id))
    except BillingError as error:
        return SubscriptionPayload(subscription=None, errors=[user_error(info, error)])
    return SubscriptionPayload(subscription=await built_node(info, Subscription.build, row, "subscription"), errors=[])


def _ignoring_features(change: Callable[[SubscriptionRow], Awaitable[SubscriptionRow]]) -> Change:
    async def changed(row: SubscriptionRow, features: PortalFeatures) -> SubscriptionRow:
        return await change(row)

    return changed


@strawberry.input
class SubscribeAgainInput:
    subscription_id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="Unique per attempt (1–255 printable characters): a retry with the same key answers the same "
        "checkout."
    )


@strawberry.type
class SubscribeAgainPayload:
    checkout_url: str | None = strawberry.field(
        description="The hosted checkout where the customer adds a card and pays the first period."
    )
    errors: list[UserError]


@strawberry.type
class SubscriptionMutations:
    @strawberry.mutation(description="Cancel at the period end (or now, where allowed), with a reason and a comment.")
    async def cancel_subscription(self, info: strawberry.Info, input: CancelSubscriptionInput) -> SubscriptionPayload:
        async def cancel(row: SubscriptionRow, features: PortalFeatures) -> SubscriptionRow:
            return await cancel_subscription(
                row,
                reason=input.reason.value if input.reason else None,
                comment=input.comment,
                immediately=bool(input.immediately),
                features=features,
                context=info.context.billing,
                locale=info.context.signed_in_viewer().session.locale,
            )

        return await _changed(info, input.subscription_id, cancel)

    @strawberry.mutation(description="Undo a cancellation scheduled for the period end.")
    async def resume_subscription(self, info: strawberry.Info, input: SubscriptionInput) -> SubscriptionPayload:
        return await _changed(info, input.subscription_id, _ignoring_features(resume_subscription))

    @strawberry.mutation(description="Stay, with the retention offer's discount on the next renewals.")
    async def accept_retention_offer(self, info: strawberry.Info, input: SubscriptionInput) -> SubscriptionPayload:
        return await _changed(info, input.subscription_id, accept_retention_offer)

    @strawberry.mutation(description="Keep the current plan: drop the change scheduled for the period end.")
    async def cancel_scheduled_change(self, info: strawberry.Info, input: SubscriptionInput) -> SubscriptionPayload:
        return await _changed(info, input.subscription_id, _ignoring_features(cancel_scheduled_change))

    @strawberry.mutation(description="Pause from the period end for 1 to N periods, where the business allows it.")
    async def pause_subscription(self, info: strawberry.Info, input: PauseSubscriptionInput) -> SubscriptionPayload:
        async def pause(row: SubscriptionRow, features: PortalFeatures) -> SubscriptionRow:
            return await pause_subscription(row, input.cycles, features)

        return await _changed(info, input.subscription_id, pause)

    @strawberry.mutation(description="Call off a pause, or end one: billing resumes today.")
    async def unpause_subscription(self, info: strawberry.Info, input: SubscriptionInput) -> SubscriptionPayload:
        return await _changed(info, input.subscription_id, _ignoring_features(unpause_subscription))

    @strawberry.mutation(description="Change plan or quantity exactly as planChangePreview shows it.")
    async def change_plan(self, info: strawberry.Info, input: ChangePlanInput) -> PaymentPayload:
        viewer = info.context.signed_in_viewer()
        row = await viewer.get_subscription(str(input.subscription_id))
        if row is None:
            return PaymentPayload.failed(not_found(info, "subscriptionId"))
        try:
            change = await change_plan(
                row,
                str(input.product_id),
                input.quantity,
                client_key=input.idempotency_key,
                method=None,
                features=await features_for(viewer, row.business_id),
                context=info.context.billing,
                locale=viewer.session.locale,
            )
        except BillingError as error:
            return PaymentPayload.failed(user_error(info, error))
        if change.payment is None:
            subscription = await built_node(info, Subscription.build, change.subscription, "subscription")
            return PaymentPayload(subscription=subscription, payment=None, invoice=None, next_action=None, errors=[])
        invoice = await InvoiceRow.get_or_none(payment_id=change.payment.id)
        return await payment_payload(info, change.payment, change.subscription, invoice)

    @strawberry.mutation(
        description="Start a new subscription to a CANCELLED, EXPIRED or FAILED one's plan and quantity (no trial): "
        "answers the checkout where the customer gives a card and pays; it starts once paid, and the portal's home is "
        "where they land."
    )
    async def subscribe_again(self, info: strawberry.Info, input: SubscribeAgainInput) -> SubscribeAgainPayload:
        viewer = info.context.signed_in_viewer()
        row = await viewer.get_subscription(str(input.subscription_id))
        if row is None:
            return SubscribeAgainPayload(checkout_url=None, errors=[not_found(info, "subscriptionId")])
        billing = info.context.billing
        try:
            checkout = await subscribe_again(row, input.idempotency_key, billing.portal_url("/"), billing)
        except BillingError as error:
            return SubscribeAgainPayload(checkout_url=None, errors=[user_error(info, error)])
        return SubscribeAgainPayload(checkout_url=checkout.link, errors=[])

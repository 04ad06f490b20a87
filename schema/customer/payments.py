"""Payments a customer makes in the portal, and the mutations that make them: reactivating an on-hold subscription
and completing a payment that needed the customer's authentication (3-D Secure)."""

import strawberry

from billing.errors import BillingError, BillingErrorCode, decline_error_code
from billing.payments import complete_payment
from billing.reactivation import reactivate
from models import Invoice as InvoiceRow
from models import Payment as PaymentRow
from models import Subscription as SubscriptionRow
from models.enums import PaymentStatus as PaymentStatusValue
from schema.common.errors import UserError
from schema.customer.actions import features_for, not_found, user_error
from schema.customer.invoices import Invoice
from schema.customer.lookahead import built_node
from schema.customer.purchases import Payment
from schema.customer.subscriptions import Subscription


@strawberry.type(description="What the customer must do to finish a payment: authenticate it with their bank.")
class NextAction:
    url: str


@strawberry.input
class ReactivateSubscriptionInput:
    subscription_id: strawberry.ID
    payment_method_id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="Unique per attempt (1–255 printable characters): a retry with the same key never charges again."
    )


@strawberry.input
class CompletePaymentInput:
    payment_id: strawberry.ID


@strawberry.type
class PaymentPayload:
    subscription: Subscription | None
    payment: Payment | None
    invoice: Invoice | None
    next_action: NextAction | None = strawberry.field(description="Set while the payment waits for the customer.")
    errors: list[UserError]

    @classmethod
    def failed(cls, error: UserError) -> "PaymentPayload":
        return cls(subscription=None, payment=None, invoice=None, next_action=None, errors=[error])


async def payment_payload(
    info: strawberry.Info, payment: PaymentRow, subscription: SubscriptionRow | None, invoice: InvoiceRow | None
) -> PaymentPayload:
    """A payment's state as data: a decline or a pending authentication is an error the customer can act on."""
    errors = []
    if payment.status == PaymentStatusValue.FAILED:
        decline = decline_error_code(payment.error_code)
        message = payment.error_message or None
        errors.append(user_error(info, BillingError(decline, field="payment_method_id", message=message)))
    elif payment.status == PaymentStatusValue.REQUIRES_CUSTOMER_ACTION:
        errors.append(user_error(info, BillingError(BillingErrorCode.AUTHENTICATION_REQUIRED)))
    return PaymentPayload(
        subscription=await built_node(info, Subscription.build, subscription, "subscription"),
        payment=Payment.from_row(payment, info.context.locale),
        invoice=await built_node(info, Invoice.build, invoice, "invoice"),
        next_action=NextAction(url=payment.next_action_url) if payment.next_action_url else None,
        errors=errors,
    )


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(
        description="Pay an ON_HOLD subscription's dues with a saved method of its business and make it ACTIVE, or "
        "a past-due one's failed renewal now (Subscription.paymentRetry), which ends its retries. "
        "A declined card leaves it on hold (errors say why); a card that needs 3-D Secure answers nextAction."
    )
    async def reactivate_subscription(
        self, info: strawberry.Info, input: ReactivateSubscriptionInput
    ) -> PaymentPayload:
        viewer = info.context.signed_in_viewer()
        subscription = await viewer.get_subscription(str(input.subscription_id))
        method = await viewer.get_payment_method(str(input.payment_method_id))
        if subscription is None or method is None:
            return PaymentPayload.failed(
                not_found(info, "subscriptionId" if subscription is None else "paymentMethodId")
            )
        try:
            payment = await reactivate(
                subscription,
                method,
                client_key=input.idempotency_key,
                features=await features_for(viewer, subscription.business_id),
                context=info.context.billing,
                locale=viewer.session.locale,
            )
        except BillingError as error:
            return PaymentPayload.failed(user_error(info, error))
        await subscription.refresh_from_db()
        return await payment_payload(info, payment, subscription, await InvoiceRow.get_or_none(payment_id=payment.id))

    @strawberry.mutation(description="Finish a payment once the customer answered 3-D Secure.")
    async def complete_payment(self, info: strawberry.Info, input: CompletePaymentInput) -> PaymentPayload:
        viewer = info.context.signed_in_viewer()
        payment = await viewer.get_payment(str(input.payment_id))
        if payment is None:
            return PaymentPayload.failed(not_found(info, "paymentId"))
        payment = await complete_payment(payment, info.context.billing, viewer.session.locale)
        subscription = await viewer.get_subscription(payment.subscription_id) if payment.subscription_id else None
        return await payment_payload(info, payment, subscription, await InvoiceRow.get_or_none(payment_id=payment.id))

"""Mutations of saved payment methods: add one (from a processor token or the processor's hosted page), make one
the default, remove one, and choose the one that pays a subscription. Every id goes through the Viewer."""

from urllib.parse import urlencode

import strawberry

from billing.errors import BillingError
from billing.payment_methods import (
    add_payment_method,
    remove_payment_method,
    set_default_payment_method,
    start_setup,
    use_for_subscription,
)
from schema.common.errors import UserError
from schema.customer.actions import features_for, not_found, user_error
from schema.customer.lookahead import built_node
from schema.customer.payment_methods import PaymentMethod
from schema.customer.subscriptions import Subscription


@strawberry.input
class AddPaymentMethodInput:
    business_id: strawberry.ID
    processor_token: str = strawberry.field(description="A token from the processor's hosted page, or a test token.")
    set_as_default: bool | None = False


@strawberry.type
class AddPaymentMethodPayload:
    payment_method: PaymentMethod | None
    errors: list[UserError]


@strawberry.input
class StartPaymentMethodSetupInput:
    business_id: strawberry.ID
    return_url: str | None = strawberry.field(
        default=None,
        description="Where the hosted page sends the customer back, with `processor_token=…` in the query; "
        "the portal's own page by default.",
    )


@strawberry.type
class StartPaymentMethodSetupPayload:
    url: str | None = strawberry.field(description="The processor's hosted page where the customer types a card.")
    errors: list[UserError]


@strawberry.input
class PaymentMethodInput:
    payment_method_id: strawberry.ID


@strawberry.type
class SetDefaultPaymentMethodPayload:
    payment_method: PaymentMethod | None
    errors: list[UserError]


@strawberry.type
class RemovePaymentMethodPayload:
    removed_payment_method_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.input
class UpdateSubscriptionPaymentMethodInput:
    subscription_id: strawberry.ID
    payment_method_id: strawberry.ID


@strawberry.type
class UpdateSubscriptionPaymentMethodPayload:
    subscription: Subscription | None
    errors: list[UserError]


def default_setup_return_url(base_url: str, business_id: str) -> str:
    return f"{base_url}/payment-methods/added?{urlencode({'business': business_id})}"


@strawberry.type
class PaymentMethodMutations:
    @strawberry.mutation(
        description="Save a card from a processor token at one business (the customer's record there)."
    )
    async def add_payment_method(self, info: strawberry.Info, input: AddPaymentMethodInput) -> AddPaymentMethodPayload:
        viewer = info.context.signed_in_viewer()
        customer = viewer.customer(str(input.business_id))
        if customer is None:
            return AddPaymentMethodPayload(payment_method=None, errors=[not_found(info, "businessId")])
        try:
            row = await add_payment_method(
                customer,
                input.processor_token,
                set_as_default=bool(input.set_as_default),
                processor=await info.context.billing.processor_for(customer.business_id, customer.livemode),
                features=await features_for(viewer, customer.business_id),
            )
        except BillingError as error:
            return AddPaymentMethodPayload(payment_method=None, errors=[user_error(info, error)])
        return AddPaymentMethodPayload(payment_method=PaymentMethod.from_row(row), errors=[])

    @strawberry.mutation(description="Open the processor's hosted page to add a card; no card number reaches us.")
    async def start_payment_method_setup(
        self, info: strawberry.Info, input: StartPaymentMethodSetupInput
    ) -> StartPaymentMethodSetupPayload:
        viewer = info.context.signed_in_viewer()
        customer = viewer.customer(str(input.business_id))
        if customer is None:
            return StartPaymentMethodSetupPayload(url=None, errors=[not_found(info, "businessId")])
        billing = info.context.billing
        try:
            features = await features_for(viewer, customer.business_id)
            url = await start_setup(
                customer,
                return_url=input.return_url or default_setup_return_url(billing.base_url, customer.business_id),
                processor=await billing.processor_for(customer.business_id, customer.livemode),
                features=features,
            )
        except BillingError as error:
            return StartPaymentMethodSetupPayload(url=None, errors=[user_error(info, error)])
        return StartPaymentMethodSetupPayload(url=url, errors=[])

    @strawberry.mutation(description="Make a saved card the one new charges at its business use by default.")
    async def set_default_payment_method(
        self, info: strawberry.Info, input: PaymentMethodInput
    ) -> SetDefaultPaymentMethodPayload:
        viewer = info.context.signed_in_viewer()
        row = await viewer.get_payment_method(str(input.payment_method_id))
        if row is None:
            return SetDefaultPaymentMethodPayload(payment_method=None, errors=[not_found(info, "paymentMethodId")])
        try:
            row = await set_default_payment_method(row, await features_for(viewer, row.business_id))
        except BillingError as error:
            return SetDefaultPaymentMethodPayload(payment_method=None, errors=[user_error(info, error)])
        return SetDefaultPaymentMethodPayload(payment_method=PaymentMethod.from_row(row), errors=[])

    @strawberry.mutation(
        description="Remove a saved card. Refused (LAST_PAYMENT_METHOD) for the last usable card of a customer whose "
        "subscription there is active or on hold."
    )
    async def remove_payment_method(
        self, info: strawberry.Info, input: PaymentMethodInput
    ) -> RemovePaymentMethodPayload:
        viewer = info.context.signed_in_viewer()
        row = await viewer.get_payment_method(str(input.payment_method_id))
        if row is None:
            return RemovePaymentMethodPayload(
                removed_payment_method_id=None, errors=[not_found(info, "paymentMethodId")]
            )
        try:
            await remove_payment_method(row, await features_for(viewer, row.business_id))
        except BillingError as error:
            return RemovePaymentMethodPayload(removed_payment_method_id=None, errors=[user_error(info, error)])
        return RemovePaymentMethodPayload(removed_payment_method_id=strawberry.ID(row.id), errors=[])

    @strawberry.mutation(description="Choose which saved card of its business pays a subscription.")
    async def update_subscription_payment_method(
        self, info: strawberry.Info, input: UpdateSubscriptionPaymentMethodInput
    ) -> UpdateSubscriptionPaymentMethodPayload:
        viewer = info.context.signed_in_viewer()
        subscription = await viewer.get_subscription(str(input.subscription_id))
        method = await viewer.get_payment_method(str(input.payment_method_id))
        if subscription is None or method is None:
            field = "subscriptionId" if subscription is None else "paymentMethodId"
            return UpdateSubscriptionPaymentMethodPayload(subscription=None, errors=[not_found(info, field)])
        try:
            features = await features_for(viewer, subscription.business_id)
            subscription = await use_for_subscription(subscription, method, features)
        except BillingError as error:
            return UpdateSubscriptionPaymentMethodPayload(subscription=None, errors=[user_error(info, error)])
        return UpdateSubscriptionPaymentMethodPayload(
            subscription=await built_node(info, Subscription.build, subscription, "subscription"), errors=[]
        )

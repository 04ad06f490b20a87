"""The merchant schema's portal configurations: how the business's portal behaves in the API key's mode, with
typed feature blocks that mirror merchants.features (which checks them)."""

from datetime import datetime
from enum import StrEnum

import strawberry

from merchants import features as blocks
from merchants.portal_configurations import (
    configurations_of,
    create_configuration,
    features_of,
    find_configuration,
    update_configuration,
)
from models import PortalConfiguration as PortalConfigurationRow
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError
from schema.customer.enums import CancellationReason
from schema.merchant.context import MerchantContext
from schema.merchant.inputs import attempt, changes, given, not_found

Info = strawberry.Info[MerchantContext, None]
# The feature blocks' enums themselves, registered (`strawberry.enum` returns the class it is given): plain aliases, so
# the type checker reads them as types.
CancelMode = blocks.CancelMode
CancelProrationBehavior = blocks.CancelProrationBehavior
PlanChangeProration = blocks.PlanChangeProration
PaymentFailureBehavior = blocks.PaymentFailureBehavior
SubscriptionUpdateKind = blocks.SubscriptionUpdateKind
strawberry.enum(CancelMode, name="CancelMode")
strawberry.enum(
    CancelProrationBehavior,
    name="CancelProrationBehavior",
    description="CREDIT: an immediate cancellation's unused time goes to the customer's credit balance.",
)
strawberry.enum(PlanChangeProration, name="PlanChangeProration")
strawberry.enum(
    PaymentFailureBehavior,
    name="PaymentFailureBehavior",
    description="APPLY_CHANGE: an upgrade whose charge fails applies anyway and the subscription goes on hold.",
)
strawberry.enum(SubscriptionUpdateKind, name="SubscriptionUpdateKind")
# The profile fields a business controls (merchants.features.ProfileField, less the language), as the merchant schema
# has always spelled two of them; the values are ProfileField's, so `given` passes them on unchanged.
_MERCHANT_SPELLING = {blocks.ProfileField.PHONE_NUMBER: "PHONE", blocks.ProfileField.BILLING_ADDRESS: "ADDRESS"}
# Built from the fields rather than restated: mypy reads only an enum whose members are written out, hence the ignore.
CustomerUpdateField = StrEnum(  # type: ignore[misc]
    "CustomerUpdateField",
    {_MERCHANT_SPELLING.get(field, field.name): field.value for field in blocks.BUSINESS_CONTROLLED_FIELDS},
)
strawberry.enum(CustomerUpdateField, name="CustomerUpdateField")
UNSET = strawberry.UNSET


@strawberry.type
class FeatureSwitch:
    enabled: bool

    @classmethod
    def of(cls, switch: blocks.FeatureSwitch) -> "FeatureSwitch":
        return cls(enabled=switch.enabled)


@strawberry.type
class CancellationReasonFeature:
    enabled: bool
    options: list[CancellationReason]


@strawberry.type
class SubscriptionCancelFeature:
    enabled: bool
    mode: CancelMode
    cancellation_reason: CancellationReasonFeature
    retention_coupon_id: strawberry.ID | None = strawberry.field(description="A discount offered once before cancel.")
    proration_behavior: CancelProrationBehavior


@strawberry.type
class QuantityLimits:
    minimum: int
    maximum: int


@strawberry.type
class SubscriptionUpdateFeature:
    enabled: bool = strawberry.field(description="Plan changes also need the business's allowSubscriptionUpdates.")
    proration_billing_mode: PlanChangeProration
    downgrade_at_period_end: bool
    default_allowed_updates: list[SubscriptionUpdateKind]
    quantity: QuantityLimits
    payment_failure_behavior: PaymentFailureBehavior


@strawberry.type
class SubscriptionPauseFeature:
    enabled: bool
    max_cycles: int
    keep_license_keys_active: bool


@strawberry.type
class CustomerUpdateFeature:
    enabled: bool
    allowed_updates: list[CustomerUpdateField]


@strawberry.type(description="Dunning: when a failed renewal is charged again before the subscription goes on hold.")
class PaymentRetryFeature:
    retry_after_days: list[int] = strawberry.field(
        description="The days after the due date of each retry, going up; empty: on hold at the first failure."
    )


@strawberry.type
class PortalFeatures:
    invoice_history: FeatureSwitch
    payment_method_update: FeatureSwitch
    subscription_cancel: SubscriptionCancelFeature
    subscription_update: SubscriptionUpdateFeature
    subscription_pause: SubscriptionPauseFeature
    customer_update: CustomerUpdateFeature
    payment_retry: PaymentRetryFeature

    @classmethod
    def of(cls, features: blocks.PortalFeatures) -> "PortalFeatures":
        cancel, update, pause = features.subscription_cancel, features.subscription_update, features.subscription_pause
        return cls(
            invoice_history=FeatureSwitch.of(features.invoice_history),
            payment_method_update=FeatureSwitch.of(features.payment_method_update),
            subscription_cancel=SubscriptionCancelFeature(
                enabled=cancel.enabled,
                mode=cancel.mode,
                cancellation_reason=CancellationReasonFeature(
                    enabled=cancel.cancellation_reason.enabled, options=list(cancel.cancellation_reason.options)
                ),
                retention_coupon_id=_id(cancel.retention_coupon_id),
                proration_behavior=cancel.proration_behavior,
            ),
            subscription_update=SubscriptionUpdateFeature(
                enabled=update.enabled,
                proration_billing_mode=update.proration_billing_mode,
                downgrade_at_period_end=update.downgrade_at_period_end,
                default_allowed_updates=list(update.default_allowed_updates),
                quantity=QuantityLimits(minimum=update.quantity.minimum, maximum=update.quantity.maximum),
                payment_failure_behavior=update.payment_failure_behavior,
            ),
            subscription_pause=SubscriptionPauseFeature(
                enabled=pause.enabled,
                max_cycles=pause.max_cycles,
                keep_license_keys_active=pause.keep_license_keys_active,
            ),
            customer_update=CustomerUpdateFeature(
                enabled=features.customer_update.enabled,
                allowed_updates=[
                    CustomerUpdateField(field.value) for field in features.customer_update.allowed_updates
                ],
            ),
            payment_retry=PaymentRetryFeature(retry_after_days=list(features.payment_retry.retry_after_days)),
        )


def _id(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)


@strawberry.input
class FeatureSwitchInput:
    enabled: bool | None = UNSET


@strawberry.input
class CancellationReasonFeatureInput:
    enabled: bool | None = UNSET
    options: list[CancellationReason] | None = UNSET


@strawberry.input
class SubscriptionCancelFeatureInput:
    enabled: bool | None = UNSET
    mode: CancelMode | None = UNSET
    cancellation_reason: CancellationReasonFeatureInput | None = UNSET
    retention_coupon_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="A discount of this business and mode; null for none."
    )
    proration_behavior: CancelProrationBehavior | None = UNSET


@strawberry.input
class QuantityLimitsInput:
    minimum: int | None = UNSET
    maximum: int | None = UNSET


@strawberry.input
class SubscriptionUpdateFeatureInput:
    enabled: bool | None = UNSET
    proration_billing_mode: PlanChangeProration | None = UNSET
    downgrade_at_period_end: bool | None = UNSET
    default_allowed_updates: list[SubscriptionUpdateKind] | None = UNSET
    quantity: QuantityLimitsInput | None = UNSET
    payment_failure_behavior: PaymentFailureBehavior | None = UNSET


@strawberry.input
class SubscriptionPauseFeatureInput:
    enabled: bool | None = UNSET
    max_cycles: int | None = strawberry.field(default=UNSET, description="1 to 12 billing periods.")
    keep_license_keys_active: bool | None = UNSET


@strawberry.input
class CustomerUpdateFeatureInput:
    enabled: bool | None = UNSET
    allowed_updates: list[CustomerUpdateField] | None = UNSET


@strawberry.input
class PaymentRetryFeatureInput:
    retry_after_days: list[int] | None = strawberry.field(
        default=UNSET, description="Up to 5 days from 1 to 30 after the due date, going up; empty for no retry."
    )


@strawberry.input(description="The feature settings to change; those left out keep their value.")
class PortalFeaturesInput:
    invoice_history: FeatureSwitchInput | None = UNSET
    payment_method_update: FeatureSwitchInput | None = UNSET
    subscription_cancel: SubscriptionCancelFeatureInput | None = UNSET
    subscription_update: SubscriptionUpdateFeatureInput | None = UNSET
    subscription_pause: SubscriptionPauseFeatureInput | None = UNSET
    customer_update: CustomerUpdateFeatureInput | None = UNSET
    payment_retry: PaymentRetryFeatureInput | None = UNSET


@strawberry.input(description="The fields to set; those left out keep their value (on creation, the defaults).")
class PortalConfigurationInput:
    name: str | None = UNSET
    headline: str | None = UNSET
    privacy_policy_url: str | None = strawberry.field(
        default=UNSET, description="https:// (http:// only for localhost); empty to clear."
    )
    terms_of_service_url: str | None = strawberry.field(
        default=UNSET, description="https:// (http:// only for localhost); empty to clear."
    )
    default_return_url: str | None = strawberry.field(
        default=UNSET, description="https:// (http:// only for localhost); empty to clear."
    )
    is_default: bool | None = strawberry.field(
        default=UNSET, description="True makes it the default in place of the current one; false is refused for it."
    )
    features: PortalFeaturesInput | None = UNSET


@strawberry.input(description="The configuration to change and the fields to set; those left out keep their value.")
class UpdatePortalConfigurationInput(PortalConfigurationInput):
    portal_configuration_id: strawberry.ID


@strawberry.type(description="How the business's portal behaves for the sessions that use it.")
class PortalConfiguration:
    id: strawberry.ID
    name: str
    is_default: bool = strawberry.field(description="Exactly one configuration per business and mode is the default.")
    headline: str
    privacy_policy_url: str
    terms_of_service_url: str
    default_return_url: str
    features: PortalFeatures
    created_at: datetime

    @classmethod
    def of(cls, row: PortalConfigurationRow) -> "PortalConfiguration":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            is_default=row.is_default,
            headline=row.headline,
            privacy_policy_url=row.privacy_policy_url,
            terms_of_service_url=row.terms_of_service_url,
            default_return_url=row.default_return_url,
            features=PortalFeatures.of(features_of(row)),
            created_at=row.created_at,
        )


@strawberry.type
class PortalConfigurationPayload:
    portal_configuration: PortalConfiguration | None = strawberry.field(description="Null when errors is not empty.")
    errors: list[UserError]


def _payload(row: PortalConfigurationRow | None, errors: list[UserError]) -> PortalConfigurationPayload:
    return PortalConfigurationPayload(portal_configuration=PortalConfiguration.of(row) if row else None, errors=errors)


@strawberry.type
class PortalConfigurationQuery:
    @strawberry.field(description="The business's portal configurations in the API key's mode, newest first.")
    async def portal_configurations(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PortalConfiguration]:
        query = configurations_of(info.context.business_id, info.context.livemode)
        return await query_connection(query, PortalConfiguration.of, first=first, after=after)

    @strawberry.field(description="One portal configuration; null for an id outside the key's business and mode.")
    async def portal_configuration(self, info: Info, id: strawberry.ID) -> PortalConfiguration | None:
        row = await find_configuration(info.context.business_id, info.context.livemode, id)
        return PortalConfiguration.of(row) if row else None


@strawberry.type
class PortalConfigurationMutations:
    @strawberry.mutation(description="Create a portal configuration; the first of a mode is the default.")
    async def create_portal_configuration(
        self, info: Info, input: PortalConfigurationInput
    ) -> PortalConfigurationPayload:
        work = create_configuration(info.context.business_id, info.context.livemode, given(input))
        return _payload(*await attempt(work))

    @strawberry.mutation(description="Change a portal configuration, or make it the default.")
    async def update_portal_configuration(
        self, info: Info, input: UpdatePortalConfigurationInput
    ) -> PortalConfigurationPayload:
        row = await find_configuration(info.context.business_id, info.context.livemode, input.portal_configuration_id)
        if row is None:
            return _payload(None, [not_found("portal configuration", field="portalConfigurationId")])
        return _payload(*await attempt(update_configuration(row, changes(input, "portal_configuration_id"))))

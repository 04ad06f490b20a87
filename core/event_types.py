"""The types of the events the portal announces, with Dodo Payments' names (`payment.succeeded`,
`subscription.on_hold`, …): billing records them, merchants' webhook endpoints subscribe to them."""

from enum import StrEnum


class EventType(StrEnum):
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_PROCESSING = "payment.processing"
    SUBSCRIPTION_ACTIVE = "subscription.active"
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_ON_HOLD = "subscription.on_hold"
    SUBSCRIPTION_CANCELLED = "subscription.cancelled"
    SUBSCRIPTION_EXPIRED = "subscription.expired"
    SUBSCRIPTION_UPDATED = "subscription.updated"
    SUBSCRIPTION_PLAN_CHANGED = "subscription.plan_changed"
    SUBSCRIPTION_PAUSED = "subscription.paused"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    SUBSCRIPTION_FAILED = "subscription.failed"
    LICENSE_KEY_CREATED = "license_key.created"
    DISPUTE_OPENED = "dispute.opened"

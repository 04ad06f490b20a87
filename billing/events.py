"""Events: what happened to a customer's money, written in the same transaction as the change they announce, for
webhook delivery later. Types use Dodo Payments' names (`payment.succeeded`, `subscription.on_hold`, …); `data` is
Dodo's whole object (billing.resources) with its `payload_type`; the envelope `{business_id, type, timestamp, data}`
is put around `data` when an event is delivered.
"""

from typing import Any

from billing.resources import (
    dispute_object,
    license_key_object,
    payment_object,
    refund_object,
    subscription_object,
)
from core.event_types import EventType
from models import Event, LicenseKey, Payment, Refund, Subscription


async def _record(
    row: Payment | Refund | Subscription | LicenseKey,
    event_type: EventType,
    data: dict[str, Any],
    payload_type: str = "",
) -> Event:
    """The event of a change to `row`; `data` is Dodo's object of the row's kind unless `payload_type` names another."""
    return await Event.create(
        business_id=row.business_id,
        livemode=row.livemode,
        type=event_type,
        data={"payload_type": payload_type or type(row).__name__, **data},
    )


async def record_subscription_event(event_type: EventType, subscription: Subscription) -> Event:
    """Call inside the transaction that changed the subscription."""
    return await _record(subscription, event_type, await subscription_object(subscription))


async def record_payment_event(payment: Payment) -> Event | None:
    """`payment.succeeded|failed|processing` for the payment's status; call inside the transaction that set it."""
    event_type = {
        "succeeded": EventType.PAYMENT_SUCCEEDED,
        "failed": EventType.PAYMENT_FAILED,
        "requires_customer_action": EventType.PAYMENT_PROCESSING,
    }.get(str(payment.status))
    if event_type is None:
        return None
    return await _record(payment, event_type, await payment_object(payment))


async def record_refund_event(refund: Refund) -> Event:
    """`refund.succeeded|failed` for a settled refund; call inside the transaction that settled it."""
    event_type = EventType.REFUND_SUCCEEDED if refund.status == "succeeded" else EventType.REFUND_FAILED
    return await _record(refund, event_type, await refund_object(refund))


async def record_dispute_event(payment: Payment, dispute_id: str, amount: int, currency: str, reason: str) -> Event:
    """`dispute.opened`, for a dispute the processor announced; call inside the transaction that marked the payment
    disputed."""
    data = dispute_object(payment, dispute_id, amount, currency, reason)
    return await _record(payment, EventType.DISPUTE_OPENED, data, payload_type="Dispute")


async def record_license_key_event(license_key: LicenseKey) -> Event:
    """`license_key.created`; call inside the transaction that issued the key."""
    return await _record(license_key, EventType.LICENSE_KEY_CREATED, await license_key_object(license_key))

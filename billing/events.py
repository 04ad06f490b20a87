"""Events: what happened to a customer's money, written in the same transaction as the change they announce, for
webhook delivery later. Types and payloads use Dodo Payments' names (`payment.succeeded`, `subscription.on_hold`,
…); the envelope `{business_id, type, timestamp, data}` is put around `data` when an event is delivered.
"""

from datetime import datetime

from core.event_types import EventType
from models import Event, LicenseKey, Payment, Refund, Subscription


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def subscription_payload(subscription: Subscription) -> dict:
    return {
        "payload_type": "Subscription",
        "subscription_id": subscription.id,
        "customer_id": subscription.customer_id,
        "product_id": subscription.product_id,
        "status": str(subscription.status),
        "quantity": subscription.quantity,
        "recurring_pre_tax_amount": subscription.recurring_pre_tax_amount,
        "currency": subscription.currency,
        "tax_inclusive": subscription.tax_inclusive,
        "payment_frequency_count": subscription.payment_frequency_count,
        "payment_frequency_interval": str(subscription.payment_frequency_interval),
        "previous_billing_date": _moment(subscription.previous_billing_date),
        "next_billing_date": _moment(subscription.next_billing_date),
        "cancel_at_next_billing_date": subscription.cancel_at_next_billing_date,
        "cancelled_at": _moment(subscription.cancelled_at),
        "expires_at": _moment(subscription.expires_at),
        "payment_method_id": subscription.payment_method_id,
        "discount_id": subscription.discount_id,
        "scheduled_change": subscription.scheduled_change,
        "cancellation_feedback": subscription.cancellation_feedback and str(subscription.cancellation_feedback),
        "cancellation_comment": subscription.cancellation_comment,
        "trial_period_days": subscription.trial_period_days,
        "metadata": subscription.metadata,
    }


def payment_payload(payment: Payment) -> dict:
    return {
        "payload_type": "Payment",
        "payment_id": payment.id,
        "customer_id": payment.customer_id,
        "subscription_id": payment.subscription_id,
        "total_amount": payment.total_amount,
        "tax": payment.tax,
        "currency": payment.currency,
        "status": str(payment.status),
        "payment_method_id": payment.payment_method_id,
        "card_last_four": payment.card_last_four,
        "card_network": payment.card_network,
        "error_code": payment.error_code,
        "error_message": payment.error_message,
        "created_at": _moment(payment.created_at),
    }


def refund_payload(refund: Refund, *, is_partial: bool) -> dict:
    return {
        "payload_type": "Refund",
        "refund_id": refund.id,
        "payment_id": refund.payment_id,
        "business_id": refund.business_id,
        "customer_id": refund.customer_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "is_partial": is_partial,
        "status": str(refund.status),
        "reason": refund.reason or None,
        "credit_note_number": refund.credit_note_number,
        "created_at": _moment(refund.created_at),
    }


async def record_subscription_event(event_type: EventType, subscription: Subscription) -> Event:
    """Call inside the transaction that changed the subscription."""
    return await Event.create(
        business_id=subscription.business_id,
        livemode=subscription.livemode,
        type=event_type,
        data=subscription_payload(subscription),
    )


async def record_payment_event(payment: Payment) -> Event | None:
    """`payment.succeeded|failed|processing` for the payment's status; call inside the transaction that set it."""
    event_type = {
        "succeeded": EventType.PAYMENT_SUCCEEDED,
        "failed": EventType.PAYMENT_FAILED,
        "requires_customer_action": EventType.PAYMENT_PROCESSING,
    }.get(str(payment.status))
    if event_type is None:
        return None
    return await Event.create(
        business_id=payment.business_id, livemode=payment.livemode, type=event_type, data=payment_payload(payment)
    )


async def record_refund_event(refund: Refund, *, is_partial: bool) -> Event:
    """`refund.succeeded|failed` for a settled refund; call inside the transaction that settled it."""
    event_type = EventType.REFUND_SUCCEEDED if refund.status == "succeeded" else EventType.REFUND_FAILED
    return await Event.create(
        business_id=refund.business_id,
        livemode=refund.livemode,
        type=event_type,
        data=refund_payload(refund, is_partial=is_partial),
    )


def dispute_payload(payment: Payment, dispute_id: str, amount: int, currency: str, reason: str) -> dict:
    """Dodo Payments' Dispute, for a dispute the processor announced (its id is the processor's)."""
    return {
        "payload_type": "Dispute",
        "dispute_id": dispute_id,
        "payment_id": payment.id,
        "business_id": payment.business_id,
        "customer_id": payment.customer_id,
        "amount": amount,
        "currency": currency,
        "dispute_stage": "dispute",
        "dispute_status": "dispute_opened",
        "remarks": reason or None,
        "created_at": _moment(payment.disputed_at),
    }


async def record_dispute_event(payment: Payment, dispute_id: str, amount: int, currency: str, reason: str) -> Event:
    """`dispute.opened`; call inside the transaction that marked the payment disputed."""
    return await Event.create(
        business_id=payment.business_id,
        livemode=payment.livemode,
        type=EventType.DISPUTE_OPENED,
        data=dispute_payload(payment, dispute_id, amount, currency, reason),
    )


def license_key_payload(license_key: LicenseKey) -> dict:
    return {
        "payload_type": "LicenseKey",
        "id": license_key.id,
        "key": license_key.key,
        "status": str(license_key.status),
        "activations_limit": license_key.activations_limit,
        "expires_at": _moment(license_key.expires_at),
        "customer_id": license_key.customer_id,
        "product_id": license_key.product_id,
        "payment_id": license_key.payment_id,
        "subscription_id": license_key.subscription_id,
        "created_at": _moment(license_key.created_at),
    }


async def record_license_key_event(license_key: LicenseKey) -> Event:
    """`license_key.created`; call inside the transaction that issued the key."""
    return await Event.create(
        business_id=license_key.business_id,
        livemode=license_key.livemode,
        type=EventType.LICENSE_KEY_CREATED,
        data=license_key_payload(license_key),
    )

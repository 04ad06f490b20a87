"""Events from a business's own Stripe account: received at the business's webhook route for one mode, verified
with that mode's signing secret (`stripe.Webhook.construct_event`), recorded once by Stripe's event id so that a
redelivery changes nothing, and handled later by the worker (`handle_stripe_events`):

- `payment_intent.succeeded` / `payment_intent.payment_failed` settle a payment still open (the customer closed the
  page after 3-D Secure, or the request died before recording Stripe's answer), through billing.payments; the
  return page and the billing run's recovery remain the other ways;
- `charge.refunded` records a refund made in Stripe's dashboard, with its credit note (refunds the portal asked for
  carry our key and are already recorded);
- `charge.dispute.created` marks the payment disputed and announces `dispute.opened` to the merchant's webhooks;
- `payment_method.updated` / `payment_method.automatically_updated` update the saved card (its expiry, and its
  number's last four when the bank replaced it);
- `payment_method.detached` takes the card out of the portal.

Any other type is acknowledged and ignored. A handler that fails is tried again at the next passes, a few times.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import stripe
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from billing.context import BillingContext
from billing.errors import BillingError
from billing.events import record_dispute_event
from billing.payment_methods import forget_payment_method
from billing.payments import finish_open_payment
from billing.processors.stripe import KEY
from billing.refunds import record_refund
from core.clock import utcnow
from merchants.stripe_accounts import stripe_credentials
from models import Payment, PaymentMethod, StripeEvent

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BATCH_SIZE = 100
# The key a refund made in Stripe's dashboard is recorded under, so recording it again finds the first record.
_DASHBOARD_REFUND_KEY = "stripe:{}"


class StripeEventRefused(Exception):
    """A delivery that is not the business's Stripe account speaking: nothing was recorded."""


async def receive_stripe_event(
    business_id: str, livemode: bool, payload: bytes, signature: str, context: BillingContext
) -> bool:
    """Verify and record one delivery; False when the event was recorded before (a redelivery).

    Raises StripeEventRefused for a business without Stripe in that mode, a bad signature or another mode's event."""
    credentials = await stripe_credentials(business_id, livemode, context.credentials) if context.credentials else None
    if credentials is None:
        raise StripeEventRefused("no Stripe account is connected for this business and mode")
    try:
        event = stripe.Webhook.construct_event(payload, signature, credentials.webhook_secret)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise StripeEventRefused("the signature does not match the webhook secret") from error
    if bool(event.livemode) != livemode:
        raise StripeEventRefused("the event belongs to the other mode")
    body = json.loads(payload)
    try:
        await StripeEvent.create(
            business_id=business_id,
            livemode=livemode,
            event_id=event.id,
            type=event.type,
            data=body.get("data", {}).get("object", {}),
        )
    except IntegrityError:
        return False
    return True


async def handle_stripe_events(context: BillingContext) -> int:
    """Handle the events waiting (the worker's part); how many were handled."""
    due = StripeEvent.filter(handled_at__isnull=True, attempts__lt=MAX_ATTEMPTS).order_by("created_at")
    handled = 0
    for event in await due.limit(BATCH_SIZE):
        try:
            await HANDLERS.get(event.type, _acknowledge)(event, context)
        except Exception as error:
            logger.exception("Stripe event %s (%s) failed; trying again at the next pass", event.event_id, event.type)
            await StripeEvent.filter(id=event.id).update(attempts=F("attempts") + 1, last_error=repr(error)[:2000])
            continue
        await StripeEvent.filter(id=event.id).update(attempts=F("attempts") + 1, handled_at=utcnow())
        handled += 1
    return handled


async def _acknowledge(event: StripeEvent, context: BillingContext) -> None:
    """A type the portal has no use for."""


async def _payment_of(event: StripeEvent, intent_id: str, metadata: dict[str, Any] | None = None) -> Payment | None:
    """Our payment of a PaymentIntent: by its reference, else (never recorded) by our key in its metadata."""
    ours = Payment.filter(business_id=event.business_id, livemode=event.livemode)
    payment = await ours.filter(processor_reference=intent_id).first() if intent_id else None
    key = (metadata or {}).get(KEY)
    if payment is None and key:
        payment = await ours.filter(idempotency_key=key).first()
    return payment


async def _payment_intent_settled(event: StripeEvent, context: BillingContext) -> None:
    payment = await _payment_of(event, str(event.data.get("id", "")), event.data.get("metadata"))
    if payment is not None:
        await finish_open_payment(payment, context)


async def _charge_refunded(event: StripeEvent, context: BillingContext) -> None:
    payment = await _payment_of(event, _stripe_id(event.data.get("payment_intent")))
    processor = await context.stripe_processor(event.business_id, event.livemode)
    if payment is None or processor is None:
        return
    for refund in await processor.refunds_of(payment.processor_reference):
        if refund.ours or refund.status != "succeeded":
            continue
        try:
            await record_refund(
                payment, refund.amount, "", utcnow(), context=context, key=_DASHBOARD_REFUND_KEY.format(refund.id)
            )
        except BillingError as error:
            # More than is left to refund here (the payment was refunded another way too): recorded no further.
            logger.warning("Stripe refund %s of %s not recorded: %s", refund.id, payment.id, error.message)


async def _dispute_created(event: StripeEvent, context: BillingContext) -> None:
    dispute = event.data
    intent_id = _stripe_id(dispute.get("payment_intent"))
    if not intent_id and dispute.get("charge"):
        processor = await context.stripe_processor(event.business_id, event.livemode)
        intent_id = await processor.intent_of_charge(_stripe_id(dispute["charge"])) if processor else ""
    payment = await _payment_of(event, intent_id)
    if payment is None:
        return
    async with in_transaction():
        if await Payment.filter(id=payment.id, disputed_at__isnull=True).update(disputed_at=utcnow()):
            payment = await Payment.get(id=payment.id)
            amount = int(dispute.get("amount") or payment.total_amount)
            currency = str(dispute.get("currency") or payment.currency).upper()
            await record_dispute_event(payment, str(dispute.get("id", "")), amount, currency, dispute.get("reason", ""))


async def _card_updated(event: StripeEvent, context: BillingContext) -> None:
    card = event.data.get("card") or {}
    changes = {name: card[name] for name in ("exp_month", "exp_year", "last4", "brand") if card.get(name)}
    if changes:
        await _cards(event).update(**changes)


async def _card_detached(event: StripeEvent, context: BillingContext) -> None:
    for method in await _cards(event).filter(detached_at__isnull=True):
        await forget_payment_method(method)


def _cards(event: StripeEvent) -> QuerySet[PaymentMethod]:
    return PaymentMethod.filter(
        business_id=event.business_id, livemode=event.livemode, processor_token=str(event.data.get("id", ""))
    )


def _stripe_id(value: Any) -> str:
    """An id Stripe sent either as it is or embedded in its object."""
    return str(value.get("id", "")) if isinstance(value, dict) else str(value or "")


Handler = Callable[[StripeEvent, BillingContext], Awaitable[None]]
HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": _payment_intent_settled,
    "payment_intent.payment_failed": _payment_intent_settled,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "payment_method.updated": _card_updated,
    "payment_method.automatically_updated": _card_updated,
    "payment_method.detached": _card_detached,
}

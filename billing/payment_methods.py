"""Saved payment methods: adding one from a processor token, choosing the default, removing one, and choosing which
one pays a subscription.

A method belongs to one business's customer record and pays only that business's subscriptions. A customer with an
active, trialing or on-hold subscription at a business keeps at least one usable method there. A removed method is
detached, not deleted: old payments and invoices still name it.
"""

from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from billing.customer_locks import for_customer
from billing.errors import NOT_ALLOWED_ELSEWHERE, PAYMENT_METHOD_UPDATE_OFF, BillingError
from billing.errors import BillingErrorCode as Code
from billing.events import record_subscription_event
from billing.processors.protocol import CardDetails, PaymentProcessor, ProcessorError
from core.clock import utcnow
from core.event_types import EventType
from merchants.features import PortalFeatures
from models import Customer, Payment, PaymentMethod, Subscription
from models.enums import PaymentStatus, SubscriptionStatus

MAX_URL_LENGTH = 1000
# Subscriptions that will be charged again, so their customer must keep a way to pay.
CHARGEABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.ON_HOLD)


def expired(method: PaymentMethod, now: datetime) -> bool:
    """Past the last day of its expiry month (UTC): a card without an expiry never expires here."""
    return method.exp_year is not None and (method.exp_year, method.exp_month or 12) < (now.year, now.month)


def usable(method: PaymentMethod, now: datetime) -> bool:
    """Saved and not expired."""
    return method.detached_at is None and not expired(method, now)


async def declined_at(method_ids: list[str]) -> dict[str, datetime]:
    """When the charge failed, for the methods among `method_ids` whose most recent charge failed: the next charge
    to them will likely fail too."""
    charges = (
        await Payment.filter(
            payment_method_id__in=method_ids, status__in=(PaymentStatus.SUCCEEDED, PaymentStatus.FAILED)
        )
        .order_by("-created_at", "-id")
        .values_list("payment_method_id", "status", "created_at")
    )
    latest: dict[str, tuple[str, datetime]] = {}
    for method_id, status, at in charges:
        latest.setdefault(method_id, (status, at))
    return {method_id: at for method_id, (status, at) in latest.items() if status == PaymentStatus.FAILED}


def check_can_pay(method: PaymentMethod) -> None:
    """Refuse an expired card for anything that would charge it later (default, a subscription's card, dues)."""
    if expired(method, utcnow()):
        raise BillingError(Code.EXPIRED_CARD, field="paymentMethodId")


def _saved(customer_id: str) -> QuerySet[PaymentMethod]:
    return PaymentMethod.filter(customer_id=customer_id, detached_at__isnull=True)


def _require_updates(features: PortalFeatures) -> None:
    if not features.payment_method_update.enabled:
        raise BillingError(Code.NOT_ALLOWED, message=PAYMENT_METHOD_UPDATE_OFF)


async def _make_default(method: PaymentMethod) -> None:
    async def make_default(connection: BaseDBAsyncClient) -> None:
        await _saved(method.customer_id).exclude(id=method.id).using_db(connection).update(is_default=False)
        await PaymentMethod.filter(id=method.id).using_db(connection).update(is_default=True)

    await for_customer(method.customer_id, make_default)
    method.is_default = True


async def add_payment_method(
    customer: Customer,
    processor_token: str,
    *,
    set_as_default: bool,
    processor: PaymentProcessor,
    features: PortalFeatures,
) -> PaymentMethod:
    """Attach a tokenised card to the customer and save what the processor reads back; the customer's first
    method becomes the default. Adding the same token again answers the method it made."""
    _require_updates(features)
    try:
        card = await processor.attach(processor_token, customer_reference=customer.id)
    except ProcessorError:
        raise BillingError(Code.INVALID_PAYMENT_METHOD, field="processorToken") from None
    method = await _saved(customer.id).get_or_none(processor_token=card.token)
    if method is None:
        method = await _save_card(customer, card)
    if set_as_default or not await _saved(customer.id).filter(is_default=True).exists():
        await _make_default(method)
    return method


async def _save_card(customer: Customer, card: CardDetails) -> PaymentMethod:
    """A new row for the card, or, when the customer saved the same card before (the same fingerprint), that row
    with the newest attachment's token and expiry: one card is one row however often it is given, and the
    subscriptions it pays keep it."""
    details: dict[str, Any] = {
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "processor_token": card.token,
    }
    same = await _saved(customer.id).filter(fingerprint=card.fingerprint).first() if card.fingerprint else None
    if same is None:
        return await PaymentMethod.create(
            business_id=customer.business_id,
            livemode=customer.livemode,
            customer_id=customer.id,
            type="card",
            fingerprint=card.fingerprint,
            **details,
        )
    await PaymentMethod.filter(id=same.id).update(**details)
    return await PaymentMethod.get(id=same.id)


async def start_setup(
    customer: Customer, *, return_url: str, processor: PaymentProcessor, features: PortalFeatures
) -> str:
    """The processor's hosted "add a card" page for the customer; it comes back to `return_url` (http or https)."""
    _require_updates(features)
    parts = urlsplit(return_url)
    if len(return_url) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.netloc:
        raise BillingError(Code.INVALID_INPUT, field="returnUrl")
    return await processor.start_setup(customer_reference=customer.id, return_url=return_url)


async def set_default_payment_method(method: PaymentMethod, features: PortalFeatures) -> PaymentMethod:
    _require_updates(features)
    check_can_pay(method)
    await _make_default(method)
    return method


async def remove_payment_method(method: PaymentMethod, features: PortalFeatures) -> None:
    """Detach the method. Its subscriptions move to the default that remains (the newest usable method if the
    removed one was the default). Refused when it is the customer's last usable method while a subscription still
    needs one; decided under the customer's lock, so two removals at once cannot both take the last two cards."""
    _require_updates(features)
    await for_customer(method.customer_id, partial(_detach, method, keep_last=True))


async def forget_payment_method(method: PaymentMethod) -> None:
    """The processor detached the card (from its own dashboard, say): it cannot pay any more, so it leaves the
    portal even when it is the last one, its subscriptions moving on as for a removal (to none if no card is left)."""
    if method.detached_at is None:
        await for_customer(method.customer_id, partial(_detach, method, keep_last=False))


async def _detach(method: PaymentMethod, connection: BaseDBAsyncClient, *, keep_last: bool) -> None:
    now = utcnow()
    saved = await _saved(method.customer_id).exclude(id=method.id).using_db(connection)
    others = [other for other in saved if usable(other, now)]
    chargeable = Subscription.filter(customer_id=method.customer_id, status__in=CHARGEABLE)
    if keep_last and not others and await chargeable.using_db(connection).exists():
        raise BillingError(Code.LAST_PAYMENT_METHOD, field="paymentMethodId")
    successor = next((other for other in others if other.is_default), None)
    if successor is None and others:
        successor = max(others, key=lambda other: (other.created_at, other.id))
    await PaymentMethod.filter(id=method.id).using_db(connection).update(detached_at=now, is_default=False)
    if successor is not None:
        await PaymentMethod.filter(id=successor.id).using_db(connection).update(is_default=True)
    await (
        Subscription.filter(payment_method_id=method.id)
        .using_db(connection)
        .update(payment_method_id=successor.id if successor else None)
    )


async def use_for_subscription(
    subscription: Subscription, method: PaymentMethod, features: PortalFeatures
) -> Subscription:
    """Make `method` the one that pays the subscription from now on."""
    _require_updates(features)
    if method.customer_id != subscription.customer_id:
        raise BillingError(Code.NOT_ALLOWED, field="paymentMethodId", message=NOT_ALLOWED_ELSEWHERE)
    check_can_pay(method)
    if subscription.payment_method_id == method.id:
        return subscription
    async with in_transaction():
        await Subscription.filter(id=subscription.id).update(payment_method_id=method.id)
        await subscription.refresh_from_db()
        await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, subscription)
    return subscription

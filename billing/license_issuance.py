"""Issuing a license key when something that carries one is bought: a fresh random key, the product's activations
limit, an expiry from the product's key duration (none: it never expires by itself), and the `license_key.created`
event. Called inside the transaction that records the purchase, by whoever won it, so a key is issued once.
"""

import secrets
from datetime import datetime

from billing.events import record_license_key_event
from billing.periods import add_interval
from models import Customer, LicenseKey, Payment, Product, Subscription
from models.enums import LicenseKeyStatus

# No 0/O, 1/I/L: a customer may have to type the key.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_GROUPS = 5
_GROUP_LENGTH = 5


def new_license_key() -> str:
    """`7KQ2M-…` in five groups of five: about 124 random bits, hopeless to guess."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS))
    return "-".join(groups)


def key_expiry(product: Product, issued_at: datetime) -> datetime | None:
    interval, count = product.license_key_duration_interval, product.license_key_duration_count
    return add_interval(issued_at, interval, count) if interval and count else None


async def issue_license_key(
    product: Product,
    customer: Customer,
    now: datetime,
    *,
    subscription: Subscription | None = None,
    payment: Payment | None = None,
) -> LicenseKey | None:
    """A new active key for the product, when the product hands out keys; call inside the purchase's transaction."""
    if not product.license_key_enabled:
        return None
    license_key = await LicenseKey.create(
        business_id=customer.business_id,
        livemode=customer.livemode,
        customer_id=customer.id,
        product_id=product.id,
        subscription_id=subscription.id if subscription else None,
        payment_id=payment.id if payment else None,
        key=new_license_key(),
        status=LicenseKeyStatus.ACTIVE,
        activations_limit=product.license_key_activations_limit,
        expires_at=key_expiry(product, now),
        created_at=now,
    )
    await record_license_key_event(license_key)
    return license_key

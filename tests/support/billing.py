"""What the billing tests share: the sandbox processor, a billing context, a customer at a shop with a subscription
and cards attached through the processor as a real customer's would be, plans to change to, the shop's default portal
configuration (`configure`; `NO_RETRIES` for a failed renewal on hold at once), a retention coupon offered on
cancelling (`retention_offer`) and a declined payment of the subscription (`failed_payment`).

tests/conftest.py loads it as a plugin, for its fixture `context` (a billing context on the sandbox processor).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from billing.context import BillingContext
from billing.payment_methods import add_payment_method
from billing.processors.sandbox import SandboxProcessor
from merchants.features import PortalFeatures
from models import (
    Business,
    Customer,
    Discount,
    LicenseKey,
    Payment,
    PaymentMethod,
    PortalConfiguration,
    Product,
    ProductCollection,
    Subscription,
)
from models.enums import (
    DiscountDuration,
    DiscountType,
    Interval,
    LicenseKeyStatus,
    PaymentPurpose,
    PaymentStatus,
    PriceType,
    SubscriptionStatus,
)

BASE_URL = "http://127.0.0.1:8000"
FEATURES = PortalFeatures()


def billing_context(base_url: str = BASE_URL) -> BillingContext:
    return BillingContext(
        processor=SandboxProcessor(base_url=base_url, secret="test-secret-key"),
        base_url=base_url,
        portal_name="Customer Portal",
        secret_key="test-secret-key",
        # The shops of the billing tests are live-mode ones, charged by the sandbox as in the demo.
        sandbox_in_live_mode=True,
    )


@pytest.fixture
def context() -> BillingContext:
    return billing_context()


@dataclass
class Subscriber:
    business: Business
    customer: Customer
    subscription: Subscription
    cards: dict[str, PaymentMethod]


async def add_card(customer: Customer, token: str, context: BillingContext, default: bool = False) -> PaymentMethod:
    return await add_payment_method(
        customer,
        token,
        set_as_default=default,
        processor=await context.processor_for(customer.business_id, customer.livemode),
        features=FEATURES,
    )


async def subscriber(
    context: BillingContext,
    *,
    status: SubscriptionStatus = SubscriptionStatus.ON_HOLD,
    cards: tuple[str, ...] = ("pm_card_chargeDeclined", "pm_card_visa"),
    next_billing_date: datetime | None = None,
    email: str = "ada@example.com",
    business_name: str = "Sakura Fonts",
    currency: str = "JPY",
    price: int = 980,
    livemode: bool = True,
    **subscription_fields,
) -> Subscriber:
    """A customer whose subscription pays with the first of `cards` (each a sandbox test token), with a license key."""
    now = datetime.now(UTC)
    business = await Business.create(
        name=business_name, support_email="help@shop.example", invoice_prefix="SF", tax_rate_bp=1000
    )
    customer = await Customer.create(
        business=business, livemode=livemode, email=email, email_verified=True, name="Ada Lovelace"
    )
    saved = {token: await add_card(customer, token, context) for token in cards}
    product = await Product.create(
        business=business,
        livemode=livemode,
        name="Library Personal",
        price_type=PriceType.RECURRING,
        price=price,
        currency=currency,
        payment_frequency_interval=Interval.MONTH,
        payment_frequency_count=1,
    )
    subscription = await Subscription.create(
        business=business,
        livemode=livemode,
        customer=customer,
        product=product,
        status=status,
        recurring_pre_tax_amount=price,
        currency=currency,
        tax_inclusive=True,
        previous_billing_date=now - timedelta(days=40),
        next_billing_date=next_billing_date or now - timedelta(days=10),
        payment_method=saved[cards[0]] if cards else None,
        **subscription_fields,
    )
    key_status = LicenseKeyStatus.DISABLED if status == SubscriptionStatus.ON_HOLD else LicenseKeyStatus.ACTIVE
    await LicenseKey.create(
        business=business,
        livemode=livemode,
        customer=customer,
        product=product,
        subscription=subscription,
        key=f"KEY-{subscription.id[-8:]}",
        status=key_status,
    )
    return Subscriber(business, customer, subscription, saved)


async def with_plans(shop: Subscriber, prices: tuple[int, ...] = (500, 980, 2980)) -> list[Product]:
    """Put the subscription's product in a collection of plans at `prices` (its own price among them) and allow plan
    changes at the business."""
    collection = await ProductCollection.create(
        business=shop.business, livemode=shop.subscription.livemode, name="Plans"
    )
    current = await Product.get(id=shop.subscription.product_id)
    plans = []
    for position, price in enumerate(prices):
        if price == current.price:
            current.collection_id, current.collection_position = collection.id, position
            await current.save()
            plans.append(current)
            continue
        plans.append(
            await Product.create(
                business=shop.business,
                livemode=current.livemode,
                name=f"Plan {price}",
                price_type=PriceType.RECURRING,
                price=price,
                currency=current.currency,
                tax_inclusive=current.tax_inclusive,
                payment_frequency_interval=Interval.MONTH,
                payment_frequency_count=1,
                collection=collection,
                collection_position=position,
            )
        )
    shop.business.allow_subscription_updates = True
    await shop.business.save()
    return plans


# A dunning schedule without retries: a failed renewal goes on hold at once.
NO_RETRIES = {"retry_after_days": []}


async def configure(shop: Subscriber, **changes: dict) -> None:
    """A default portal configuration for the shop in its subscription's mode: the defaults, with the settings
    `changes` names."""
    livemode = shop.subscription.livemode
    await PortalConfiguration.create(business=shop.business, livemode=livemode, is_default=True, features=changes)


async def retention_offer(shop: Subscriber) -> None:
    coupon = await Discount.create(
        business=shop.business,
        livemode=True,
        code="STAY20",
        name="20% off for three months",
        type=DiscountType.PERCENTAGE,
        amount=2000,
        duration=DiscountDuration.REPEATING,
        duration_cycles=3,
    )
    await configure(shop, subscription_cancel={"retention_coupon_id": coupon.id})


async def failed_payment(
    shop: Subscriber, purpose: PaymentPurpose = PaymentPurpose.SUBSCRIPTION_CREATE, when: datetime | None = None
) -> Payment:
    """A payment of the shop's subscription, for one period of it, that its card declined: its first payment by
    default (what makes a subscription FAILED), or a renewal."""
    subscription = shop.subscription
    return await Payment.create(
        business=shop.business,
        livemode=subscription.livemode,
        customer=shop.customer,
        subscription=subscription,
        total_amount=subscription.recurring_pre_tax_amount,
        currency=subscription.currency,
        status=PaymentStatus.FAILED,
        purpose=purpose,
        error_code="card_declined",
        error_message="Your card was declined.",
        idempotency_key=f"{subscription.id}-{purpose}",
        created_at=when or datetime.now(UTC),
    )

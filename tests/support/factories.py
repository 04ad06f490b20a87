"""Builders of realistic test data: businesses, customers and everything a customer can own."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from access.sessions import SessionPolicy, open_session
from models import (
    Business,
    Customer,
    Invoice,
    InvoiceLine,
    LicenseKey,
    LicenseKeyInstance,
    Payment,
    PaymentItem,
    PaymentMethod,
    Product,
    Subscription,
)
from models.enums import (
    InvoiceStatus,
    LicenseKeyStatus,
    PaymentPurpose,
    PaymentStatus,
    PriceType,
    Scope,
    SubscriptionStatus,
)

POLICY = SessionPolicy()
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_STATUSES = list(SubscriptionStatus)


@dataclass
class Owned:
    """What one customer record owns, by kind."""

    customer: Customer
    subscriptions: list[Subscription] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    purchases: list[Payment] = field(default_factory=list)
    license_keys: list[LicenseKey] = field(default_factory=list)
    license_key_instances: list[LicenseKeyInstance] = field(default_factory=list)
    payment_methods: list[PaymentMethod] = field(default_factory=list)


async def business(name: str) -> Business:
    return await Business.create(name=name, support_email=f"help@{name.lower().replace(' ', '')}.test")


async def customer_with_history(
    business: Business, email: str, *, livemode: bool = True, scale: int = 1, currency: str = "USD"
) -> Owned:
    """A verified customer with `scale` times: 2 subscriptions, 3 invoices of 2 lines, 1 purchase with a
    license key of 2 instances; and one saved card."""
    customer = await Customer.create(business=business, livemode=livemode, email=email, email_verified=True)
    owned = Owned(customer=customer)
    common = {"business": business, "livemode": livemode, "customer": customer}
    plan = await Product.create(
        business=business,
        livemode=livemode,
        name=f"{business.name} Pro",
        price_type=PriceType.RECURRING,
        price=1200,
        currency=currency,
    )
    app = await Product.create(
        business=business,
        livemode=livemode,
        name=f"{business.name} App",
        price_type=PriceType.ONE_TIME,
        price=4900,
        currency=currency,
        license_key_enabled=True,
    )
    card = await PaymentMethod.create(
        **common, brand="visa", last4="4242", exp_month=12, exp_year=2030, is_default=True
    )
    owned.payment_methods.append(card)
    when = _clock()
    owned.subscriptions = [
        Subscription(
            **common,
            product=plan,
            status=_STATUSES[i % len(_STATUSES)],
            recurring_pre_tax_amount=1200,
            currency=currency,
            previous_billing_date=EPOCH,
            next_billing_date=EPOCH + timedelta(days=30),
            payment_method=card,
            created_at=next(when),
        )
        for i in range(2 * scale)
    ]
    await Subscription.bulk_create(owned.subscriptions)
    owned.invoices = [
        Invoice(
            **common,
            number=f"{customer.id[-6:]}-{i:04d}",
            status=InvoiceStatus.PAID,
            currency=currency,
            subtotal=2400,
            total=2400,
            issued_at=EPOCH,
            created_at=next(when),
        )
        for i in range(3 * scale)
    ]
    await Invoice.bulk_create(owned.invoices)
    await InvoiceLine.bulk_create(
        [
            InvoiceLine(invoice_id=invoice.id, position=n, description=f"Line {n}", unit_amount=1200, amount=1200)
            for invoice in owned.invoices
            for n in range(2)
        ]
    )
    owned.purchases = [
        Payment(
            **common,
            total_amount=4900,
            currency=currency,
            status=PaymentStatus.SUCCEEDED,
            purpose=PaymentPurpose.PURCHASE,
            payment_method=card,
            card_last_four="4242",
            card_network="visa",
            idempotency_key=f"{customer.id}-purchase-{i}",
            created_at=next(when),
        )
        for i in range(scale)
    ]
    await Payment.bulk_create(owned.purchases)
    await PaymentItem.bulk_create([PaymentItem(payment_id=p.id, product=app, amount=4900) for p in owned.purchases])
    owned.license_keys = [
        LicenseKey(
            **common,
            product=app,
            payment_id=p.id,
            key=f"KEY-{p.id[-12:]}",
            status=LicenseKeyStatus.ACTIVE,
            activations_limit=3,
            created_at=next(when),
        )
        for p in owned.purchases
    ]
    await LicenseKey.bulk_create(owned.license_keys)
    owned.license_key_instances = [
        LicenseKeyInstance(license_key_id=key.id, name=f"Laptop {n}") for key in owned.license_keys for n in range(2)
    ]
    await LicenseKeyInstance.bulk_create(owned.license_key_instances)
    return owned


async def with_problems(owned: Owned) -> Subscription:
    """Give the customer what the homes and the billing history put first: a subscription on hold after its renewal
    failed (the failed payment kept) and one whose first payment failed."""
    first = owned.subscriptions[0]
    common = {
        "business_id": first.business_id,
        "livemode": first.livemode,
        "customer_id": first.customer_id,
        "product_id": first.product_id,
        "currency": first.currency,
        "recurring_pre_tax_amount": first.recurring_pre_tax_amount,
        "previous_billing_date": first.previous_billing_date,
        "next_billing_date": first.next_billing_date,
    }
    on_hold = await Subscription.create(**common, status=SubscriptionStatus.ON_HOLD)
    await Subscription.create(**common, status=SubscriptionStatus.FAILED)
    await Payment.create(
        business_id=first.business_id,
        livemode=first.livemode,
        customer_id=first.customer_id,
        subscription=on_hold,
        total_amount=first.recurring_pre_tax_amount,
        currency=first.currency,
        status=PaymentStatus.FAILED,
        purpose=PaymentPurpose.RENEWAL,
        error_code="card_declined",
        error_message="Your card was declined.",
        idempotency_key=f"{on_hold.id}-renewal",
        created_at=first.next_billing_date,
    )
    return on_hold


def _clock():
    """Distinct, increasing creation times so newest-first order is known."""
    moment = EPOCH
    while True:
        moment += timedelta(minutes=1)
        yield moment


async def unified_token(email: str, livemode: bool = True) -> str:
    token, _ = await open_session(scope=Scope.UNIFIED, livemode=livemode, email=email, policy=POLICY)
    return token


async def business_token(customer: Customer) -> str:
    token, _ = await open_session(
        scope=Scope.BUSINESS, livemode=customer.livemode, email=customer.email, customer=customer, policy=POLICY
    )
    return token

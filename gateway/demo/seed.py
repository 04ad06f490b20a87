"""Demo data: three branded businesses (USD, EUR, JPY), their catalogs, and customers with a realistic history.

`ada@example.com` is a verified customer of all three businesses and owns a subscription in every status, saved
cards, purchases with license keys and dozens of invoices, so every part of the unified portal has something to
show. Dates are relative to the moment of seeding. Seeding is idempotent: the demo businesses have fixed ids, and
when they exist nothing is written.

The catalogs, customers, cards and subscriptions are inserted in bulk; the money is billing's. Each payment's amounts
come from billing.tax, and it settles through billing.charges.settle with the processor's answer and the clock set
to its moment, so billing issues its invoice (lines, number from the business's sequence) and license key; refunds
are billing.refunds' with their credit notes, activations billing.license_activation's, and key expiry the billing
run's. Nothing is left half-done: a payment is settled or waits for the customer, never `processing`.
"""

import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from tortoise.models import Model
from tortoise.transactions import in_transaction

from billing import license_activation
from billing.charges import SubscriptionOutcome, client_idempotency_key, period_line, settle
from billing.invoices import Line
from billing.license_issuance import issue_license_key
from billing.license_keys import expire_license_keys
from billing.periods import add_interval
from billing.processors.protocol import ChargeResult, ChargeStatus, DeclineCode
from billing.processors.sandbox import SUCCEEDS
from billing.refunds import record_refund
from billing.tax import charge_amounts, period_amounts
from core.clock import utcnow
from merchants.features import (
    PortalFeatures,
    QuantityLimits,
    SubscriptionCancel,
    SubscriptionPause,
    SubscriptionUpdate,
    stored_features,
)
from models import (
    Business,
    Customer,
    Discount,
    Invoice,
    LicenseKey,
    Payment,
    PaymentItem,
    PaymentMethod,
    PortalConfiguration,
    Product,
    ProductCollection,
    SandboxCard,
    Subscription,
)
from models.enums import (
    CancellationFeedback,
    DiscountDuration,
    DiscountType,
    Interval,
    PaymentPurpose,
    PaymentStatus,
    PriceType,
    SubscriptionStatus,
)

DEMO_EMAIL = "ada@example.com"

# Rows that reference others come after them, so bulk inserts never point at a missing row.
_INSERT_ORDER: tuple[type[Model], ...] = (
    Business,
    Discount,
    PortalConfiguration,
    ProductCollection,
    Product,
    Customer,
    SandboxCard,
    PaymentMethod,
    Subscription,
    Payment,
    PaymentItem,
)


@dataclass(frozen=True)
class DemoBusiness:
    id: str
    name: str
    currency: str


@dataclass(frozen=True)
class DemoSummary:
    businesses: tuple[DemoBusiness, ...]
    customers: int
    subscriptions: int
    invoices: int


@dataclass(frozen=True)
class ProductSpec:
    key: str
    name: str
    description: str
    price: int
    interval: Interval | None = None
    in_collection: bool = False
    period_months: int | None = None
    license_activations: int | None = None
    license_years: int | None = None

    @property
    def price_type(self) -> PriceType:
        return PriceType.RECURRING if self.interval else PriceType.ONE_TIME


@dataclass(frozen=True)
class BusinessSpec:
    id: str
    name: str
    currency: str
    invoice_prefix: str
    license_prefix: str
    tax_rate_bp: int
    tax_inclusive: bool
    primary_color: str
    accent_color: str
    headline: str
    support_email: str
    website_url: str
    address: tuple[str, str, str, str, str]
    allow_subscription_updates: bool
    collection_name: str
    # Plans in the collection come in ascending price: their order here is their `collection_position`.
    products: tuple[ProductSpec, ...]
    offers_retention_coupon: bool = False
    allow_pause: bool = False
    quantity_limits: tuple[int, int] | None = None


@dataclass(frozen=True)
class PersonSpec:
    email: str
    name: str
    phone: str
    address: tuple[str, str, str, str, str]


NORTHWIND = BusinessSpec(
    id="bus_demo_northwind",
    name="Northwind Analytics",
    currency="USD",
    invoice_prefix="NW",
    license_prefix="NORTHWIND",
    tax_rate_bp=1025,
    tax_inclusive=False,
    primary_color="#0b3d91",
    accent_color="#f59e0b",
    headline="Dashboards your whole team understands",
    support_email="support@northwind.example",
    website_url="https://northwind.example",
    address=("400 Pine Street", "Seattle", "WA", "98101", "US"),
    allow_subscription_updates=True,
    collection_name="Northwind plans",
    products=(
        ProductSpec("starter", "Starter", "Five dashboards, one data source.", 1900, Interval.MONTH, True),
        ProductSpec("team", "Team", "Unlimited dashboards for up to ten people.", 4900, Interval.MONTH, True),
        ProductSpec("business", "Business", "SSO, audit log and priority support.", 12900, Interval.MONTH, True),
        ProductSpec("warehouse", "Warehouse sync add-on", "Nightly sync to your warehouse.", 1500, Interval.MONTH),
        ProductSpec("connector", "Desktop Connector", "Query local files from Northwind.", 7900, license_activations=3),
    ),
    offers_retention_coupon=True,
    quantity_limits=(1, 10),
)

LUMIERE = BusinessSpec(
    id="bus_demo_lumiere",
    name="Atelier Lumière",
    currency="EUR",
    invoice_prefix="AL",
    license_prefix="LUMIERE",
    tax_rate_bp=2000,
    tax_inclusive=True,
    primary_color="#6d28d9",
    accent_color="#f472b6",
    headline="Presets et cours de photographie, de l'aube au crépuscule",
    support_email="bonjour@atelier-lumiere.example",
    website_url="https://atelier-lumiere.example",
    address=("18 rue des Martyrs", "Paris", "", "75009", "FR"),
    allow_subscription_updates=True,
    collection_name="Adhésion Lumière",
    products=(
        ProductSpec("essentiel", "Essentiel", "Un nouveau preset chaque mois.", 900, Interval.MONTH, True),
        ProductSpec("studio", "Studio", "Tous les presets et les ateliers en direct.", 2400, Interval.MONTH, True),
        ProductSpec("studio_year", "Studio annuel", "Studio, payé à l'année.", 24000, Interval.YEAR, True),
        ProductSpec(
            "course", "Cours Lightroom (6 mois)", "Six mois de cours guidés.", 1900, Interval.MONTH, period_months=6
        ),
        ProductSpec("nocturne", "Pack Nocturne", "24 presets pour la photo de nuit.", 3500, license_activations=2),
    ),
    allow_pause=True,
)

SAKURA = BusinessSpec(
    id="bus_demo_sakura",
    name="Sakura Fonts",
    currency="JPY",
    invoice_prefix="SF",
    license_prefix="SAKURA",
    tax_rate_bp=1000,
    tax_inclusive=True,
    primary_color="#be185d",
    accent_color="#0f766e",
    headline="Japanese type, drawn with care",
    support_email="help@sakura-fonts.example",
    website_url="https://sakura-fonts.example",
    address=("神宮前1-2-3", "渋谷区", "東京都", "150-0001", "JP"),
    allow_subscription_updates=False,
    collection_name="Sakura Library",
    products=(
        ProductSpec("personal", "Library Personal", "Every font for personal projects.", 980, Interval.MONTH, True),
        ProductSpec("pro", "Library Pro", "Every font, commercial licence.", 2980, Interval.MONTH, True),
        ProductSpec(
            "studio", "Library Studio", "Every font, commercial licence for a team of five.", 4980, Interval.MONTH, True
        ),
        ProductSpec("hosting", "Webfont hosting", "Subset and serve fonts from our CDN.", 1500, Interval.MONTH),
        ProductSpec("hanami", "Hanami Sans family", "Twelve weights with italics.", 12000, license_activations=5),
        ProductSpec(
            "kumo", "Kumo Serif", "A gentle serif for long reading.", 6800, license_activations=2, license_years=1
        ),
    ),
)

BUSINESSES = (NORTHWIND, LUMIERE, SAKURA)

ADA = PersonSpec(DEMO_EMAIL, "Ada Lovelace", "+442079460958", ("12 St James's Square", "London", "", "SW1Y 4JH", "GB"))
GRACE = PersonSpec(
    "grace@example.com", "Grace Hopper", "+17035550142", ("1 Navy Way", "Arlington", "VA", "22202", "US")
)
LINUS = PersonSpec(
    "linus@example.com", "Linus Torvalds", "+35895550101", ("Mannerheimintie 5", "Helsinki", "", "00100", "FI")
)

M = TypeVar("M", bound=Model)

# What the processor answered each demo charge: how its payment settles.
_RESULTS = {
    PaymentStatus.SUCCEEDED: ChargeResult(ChargeStatus.SUCCEEDED, reference=""),
    PaymentStatus.FAILED: ChargeResult(ChargeStatus.FAILED, reference="", decline_code=DeclineCode.CARD_DECLINED),
    PaymentStatus.REQUIRES_CUSTOMER_ACTION: ChargeResult(ChargeStatus.REQUIRES_ACTION, reference=""),
}


async def seed_demo() -> DemoSummary:
    """Write the demo data unless it is there already; either way, describe it."""
    async with in_transaction():
        if not await Business.exists(id__in=[spec.id for spec in BUSINESSES]):
            await _DemoBuilder(utcnow()).build().save()
        return await summarize_demo()


async def summarize_demo() -> DemoSummary:
    ids = [spec.id for spec in BUSINESSES]
    return DemoSummary(
        businesses=tuple(DemoBusiness(spec.id, spec.name, spec.currency) for spec in BUSINESSES),
        customers=await Customer.filter(business_id__in=ids).count(),
        subscriptions=await Subscription.filter(business_id__in=ids).count(),
        invoices=await Invoice.filter(business_id__in=ids).count(),
    )


def svg_badge(initials: str, background: str, foreground: str = "#ffffff") -> str:
    """A small square logo as a data: URI, so the demo needs no image hosting."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'>"
        f"<rect width='64' height='64' rx='14' fill='{background}'/>"
        f"<text x='32' y='41' font-family='sans-serif' font-size='24' font-weight='700' fill='{foreground}' "
        f"text-anchor='middle'>{initials}</text></svg>"
    )
    return "data:image/svg+xml," + urllib.parse.quote(svg, safe="")


@dataclass
class _Catalog:
    business: Business
    spec: BusinessSpec
    products: dict[str, Product]


@dataclass
class _Charge:
    """A demo payment, made and waiting for how the processor answered it."""

    payment: Payment
    customer: Customer
    business: Business
    lines: list[Line]
    result: ChargeResult
    product: Product


class _Recorded(SubscriptionOutcome):
    """How a charge of the demo's history settles: billing issues its invoice (with the lines it paid for) and, for a
    product with license keys, its key; the subscription is already where its history left it, and nobody is emailed
    about the past."""

    def __init__(self, charge: _Charge) -> None:
        self.purpose = charge.payment.purpose
        # A renewal is charged with the customer away: a bank asking for them fails it, as billing's renewals do.
        self.off_session = charge.payment.purpose == PaymentPurpose.RENEWAL
        self.customer = charge.customer
        self.business = charge.business
        self.charge = charge

    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        return self.charge.lines

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        await issue_license_key(self.charge.product, self.customer, now, payment=payment)

    async def failed(self, payment: Payment, now: datetime) -> None:
        """The subscription is already as the failure left it (on hold, or failed to start)."""


def _idempotency_key(payment: Payment, subscription: Subscription | None) -> str:
    """The key billing would have charged under: a renewal's period, a create's client key, or the purchase."""
    if payment.purpose == PaymentPurpose.RENEWAL and subscription is not None:
        return f"renewal:{subscription.id}:{payment.created_at.isoformat()}"
    if subscription is not None:
        return client_idempotency_key(payment.purpose, subscription, "demo")
    return f"{payment.purpose}:{payment.id}"


@dataclass
class _DemoBuilder:
    """Collects unsaved rows (ids are assigned on construction, so rows can reference each other), inserts them in
    bulk, then settles their payments through billing."""

    now: datetime
    rows: dict[type[Model], list[Model]] = field(default_factory=lambda: defaultdict(list))
    catalogs: dict[tuple[str, bool], _Catalog] = field(default_factory=dict)
    charges: list[_Charge] = field(default_factory=list)
    activations: list[tuple[Payment, str, datetime]] = field(default_factory=list)
    refunds: list[tuple[Payment, str, datetime]] = field(default_factory=list)

    def add(self, row: M) -> M:
        self.rows[type(row)].append(row)
        return row

    def ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days)

    def build(self) -> "_DemoBuilder":
        for spec in BUSINESSES:
            business = self.add_business(spec)
            for livemode in (True, False):
                self.catalogs[(spec.id, livemode)] = self.add_catalog(business, spec, livemode)
        self.add_ada()
        self.add_other_customers()
        return self

    async def save(self) -> None:
        for model in _INSERT_ORDER:
            if self.rows[model]:
                await model.bulk_create(self.rows[model])
        await self.settle_charges()

    # --- businesses and catalogs --------------------------------------------------------------------------------

    def add_business(self, spec: BusinessSpec) -> Business:
        line1, city, state, postal_code, country = spec.address
        initials = "".join(word[0] for word in spec.name.split()[:2])
        return self.add(
            Business(
                id=spec.id,
                name=spec.name,
                support_email=spec.support_email,
                address_line1=line1,
                address_city=city,
                address_state=state,
                address_postal_code=postal_code,
                address_country=country,
                logo_url=svg_badge(initials, spec.primary_color),
                icon_url=svg_badge(initials[0], spec.accent_color),
                primary_color=spec.primary_color,
                accent_color=spec.accent_color,
                headline=spec.headline,
                website_url=spec.website_url,
                default_return_url=spec.website_url + "/account",
                allow_subscription_updates=spec.allow_subscription_updates,
                invoice_prefix=spec.invoice_prefix,
                tax_rate_bp=spec.tax_rate_bp,
                created_at=self.ago(3 * 365),
            )
        )

    def add_catalog(self, business: Business, spec: BusinessSpec, livemode: bool) -> _Catalog:
        created = self.ago(3 * 365)
        coupon = self.add(
            Discount(
                business_id=business.id,
                livemode=livemode,
                code="STAY20",
                name="20% off for three months",
                type=DiscountType.PERCENTAGE,
                amount=2000,
                duration=DiscountDuration.REPEATING,
                duration_cycles=3,
                created_at=created,
            )
        )
        self.add(
            PortalConfiguration(
                business_id=business.id,
                livemode=livemode,
                is_default=True,
                name="Default",
                headline=spec.headline,
                features=_portal_features(spec, coupon),
                privacy_policy_url=spec.website_url + "/privacy",
                terms_of_service_url=spec.website_url + "/terms",
                default_return_url=spec.website_url + "/account",
                created_at=created,
            )
        )
        collection = self.add(
            ProductCollection(business_id=business.id, livemode=livemode, name=spec.collection_name, created_at=created)
        )
        products = {
            product.key: self.add_product(business, spec, product, livemode, collection, position)
            for position, product in enumerate(spec.products)
        }
        return _Catalog(business, spec, products)

    def add_product(
        self,
        business: Business,
        spec: BusinessSpec,
        product: ProductSpec,
        livemode: bool,
        collection: ProductCollection,
        position: int,
    ) -> Product:
        period_months = product.period_months or (12 * 10 if product.interval else None)
        return self.add(
            Product(
                business_id=business.id,
                livemode=livemode,
                name=product.name,
                description=product.description,
                price_type=product.price_type,
                price=product.price,
                currency=spec.currency,
                tax_inclusive=spec.tax_inclusive,
                payment_frequency_count=1 if product.interval else None,
                payment_frequency_interval=product.interval,
                subscription_period_count=period_months,
                subscription_period_interval=Interval.MONTH if product.interval else None,
                license_key_enabled=product.license_activations is not None,
                license_key_activations_limit=product.license_activations,
                license_key_duration_count=product.license_years,
                license_key_duration_interval=Interval.YEAR if product.license_years else None,
                collection_id=collection.id if product.in_collection else None,
                collection_position=position,
                created_at=self.ago(3 * 365),
            )
        )

    # --- customers and their cards ------------------------------------------------------------------------------

    def add_customer(
        self,
        person: PersonSpec,
        spec: BusinessSpec,
        *,
        created_days_ago: int,
        livemode: bool = True,
        locale: str = "en-GB",
        email_verified: bool = True,
    ) -> Customer:
        line1, city, state, postal_code, country = person.address
        return self.add(
            Customer(
                business_id=spec.id,
                livemode=livemode,
                email=person.email,
                email_verified=email_verified,
                name=person.name,
                phone_number=person.phone,
                billing_line1=line1,
                billing_city=city,
                billing_state=state,
                billing_postal_code=postal_code,
                billing_country=country,
                locale=locale,
                created_at=self.ago(created_days_ago),
            )
        )

    def add_card(
        self,
        customer: Customer,
        brand: str,
        last4: str,
        expires: tuple[int, int],
        default: bool = True,
        behaviour: str = SUCCEEDS,
    ) -> PaymentMethod:
        """A saved card, with the sandbox processor's record of it: charging it does what `behaviour` says."""
        card = self.add(
            SandboxCard(
                brand=brand.lower(),
                last4=last4,
                exp_month=expires[0],
                exp_year=expires[1],
                fingerprint=f"fp_{brand.lower()}_{last4}_{customer.email.split('@')[0]}",
                behaviour=behaviour,
                attached_to=customer.id,
                created_at=customer.created_at,
            )
        )
        return self.add(
            PaymentMethod(
                business_id=customer.business_id,
                livemode=customer.livemode,
                customer_id=customer.id,
                type="card",
                brand=brand,
                last4=last4,
                exp_month=expires[0],
                exp_year=expires[1],
                fingerprint=card.fingerprint,
                processor_token=card.id,
                is_default=default,
                created_at=customer.created_at,
            )
        )

    # --- money --------------------------------------------------------------------------------------------------

    def charge(
        self,
        customer: Customer,
        card: PaymentMethod,
        product: Product,
        at: datetime,
        purpose: PaymentPurpose,
        *,
        status: PaymentStatus = PaymentStatus.SUCCEEDED,
        subscription: Subscription | None = None,
        line: Line | None = None,
    ) -> Payment:
        """A payment for one product (a subscription's period, or one purchased), `processing` until
        `settle_charges` records how it went; its amounts are billing's."""
        business = self.catalogs[(customer.business_id, customer.livemode)].business
        if subscription is not None:
            amounts = period_amounts(subscription, business)
        else:
            amounts = charge_amounts(product.price, rate_bp=business.tax_rate_bp, inclusive=product.tax_inclusive)
        payment = self.add(
            Payment(
                business_id=customer.business_id,
                livemode=customer.livemode,
                customer_id=customer.id,
                subscription_id=subscription.id if subscription else None,
                total_amount=amounts.total,
                tax=amounts.tax,
                subtotal=amounts.subtotal,
                discount=amounts.discount,
                credit_applied=amounts.credit_applied,
                currency=product.currency,
                status=PaymentStatus.PROCESSING,
                purpose=purpose,
                payment_method_id=card.id,
                card_last_four=card.last4,
                card_network=card.brand,
                created_at=at,
            )
        )
        payment.idempotency_key = _idempotency_key(payment, subscription)
        if purpose != PaymentPurpose.RENEWAL:
            # What the payment bought, as billing records it for a purchase or a subscription's first charge.
            quantity = subscription.quantity if subscription else 1
            self.add(
                PaymentItem(payment_id=payment.id, product_id=product.id, quantity=quantity, amount=amounts.subtotal)
            )
        line = line or Line(product.name, 1, product.price)
        self.charges.append(_Charge(payment, customer, business, [line], _RESULTS[status], product))
        return payment

    def subscribe(
        self,
        customer: Customer,
        card: PaymentMethod,
        product_key: str,
        *,
        status: SubscriptionStatus,
        days_ago: int,
        paid_cycles: int | None = None,
        last_charge: PaymentStatus | None = None,
        quantity: int = 1,
        **fields,
    ) -> Subscription:
        """A subscription started `days_ago` with `paid_cycles` renewals (default: every cycle due so far) and
        optionally one more charge that failed or waits for the customer."""
        product = self.catalogs[(customer.business_id, customer.livemode)].products[product_key]
        interval = product.payment_frequency_interval
        start = self.ago(days_ago)
        if paid_cycles is None:
            paid_cycles = self.cycles_due(start, interval)
        cycles = [add_interval(start, interval, i) for i in range(paid_cycles + 1)]
        previous = cycles[max(paid_cycles - 1, 0)]
        # A charge still owed (failed or waiting) keeps the next billing date at its due date.
        next_billing = cycles[paid_cycles] if last_charge else add_interval(previous, interval, 1)
        overrides = {"previous_billing_date": previous, "next_billing_date": next_billing} | fields
        subscription = self.add(
            Subscription(
                business_id=customer.business_id,
                livemode=customer.livemode,
                customer_id=customer.id,
                product_id=product.id,
                status=status,
                quantity=quantity,
                recurring_pre_tax_amount=product.price * quantity,
                currency=product.currency,
                tax_inclusive=product.tax_inclusive,
                payment_frequency_count=1,
                payment_frequency_interval=interval,
                subscription_period_count=product.subscription_period_count,
                subscription_period_interval=product.subscription_period_interval,
                payment_method_id=card.id,
                created_at=start,
                **overrides,
            )
        )
        for start in cycles[:paid_cycles]:
            self.charge_cycle(customer, subscription, card, product, start, add_interval(start, interval, 1))
        if last_charge:
            due = cycles[paid_cycles]
            self.charge_cycle(customer, subscription, card, product, due, add_interval(due, interval, 1), last_charge)
        return subscription

    def cycles_due(self, start: datetime, interval: Interval) -> int:
        count = 0
        while add_interval(start, interval, count) <= self.now:
            count += 1
        return count

    def charge_cycle(
        self,
        customer: Customer,
        subscription: Subscription,
        card: PaymentMethod,
        product: Product,
        start: datetime,
        end: datetime,
        status: PaymentStatus = PaymentStatus.SUCCEEDED,
    ) -> None:
        first = start == subscription.created_at
        purpose = PaymentPurpose.SUBSCRIPTION_CREATE if first else PaymentPurpose.RENEWAL
        line = period_line(product.name, subscription.quantity, start, end, subscription.recurring_pre_tax_amount)
        self.charge(customer, card, product, start, purpose, status=status, subscription=subscription, line=line)

    def purchase(self, customer: Customer, card: PaymentMethod, product_key: str, days_ago: int) -> Payment:
        """A one-time purchase; a license-key product hands out its key when the payment settles."""
        product = self.catalogs[(customer.business_id, customer.livemode)].products[product_key]
        return self.charge(customer, card, product, self.ago(days_ago), PaymentPurpose.PURCHASE)

    def activate(self, purchase: Payment, *names: str) -> None:
        """Devices the purchase's key was activated on, an hour apart after the purchase."""
        self.activations.extend(
            (purchase, name, purchase.created_at + timedelta(hours=offset + 1)) for offset, name in enumerate(names)
        )

    def refund(self, purchase: Payment, days_later: int, reason: str) -> None:
        """The whole purchase given back `days_later`: the refund disables its key."""
        self.refunds.append((purchase, reason, purchase.created_at + timedelta(days=days_later)))

    async def settle_charges(self) -> None:
        """Settle every payment as billing settles a processor's answer, in the order they were made, so invoices
        and credit notes take their numbers from billing's sequences; then the activations, refunds and key expiries
        that came after."""
        for charge in sorted(self.charges, key=lambda c: c.payment.created_at):
            await settle(charge.payment, charge.result, _Recorded(charge), now=charge.payment.created_at)
        for purchase, name, at in self.activations:
            key = await LicenseKey.get(payment_id=purchase.id)
            await license_activation.activate(key.key, name, livemode=key.livemode, now=at)
        for purchase, reason, at in sorted(self.refunds, key=lambda refund: refund[2]):
            await record_refund(purchase, purchase.total_amount, reason, at, context=None)
        await expire_license_keys(self.now)

    # --- the people ---------------------------------------------------------------------------------------------

    def add_ada(self) -> None:
        """Ada has a subscription in every status across the three businesses, and a test-mode record."""
        year = self.now.year
        northwind = self.add_customer(ADA, NORTHWIND, created_days_ago=420)
        nw_visa = self.add_card(northwind, "Visa", "4242", (12, year + 2))
        self.add_card(northwind, "Mastercard", "4444", (3, year - 1), default=False)
        self.subscribe(northwind, nw_visa, "team", status=SubscriptionStatus.ACTIVE, days_ago=12 * 30 + 9)
        self.subscribe(northwind, nw_visa, "warehouse", status=SubscriptionStatus.PAUSED, days_ago=200, paid_cycles=4)
        connector = self.purchase(northwind, nw_visa, "connector", days_ago=300)
        self.activate(connector, "Ada's MacBook Pro")

        lumiere = self.add_customer(ADA, LUMIERE, locale="fr-FR", created_days_ago=400)
        al_visa = self.add_card(lumiere, "Visa", "1881", (8, year + 1))
        essentiel_start = 395
        self.subscribe(
            lumiere,
            al_visa,
            "essentiel",
            status=SubscriptionStatus.CANCELLED,
            days_ago=essentiel_start,
            paid_cycles=4,
            cancelled_at=add_interval(self.ago(essentiel_start), Interval.MONTH, 4),
            cancellation_feedback=CancellationFeedback.MISSING_FEATURES,
            cancellation_comment="Moving to Studio for the live workshops.",
        )
        self.subscribe(
            lumiere,
            al_visa,
            "studio",
            status=SubscriptionStatus.ACTIVE,
            days_ago=7 * 30 + 12,
            cancel_at_next_billing_date=True,
        )
        course_start = 250
        self.subscribe(
            lumiere,
            al_visa,
            "course",
            status=SubscriptionStatus.EXPIRED,
            days_ago=course_start,
            paid_cycles=6,
            expires_at=add_interval(self.ago(course_start), Interval.MONTH, 6),
        )
        self.subscribe(
            lumiere,
            al_visa,
            "studio_year",
            status=SubscriptionStatus.PENDING,
            days_ago=0,
            paid_cycles=0,
            last_charge=PaymentStatus.REQUIRES_CUSTOMER_ACTION,
        )
        nocturne = self.purchase(lumiere, al_visa, "nocturne", days_ago=150)
        self.refund(nocturne, days_later=3, reason="Bought twice by mistake")

        sakura = self.add_customer(ADA, SAKURA, created_days_ago=500)
        # The card of the on-hold subscription declines (as pm_card_chargeDeclined); the Visa works.
        sf_jcb = self.add_card(sakura, "JCB", "0505", (5, year + 3), behaviour=DeclineCode.CARD_DECLINED)
        self.add_card(sakura, "Visa", "4242", (9, year + 4), default=False)
        self.subscribe(
            sakura,
            sf_jcb,
            "personal",
            status=SubscriptionStatus.ON_HOLD,
            days_ago=6 * 31 + 5,
            paid_cycles=6,
            last_charge=PaymentStatus.FAILED,
        )
        trial_start = self.ago(5)
        self.subscribe(
            sakura,
            sf_jcb,
            "pro",
            status=SubscriptionStatus.ACTIVE,
            days_ago=5,
            paid_cycles=0,
            trial_period_days=14,
            trial_ends_at=trial_start + timedelta(days=14),
            next_billing_date=trial_start + timedelta(days=14),
        )
        self.subscribe(
            sakura,
            sf_jcb,
            "hosting",
            status=SubscriptionStatus.FAILED,
            days_ago=40,
            paid_cycles=0,
            last_charge=PaymentStatus.FAILED,
        )
        hanami = self.purchase(sakura, sf_jcb, "hanami", days_ago=480)
        self.activate(hanami, "Studio iMac", "Ada's MacBook Pro")
        # Its key lasted a year: billing's expiry has marked it expired.
        self.purchase(sakura, sf_jcb, "kumo", days_ago=430)

        test_record = self.add_customer(ADA, NORTHWIND, livemode=False, created_days_ago=70)
        test_card = self.add_card(test_record, "Visa", "4242", (12, year + 5))
        self.subscribe(test_record, test_card, "starter", status=SubscriptionStatus.ACTIVE, days_ago=65)

    def add_other_customers(self) -> None:
        year = self.now.year
        grace_nw = self.add_customer(GRACE, NORTHWIND, locale="en-US", created_days_ago=200)
        grace_card = self.add_card(grace_nw, "Amex", "8431", (11, year + 2))
        self.subscribe(grace_nw, grace_card, "business", status=SubscriptionStatus.ACTIVE, days_ago=160, quantity=3)
        grace_sf = self.add_customer(GRACE, SAKURA, locale="en-US", created_days_ago=90)
        grace_jcb = self.add_card(grace_sf, "Visa", "5556", (2, year + 1))
        self.activate(self.purchase(grace_sf, grace_jcb, "hanami", days_ago=90), "Grace's ThinkPad")

        linus_al = self.add_customer(LINUS, LUMIERE, locale="fi-FI", created_days_ago=380)
        linus_card = self.add_card(linus_al, "Mastercard", "5100", (9, year + 2))
        self.subscribe(linus_al, linus_card, "studio_year", status=SubscriptionStatus.ACTIVE, days_ago=370)
        self.purchase(linus_al, linus_card, "nocturne", days_ago=20)
        # Never confirmed his email at Northwind: his unified portal shows Atelier Lumière and offers to add Northwind.
        linus_nw = self.add_customer(LINUS, NORTHWIND, locale="fi-FI", email_verified=False, created_days_ago=30)
        linus_visa = self.add_card(linus_nw, "Visa", "0077", (4, year + 4))
        self.subscribe(linus_nw, linus_visa, "starter", status=SubscriptionStatus.ACTIVE, days_ago=30)


def _portal_features(spec: BusinessSpec, retention_coupon: Discount) -> dict[str, object]:
    """Updates follow the business switch; only some businesses offer the coupon on cancel, or pausing."""
    update = SubscriptionUpdate(enabled=spec.allow_subscription_updates)
    if spec.quantity_limits:
        update = replace(update, quantity=QuantityLimits(*spec.quantity_limits))
    coupon_id = retention_coupon.id if spec.offers_retention_coupon else None
    features = PortalFeatures(
        subscription_cancel=SubscriptionCancel(retention_coupon_id=coupon_id),
        subscription_update=update,
        subscription_pause=SubscriptionPause(enabled=spec.allow_pause),
    )
    return stored_features(features)

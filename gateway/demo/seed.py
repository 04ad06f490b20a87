"""Demo data: three branded businesses (USD, EUR, JPY), their catalogs, and customers with a realistic history.

`ada@example.com` is a verified customer of all three businesses and owns a subscription in every status, saved
cards, purchases with license keys and dozens of invoices, so every part of the unified portal has something to
show. Dates are relative to the moment of seeding. Seeding is idempotent: the demo businesses have fixed ids, and
when they exist nothing is written.

The catalogs, customers and cards are inserted in bulk. Everything after that is a history replayed through billing,
each step with the clock frozen at its moment (core.clock.frozen_at): subscriptions start as the merchant API starts
them (billing.subscription_start, charging the sandbox processor), the billing run renews them, ends them, pauses
them and puts them on hold when they fall due (run for the demo's businesses only), customers cancel through
billing.cancellation and the merchant pauses through billing.pauses; purchases are charged through the processor
and settled by billing.charges, refunded by billing.refunds and activated by billing.license_activation. Nothing is
left half-done: a payment is settled or waits for the customer, never `processing`. The emails of the replayed
history are dropped: nobody is told today about a payment made months ago.
"""

import urllib.parse
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from billing import license_activation
from billing.billing_run import run_billing
from billing.cancellation import cancel_subscription
from billing.charges import SubscriptionOutcome, settle
from billing.context import BillingContext
from billing.invoices import Line
from billing.license_issuance import issue_license_key
from billing.pauses import pause_subscription
from billing.periods import add_interval, period_end
from billing.processors.protocol import ChargeRequest, DeclineCode
from billing.processors.sandbox import REQUIRES_ACTION, SUCCEEDS, TEST_TOKENS, SandboxProcessor
from billing.refunds import refund_payment
from billing.subscription_start import StartRequest, start_subscription
from billing.tax import charge_amounts
from core.clock import frozen_at, utcnow
from merchants.features import (
    PortalFeatures,
    QuantityLimits,
    SubscriptionCancel,
    SubscriptionPause,
    SubscriptionUpdate,
    SubscriptionUpdateKind,
    merchant_features,
    stored_features,
)
from merchants.portal_configurations import portal_features
from models import (
    Business,
    Customer,
    Discount,
    EmailMessage,
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
    tax_id: str = ""
    # Plans priced per person, so a plan change may ask for a number of seats; otherwise the quantity stays.
    per_seat: bool = True


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
    tax_id="FR40303265045",
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
    per_seat=False,
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
_DEMO_BUSINESS_IDS = tuple(spec.id for spec in BUSINESSES)

ADA = PersonSpec(DEMO_EMAIL, "Ada Lovelace", "+442079460958", ("12 St James's Square", "London", "", "SW1Y 4JH", "GB"))
GRACE = PersonSpec(
    "grace@example.com", "Grace Hopper", "+17035550142", ("1 Navy Way", "Arlington", "VA", "22202", "US")
)
LINUS = PersonSpec(
    "linus@example.com", "Linus Torvalds", "+35895550101", ("Mannerheimintie 5", "Helsinki", "", "00100", "FI")
)

M = TypeVar("M", bound=Model)


async def seed_demo(context: BillingContext) -> DemoSummary:
    """Write the demo data unless it is there already; either way, describe it. `context` is the deployment's (its
    processor is charged, and its address is in the link of the payment that waits for the customer)."""
    async with in_transaction():
        if not await Business.exists(id__in=_DEMO_BUSINESS_IDS):
            await _DemoBuilder(utcnow(), context).build().save()
        return await summarize_demo()


async def summarize_demo() -> DemoSummary:
    ids = _DEMO_BUSINESS_IDS
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


async def _next_due(end: datetime) -> datetime | None:
    """The earliest moment up to `end` at which a demo subscription falls due for the billing run."""
    demo = Subscription.filter(business_id__in=_DEMO_BUSINESS_IDS)
    active = demo.filter(status=SubscriptionStatus.ACTIVE)
    due = [
        await _earliest(active.filter(next_billing_date__lte=end, next_retry_at__isnull=True), "next_billing_date"),
        await _earliest(active.filter(next_retry_at__lte=end), "next_retry_at"),
        await _earliest(demo.filter(status=SubscriptionStatus.ACTIVE, expires_at__lte=end), "expires_at"),
        await _earliest(demo.filter(status=SubscriptionStatus.PAUSED, paused_until__lte=end), "paused_until"),
    ]
    return min((moment for moment in due if moment is not None), default=None)


async def _earliest(query: QuerySet[Subscription], column: str) -> datetime | None:
    first = await query.order_by(column).first()
    moment: datetime | None = getattr(first, column) if first else None
    return moment


@dataclass
class _Catalog:
    business: Business
    spec: BusinessSpec
    products: dict[str, Product]


@dataclass(frozen=True)
class _Step:
    """Something that happened at `at`, replayed with the clock frozen there."""

    at: datetime
    act: Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class _Started:
    """A subscription of the history, found by its customer and product once its start has been replayed."""

    customer: Customer
    product: Product
    start: datetime

    async def row(self) -> Subscription:
        return await Subscription.get(customer_id=self.customer.id, product_id=self.product.id)


@dataclass(frozen=True)
class _Bought:
    """A one-time purchase of the history, found by its idempotency key once it has been replayed."""

    customer: Customer
    product: Product
    at: datetime
    idempotency_key: str

    async def payment(self) -> Payment:
        return await Payment.get(idempotency_key=self.idempotency_key)


class _Purchased(SubscriptionOutcome):
    """How a one-time purchase settles: billing issues its invoice and, for a product with license keys, its key."""

    purpose = PaymentPurpose.PURCHASE

    def __init__(self, customer: Customer, business: Business, product: Product) -> None:
        self.customer = customer
        self.business = business
        self.product = product

    def lines(self, payment: Payment, now: datetime) -> list[Line]:
        return [Line(self.product.name, 1, self.product.price)]

    async def succeeded(self, payment: Payment, invoice: Invoice, now: datetime) -> None:
        await issue_license_key(self.product, self.customer, now, payment=payment)

    async def failed(self, payment: Payment, now: datetime) -> None:
        """A failed purchase buys nothing."""


@dataclass
class _DemoBuilder:
    """Collects unsaved rows (ids are assigned on construction, so rows can reference each other) and the steps of
    the history; inserts the rows in bulk, then replays the steps in time order, the billing run doing at each
    moment what fell due."""

    now: datetime
    context: BillingContext
    rows: dict[type[Model], list[Model]] = field(default_factory=lambda: defaultdict(list))
    catalogs: dict[tuple[str, bool], _Catalog] = field(default_factory=dict)
    history: list[_Step] = field(default_factory=list)

    def add(self, row: M) -> M:
        self.rows[type(row)].append(row)
        return row

    def ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days)

    def then(self, at: datetime, act: Callable[[], Awaitable[object]]) -> None:
        self.history.append(_Step(at, act))

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
        # Sorted stably: steps at the same moment happen in the order they were written.
        for step in sorted(self.history, key=lambda step: step.at):
            await self.bill_until(step.at)
            with frozen_at(step.at):
                await step.act()
        await self.bill_until(self.now)
        await EmailMessage.filter(business_id__in=_DEMO_BUSINESS_IDS).delete()

    async def bill_until(self, end: datetime) -> None:
        """The billing run of the demo's businesses at every moment something fell due up to `end`, then at `end`."""
        moment = await _next_due(end)
        while moment is not None:
            with frozen_at(moment):
                await run_billing(self.context, now=moment, businesses=_DEMO_BUSINESS_IDS)
            following = await _next_due(end)
            if following is not None and following <= moment:
                raise RuntimeError(f"The billing run left a demo subscription due at {moment.isoformat()}.")
            moment = following
        with frozen_at(end):
            await run_billing(self.context, now=end, businesses=_DEMO_BUSINESS_IDS)

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
                tax_id=spec.tax_id,
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

    def card_fingerprint(self, customer: Customer, brand: str, last4: str) -> str:
        """The sandbox's own fingerprint of the test card with that brand and last four, so the same card added
        again in the demo is the saved one; a card the sandbox has no test number for gets one of its own."""
        number = next(
            (
                card.number
                for card in TEST_TOKENS.values()
                if card.brand == brand.lower() and card.number.endswith(last4)
            ),
            None,
        )
        if number and isinstance(self.context.processor, SandboxProcessor):
            return self.context.processor.fingerprint(number)
        return f"fp_{brand.lower()}_{last4}_{customer.email.split('@')[0]}"

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
                fingerprint=self.card_fingerprint(customer, brand, last4),
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

    def subscribe(
        self,
        customer: Customer,
        card: PaymentMethod,
        product_key: str,
        *,
        days_ago: int,
        quantity: int = 1,
        trial_period_days: int | None = None,
    ) -> _Started:
        """Started `days_ago` by the merchant's API with a saved card; from then on the billing run renews it."""
        product = self.catalogs[(customer.business_id, customer.livemode)].products[product_key]
        started = _Started(customer, product, self.ago(days_ago))

        async def start() -> None:
            client_key = f"demo-{customer.id}-{product_key}"
            asked = StartRequest(
                customer,
                product.id,
                client_key,
                quantity,
                payment_method_id=card.id,
                trial_period_days=trial_period_days,
            )
            await start_subscription(asked, self.context)

        self.then(started.start, start)
        return started

    def periods_after(self, started: _Started, periods: int) -> datetime:
        interval = started.product.payment_frequency_interval or Interval.MONTH
        return add_interval(started.start, interval, periods)

    def fixed_term(self, started: _Started) -> None:
        """The product's term (`subscription_period_count` of its monthly periods) ends it: the billing run expires
        it when its last period ends. Billing's start does not set `expires_at` from a product's term yet, so the
        history sets it as the merchant's create would."""

        async def set_term() -> None:
            subscription = await started.row()
            expires_at = subscription.previous_billing_date
            for _ in range(started.product.subscription_period_count or 1):
                expires_at = period_end(subscription, expires_at)
            await Subscription.filter(id=subscription.id).update(expires_at=expires_at)

        self.then(started.start, set_term)

    def cancel(
        self,
        started: _Started,
        at: datetime,
        reason: CancellationFeedback | None = None,
        comment: str | None = None,
    ) -> None:
        """The customer cancels in their portal, at the end of the period: the billing run ends it then."""

        async def cancel() -> None:
            subscription = await started.row()
            features = await portal_features(subscription.business_id, subscription.livemode)
            await cancel_subscription(
                subscription, reason=reason, comment=comment, immediately=False, features=features, context=self.context
            )

        self.then(at, cancel)

    def pause(self, started: _Started, at: datetime) -> None:
        """The business pauses it from the period end until further notice (its portal offers no pause: the merchant
        does it, under the merchant's policy); the billing run starts the pause."""

        async def pause() -> None:
            await pause_subscription(await started.row(), None, merchant_features())

        self.then(at, pause)

    def bank_declines(self, card: PaymentMethod, days_ago: int) -> None:
        """From `days_ago`, the card's bank refuses its charges (as pm_card_chargeDeclined's does)."""

        async def declines() -> None:
            await SandboxCard.filter(id=card.processor_token).update(behaviour=DeclineCode.CARD_DECLINED)

        self.then(self.ago(days_ago), declines)

    def purchase(self, customer: Customer, card: PaymentMethod, product_key: str, days_ago: int) -> _Bought:
        """A one-time purchase, charged through the processor and settled by billing: a license-key product hands
        out its key."""
        product = self.catalogs[(customer.business_id, customer.livemode)].products[product_key]
        business = self.catalogs[(customer.business_id, customer.livemode)].business
        key = f"{PaymentPurpose.PURCHASE}:demo-{customer.id}-{product_key}"
        bought = _Bought(customer, product, self.ago(days_ago), key)

        async def buy() -> None:
            amounts = charge_amounts(product.price, rate_bp=business.tax_rate_bp, inclusive=product.tax_inclusive)
            payment = await Payment.create(
                business_id=customer.business_id,
                livemode=customer.livemode,
                customer_id=customer.id,
                total_amount=amounts.total,
                tax=amounts.tax,
                subtotal=amounts.subtotal,
                discount=amounts.discount,
                credit_applied=amounts.credit_applied,
                currency=product.currency,
                status=PaymentStatus.PROCESSING,
                purpose=PaymentPurpose.PURCHASE,
                payment_method_id=card.id,
                card_last_four=card.last4,
                card_network=card.brand,
                idempotency_key=key,
            )
            await PaymentItem.create(payment_id=payment.id, product_id=product.id, quantity=1, amount=amounts.subtotal)
            charged = ChargeRequest(
                card.processor_token, payment.total_amount, payment.currency, payment.idempotency_key
            )
            processor = await self.context.processor_for(business.id, payment.livemode)
            result = await processor.charge(charged)
            await settle(payment, result, _Purchased(customer, business, product))

        self.then(bought.at, buy)
        return bought

    def activate(self, bought: _Bought, *names: str) -> None:
        """Devices the purchase's key was activated on, an hour apart after the purchase."""
        for offset, name in enumerate(names):

            async def activate(name: str = name) -> None:
                key = await LicenseKey.get(payment_id=(await bought.payment()).id)
                await license_activation.activate(key.key, name, livemode=key.livemode)

            self.then(bought.at + timedelta(hours=offset + 1), activate)

    def refund(self, bought: _Bought, days_later: int, reason: str) -> None:
        """The whole purchase given back `days_later` through the processor: the refund disables its key."""

        async def refund() -> None:
            payment = await bought.payment()
            await refund_payment(payment, None, reason, client_key=f"demo-refund-{payment.id}", context=self.context)

        self.then(bought.at + timedelta(days=days_later), refund)

    # --- the people ---------------------------------------------------------------------------------------------

    def add_ada(self) -> None:
        """Ada has a subscription in every status across the three businesses, and a test-mode record."""
        year = self.now.year
        northwind = self.add_customer(ADA, NORTHWIND, created_days_ago=420)
        nw_visa = self.add_card(northwind, "Visa", "4242", (12, year + 2))
        self.add_card(northwind, "Mastercard", "4444", (3, year - 1), default=False)
        self.subscribe(northwind, nw_visa, "team", days_ago=12 * 30 + 9)
        warehouse = self.subscribe(northwind, nw_visa, "warehouse", days_ago=200)
        # Paused from the end of its fourth period.
        self.pause(warehouse, self.periods_after(warehouse, 4) - timedelta(days=7))
        connector = self.purchase(northwind, nw_visa, "connector", days_ago=300)
        self.activate(connector, "Ada's MacBook Pro")

        lumiere = self.add_customer(ADA, LUMIERE, locale="fr-FR", created_days_ago=400)
        al_visa = self.add_card(lumiere, "Visa", "1881", (8, year + 1))
        # Her bank asks for 3-D Secure on every charge of this card.
        al_secure = self.add_card(lumiere, "Visa", "3184", (6, year + 3), default=False, behaviour=REQUIRES_ACTION)
        essentiel = self.subscribe(lumiere, al_visa, "essentiel", days_ago=395)
        # Cancelled during its fourth period: it ended when that period did.
        self.cancel(
            essentiel,
            self.periods_after(essentiel, 4) - timedelta(days=10),
            CancellationFeedback.MISSING_FEATURES,
            "Moving to Studio for the live workshops.",
        )
        studio = self.subscribe(lumiere, al_visa, "studio", days_ago=7 * 30 + 12)
        self.cancel(studio, self.ago(1))
        course = self.subscribe(lumiere, al_visa, "course", days_ago=250)
        self.fixed_term(course)
        # Bought a moment ago with the card that asks for 3-D Secure: the charge waits for her bank, the
        # subscription for the charge; nobody charges it without her.
        self.subscribe(lumiere, al_secure, "studio_year", days_ago=0)
        nocturne = self.purchase(lumiere, al_visa, "nocturne", days_ago=150)
        self.refund(nocturne, days_later=3, reason="Bought twice by mistake")

        sakura = self.add_customer(ADA, SAKURA, created_days_ago=500)
        sf_jcb = self.add_card(sakura, "JCB", "0505", (5, year + 3))
        self.add_card(sakura, "Visa", "4242", (9, year + 4), default=False)
        # Six months paid on the JCB; then its bank declines it, and the seventh renewal, retried after 1, 3 and 7
        # days (billing.dunning), puts the plan on hold.
        self.subscribe(sakura, sf_jcb, "personal", days_ago=6 * 31 + 15)
        self.bank_declines(sf_jcb, days_ago=25)
        self.subscribe(sakura, sf_jcb, "pro", days_ago=5, trial_period_days=14)
        # Its first renewal, a few days ago, was declined on the JCB too: it is past due, still active, and retried on
        # the schedule (billing.dunning) unless she pays it now.
        self.subscribe(sakura, sf_jcb, "studio", days_ago=31 + 3)
        # Its first charge, on the declining JCB, failed: it never started.
        self.subscribe(sakura, sf_jcb, "hosting", days_ago=20)
        hanami = self.purchase(sakura, sf_jcb, "hanami", days_ago=480)
        self.activate(hanami, "Studio iMac", "Ada's MacBook Pro")
        # Its key lasted a year: billing's expiry has marked it expired.
        self.purchase(sakura, sf_jcb, "kumo", days_ago=430)

        test_record = self.add_customer(ADA, NORTHWIND, livemode=False, created_days_ago=70)
        test_card = self.add_card(test_record, "Visa", "4242", (12, year + 5))
        self.subscribe(test_record, test_card, "starter", days_ago=65)

    def add_other_customers(self) -> None:
        year = self.now.year
        grace_nw = self.add_customer(GRACE, NORTHWIND, locale="en-US", created_days_ago=200)
        grace_card = self.add_card(grace_nw, "Amex", "8431", (11, year + 2))
        self.subscribe(grace_nw, grace_card, "business", days_ago=160, quantity=3)
        grace_sf = self.add_customer(GRACE, SAKURA, locale="en-US", created_days_ago=90)
        grace_jcb = self.add_card(grace_sf, "Visa", "5556", (2, year + 1))
        self.activate(self.purchase(grace_sf, grace_jcb, "hanami", days_ago=90), "Grace's ThinkPad")

        linus_al = self.add_customer(LINUS, LUMIERE, locale="fi-FI", created_days_ago=380)
        linus_card = self.add_card(linus_al, "Mastercard", "5100", (9, year + 2))
        self.subscribe(linus_al, linus_card, "studio_year", days_ago=370)
        self.purchase(linus_al, linus_card, "nocturne", days_ago=20)
        # Never confirmed his email at Northwind: his unified portal shows Atelier Lumière and offers to add Northwind.
        linus_nw = self.add_customer(LINUS, NORTHWIND, locale="fi-FI", email_verified=False, created_days_ago=30)
        linus_visa = self.add_card(linus_nw, "Visa", "0077", (4, year + 4))
        self.subscribe(linus_nw, linus_visa, "starter", days_ago=30)


def _portal_features(spec: BusinessSpec, retention_coupon: Discount) -> dict[str, object]:
    """Updates follow the business switch; only some businesses offer the coupon on cancel, or pausing."""
    update = SubscriptionUpdate(enabled=spec.allow_subscription_updates)
    if spec.quantity_limits:
        update = replace(update, quantity=QuantityLimits(*spec.quantity_limits))
    if not spec.per_seat:
        update = replace(update, default_allowed_updates=(SubscriptionUpdateKind.PRICE,))
    coupon_id = retention_coupon.id if spec.offers_retention_coupon else None
    features = PortalFeatures(
        subscription_cancel=SubscriptionCancel(retention_coupon_id=coupon_id),
        subscription_update=update,
        subscription_pause=SubscriptionPause(enabled=spec.allow_pause),
    )
    return stored_features(features)

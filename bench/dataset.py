"""What the benchmark data looks like: businesses with their catalogs, and customers with a history of
subscriptions, invoices (with lines), payments, purchases (with items and license keys) and payment methods.

Rows come out as dicts per table in batches, ready for COPY; nothing here touches the database. A column a row
leaves out gets its model's default when copied (bench/seed.py). One random
generator drives everything (ids come from models.ids), so two seeds at the same scale have the same shape.
"""

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from merchants.features import PortalFeatures, stored_features
from models.enums import (
    CancellationFeedback,
    Interval,
    InvoiceStatus,
    LicenseKeyStatus,
    PaymentPurpose,
    PaymentStatus,
    PriceType,
    SubscriptionStatus,
)
from models.ids import new_id

PROBE_EMAIL = "bench@example.com"
PROBE_BUSINESSES = 5
# The probe also has a test-mode record and an unverified record, which the dashboard must leave out.
PROBE_EXTRA_BUSINESSES = 2
CUSTOMERS_PER_BATCH = 2_000

_FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Yuki", "Amara", "Lars", "Priya", "Mateo", "Chen", "Zoe"]
_LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Hamilton", "Tanaka", "Okafor", "Berg", "Sharma", "Silva", "Wang"]
_WORDS = ["North", "Blue", "Atelier", "Sakura", "Quartz", "Maple", "Orbit", "Harbor", "Cedar", "Nimbus", "Pixel"]
_KINDS = ["Analytics", "Studio", "Labs", "Software", "Fonts", "Audio", "Cloud", "Games", "Tools", "Press"]
_CITIES = [("Berlin", "DE"), ("Austin", "US"), ("Osaka", "JP"), ("Lyon", "FR"), ("Pune", "IN"), ("Leeds", "GB")]
# Currency, share of businesses, and how many minor units a price of "12 dollars" is in it.
_CURRENCIES = [("USD", 60, 100), ("EUR", 20, 100), ("GBP", 10, 100), ("JPY", 5, 15), ("INR", 5, 8_300)]
_SUBSCRIPTION_STATUSES = {
    SubscriptionStatus.ACTIVE: 70,
    SubscriptionStatus.CANCELLED: 14,
    SubscriptionStatus.ON_HOLD: 5,
    SubscriptionStatus.PAUSED: 3,
    SubscriptionStatus.EXPIRED: 6,
    SubscriptionStatus.FAILED: 2,
}
_DEVICES = ["MacBook Pro", "Work laptop", "Desktop", "ThinkPad", "Studio PC", "iMac"]
_BRANDS = ["visa", "mastercard", "amex"]


@dataclass(frozen=True)
class Sizes:
    """How much to seed; `scaled(1.0)` is the full data set."""

    businesses: int
    customers: int
    invoices: int

    @classmethod
    def scaled(cls, scale: float) -> "Sizes":
        return cls(
            businesses=max(PROBE_BUSINESSES + PROBE_EXTRA_BUSINESSES, round(1_000 * scale)),
            customers=max(1, round(100_000 * scale)),
            invoices=max(1, round(1_000_000 * scale)),
        )


@dataclass
class Batch:
    """Rows per table, in the order they may be copied (parents first)."""

    rows: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, table: str, row: dict) -> None:
        self.rows.setdefault(table, []).append(row)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    price: int
    interval: Interval | None
    license_keys: bool = False
    activations_limit: int | None = None


@dataclass
class Shop:
    """A business and its catalog per mode, kept in memory while its customers are generated."""

    id: str
    name: str
    created_at: datetime
    currency: str
    tax_rate: float
    invoice_prefix: str
    plans: dict[bool, list[Product]] = field(default_factory=dict)
    apps: dict[bool, Product] = field(default_factory=dict)
    extras: dict[bool, Product] = field(default_factory=dict)
    next_number: dict[bool, int] = field(default_factory=lambda: {True: 1, False: 1})


@dataclass(frozen=True)
class History:
    """The shape of one customer's history."""

    email: str
    livemode: bool
    verified: bool
    invoices: int
    subscriptions: int
    purchase_share: float = 0.2


class Generator:
    def __init__(self, sizes: Sizes, seed: int = 7, now: datetime | None = None) -> None:
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.shops: list[Shop] = []

    def batches(self) -> Iterator[Batch]:
        """The catalog, then the customers CUSTOMERS_PER_BATCH at a time (the probe's first), then the invoice
        number sequences."""
        yield self._catalog()
        histories = self._probe_histories() + self._crowd_histories()
        for start in range(0, len(histories), CUSTOMERS_PER_BATCH):
            batch = Batch()
            for shop, history in histories[start : start + CUSTOMERS_PER_BATCH]:
                self._customer(batch, shop, history)
            yield batch
        yield self._sequences()

    def customer_count(self) -> int:
        return self.sizes.customers + PROBE_BUSINESSES + PROBE_EXTRA_BUSINESSES

    # --- businesses and catalogs -------------------------------------------------------------------------------

    def _catalog(self) -> Batch:
        batch = Batch()
        for _ in range(self.sizes.businesses):
            shop = self._business(batch)
            for livemode in (True, False):
                self._products(batch, shop, livemode)
            self.shops.append(shop)
        return batch

    def _business(self, batch: Batch) -> Shop:
        rng = self.rng
        name = f"{rng.choice(_WORDS)} {rng.choice(_KINDS)}"
        currency, _, _ = rng.choices(_CURRENCIES, weights=[share for _, share, _ in _CURRENCIES])[0]
        created_at = self._between(self.now - timedelta(days=6 * 365), self.now - timedelta(days=90))
        shop = Shop(
            id=new_id("bus"),
            name=name,
            created_at=created_at,
            currency=currency,
            tax_rate=rng.choice([0.0, 0.0, 0.07, 0.19, 0.2]),
            invoice_prefix="".join(word[0] for word in name.split()) + str(rng.randrange(10, 99)),
        )
        city, country = rng.choice(_CITIES)
        domain = name.lower().replace(" ", "")
        batch.add(
            "business",
            {
                "created_at": created_at,
                "id": shop.id,
                "name": name,
                "support_email": f"help@{domain}.test",
                "address_line1": f"{rng.randrange(1, 200)} Market Street",
                "address_line2": "",
                "address_city": city,
                "address_state": "",
                "address_postal_code": f"{rng.randrange(10000, 99999)}",
                "address_country": country,
                "logo_url": f"https://{domain}.test/logo.svg",
                "icon_url": f"https://{domain}.test/icon.png",
                "primary_color": f"#{rng.randrange(0x1000000):06x}",
                "accent_color": f"#{rng.randrange(0x1000000):06x}",
                "headline": f"Manage your {name} account",
                "website_url": f"https://{domain}.test",
                "default_return_url": f"https://{domain}.test/account",
                "allow_subscription_updates": rng.random() < 0.5,
                "allow_subscription_cancellation": True,
                "invoice_prefix": shop.invoice_prefix,
                "tax_rate_bp": round(shop.tax_rate * 10_000),
            },
        )
        batch.add(
            "portal_configuration",
            {
                "created_at": created_at,
                "id": new_id("bpc"),
                "livemode": True,
                "is_default": True,
                "name": "Default",
                "headline": "",
                "features": json.dumps(stored_features(PortalFeatures())),
                "privacy_policy_url": "",
                "terms_of_service_url": "",
                "default_return_url": "",
                "business_id": shop.id,
            },
        )
        return shop

    def _products(self, batch: Batch, shop: Shop, livemode: bool) -> None:
        unit = next(minor for code, _, minor in _CURRENCIES if code == shop.currency)
        collection_id = new_id("pdc")
        batch.add(
            "product_collection",
            {
                "created_at": shop.created_at,
                "id": collection_id,
                "livemode": livemode,
                "name": "Plans",
                "business_id": shop.id,
            },
        )
        shop.plans[livemode] = [
            self._product(batch, shop, livemode, f"{shop.name} Starter", 9 * unit, Interval.MONTH, collection_id, 0),
            self._product(batch, shop, livemode, f"{shop.name} Pro", 29 * unit, Interval.MONTH, collection_id, 1),
            self._product(batch, shop, livemode, f"{shop.name} Business", 290 * unit, Interval.YEAR, collection_id, 2),
        ]
        limit = self.rng.choice([1, 3, 5, None])
        shop.apps[livemode] = self._product(
            batch, shop, livemode, f"{shop.name} Desktop", 49 * unit, None, None, 0, True, limit
        )
        shop.extras[livemode] = self._product(
            batch, shop, livemode, f"{shop.name} Template pack", 19 * unit, None, None, 0
        )

    def _product(
        self,
        batch: Batch,
        shop: Shop,
        livemode: bool,
        name: str,
        price: int,
        interval: Interval | None,
        collection_id: str | None,
        position: int,
        license_keys: bool = False,
        activations_limit: int | None = None,
    ) -> Product:
        product = Product(new_id("pdt"), name, price, interval, license_keys, activations_limit)
        recurring = interval is not None
        batch.add(
            "product",
            {
                "created_at": shop.created_at,
                "id": product.id,
                "livemode": livemode,
                "name": name,
                "description": f"{name}, as sold by {shop.name}.",
                "price_type": PriceType.RECURRING if recurring else PriceType.ONE_TIME,
                "price": price,
                "currency": shop.currency,
                "tax_inclusive": False,
                "payment_frequency_count": 1 if recurring else None,
                "payment_frequency_interval": interval,
                "subscription_period_count": 1 if recurring else None,
                "subscription_period_interval": Interval.YEAR if recurring else None,
                "trial_period_days": 0,
                "license_key_enabled": license_keys,
                "license_key_activations_limit": activations_limit,
                "license_key_duration_count": None,
                "license_key_duration_interval": None,
                "collection_position": position,
                "archived": False,
                "business_id": shop.id,
                "collection_id": collection_id,
            },
        )
        return product

    def _sequences(self) -> Batch:
        batch = Batch()
        for shop in self.shops:
            for livemode, number in shop.next_number.items():
                batch.add(
                    "invoice_sequence",
                    {
                        "created_at": shop.created_at,
                        "livemode": livemode,
                        "next_number": number,
                        "business_id": shop.id,
                    },
                )
        return batch

    # --- who the customers are ---------------------------------------------------------------------------------

    def _probe_histories(self) -> list[tuple[Shop, History]]:
        rng = self.rng
        chosen = rng.sample(self.shops, PROBE_BUSINESSES + PROBE_EXTRA_BUSINESSES)
        histories = [
            (shop, History(PROBE_EMAIL, True, True, rng.randint(10, 20), rng.randint(2, 3)))
            for shop in chosen[:PROBE_BUSINESSES]
        ]
        test_mode, unverified = chosen[PROBE_BUSINESSES:]
        histories.append((test_mode, History(PROBE_EMAIL, False, True, 12, 2)))
        histories.append((unverified, History(PROBE_EMAIL, True, False, 12, 2)))
        return histories

    def _crowd_histories(self) -> list[tuple[Shop, History]]:
        """Customers spread unevenly over businesses (a few big ones, a long tail), with exactly
        `sizes.invoices` invoices between them."""
        rng, sizes = self.rng, self.sizes
        weights = [rng.lognormvariate(0, 1) for _ in self.shops]
        shops = rng.choices(self.shops, weights=weights, k=sizes.customers)
        invoices = _counts_with_total(rng, sizes.customers, sizes.invoices)
        emails: list[str] = []
        histories = []
        for number, (shop, count) in enumerate(zip(shops, invoices, strict=True)):
            # Some people buy from several businesses under one email: that is what the unified portal joins.
            if emails and rng.random() < 0.04:
                email = rng.choice(emails)
            else:
                email = f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}.{number}@example.net".lower()
                emails.append(email)
            subscriptions = min(count, rng.choices([0, 1, 2, 3], weights=[15, 60, 20, 5])[0])
            histories.append((shop, History(email, rng.random() < 0.97, rng.random() < 0.85, count, subscriptions)))
        return histories

    # --- one customer's history --------------------------------------------------------------------------------

    def _customer(self, batch: Batch, shop: Shop, history: History) -> None:
        rng = self.rng
        created_at = self._between(shop.created_at, self.now - timedelta(days=1))
        customer_id = new_id("cus")
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        city, country = rng.choice(_CITIES)
        batch.add(
            "customer",
            {
                "created_at": created_at,
                "id": customer_id,
                "livemode": history.livemode,
                "email": history.email,
                "email_verified": history.verified,
                "name": f"{first} {last}",
                "phone_number": f"+1555{rng.randrange(1000000, 9999999)}",
                "billing_line1": f"{rng.randrange(1, 99)} Elm Row",
                "billing_line2": "",
                "billing_city": city,
                "billing_state": "",
                "billing_postal_code": "10115",
                "billing_country": country,
                "tax_id": "",
                "locale": rng.choice(["", "", "en-US", "de-DE", "ja-JP"]),
                "business_id": shop.id,
            },
        )
        owner = _Owner(shop, customer_id, history.livemode, f"{first} {last}", history.email, city, country)
        card = self._payment_methods(batch, owner, created_at)
        times = sorted(self._between(created_at, self.now) for _ in range(history.invoices))
        purchases, renewals = self._split(times, history)
        self._subscriptions(batch, owner, card, renewals, history.subscriptions)
        for moment in purchases:
            self._purchase(batch, owner, card, moment)

    def _split(self, times: list[datetime], history: History) -> tuple[list[datetime], list[datetime]]:
        """Which invoices pay for one-time purchases and which for subscription cycles (each subscription has one
        at least)."""
        if history.subscriptions == 0:
            return times, []
        spare = len(times) - history.subscriptions
        purchases = sum(self.rng.random() < history.purchase_share for _ in range(spare))
        purchase_indexes = set(self.rng.sample(range(len(times)), purchases))
        return (
            [t for i, t in enumerate(times) if i in purchase_indexes],
            [t for i, t in enumerate(times) if i not in purchase_indexes],
        )

    def _payment_methods(self, batch: Batch, owner: "_Owner", created_at: datetime) -> dict:
        """A default card, sometimes a second one, rarely a detached old one; the default is what pays."""
        rng = self.rng
        cards = [self._card(batch, owner, created_at, is_default=True, detached_at=None)]
        if rng.random() < 0.2:
            cards.append(self._card(batch, owner, self._between(created_at, self.now), False, None))
        if rng.random() < 0.05:
            cards.append(self._card(batch, owner, created_at, False, self._between(created_at, self.now)))
        return cards[0]

    def _card(
        self, batch: Batch, owner: "_Owner", created_at: datetime, is_default: bool, detached_at: datetime | None
    ) -> dict:
        rng = self.rng
        card = {
            "created_at": created_at,
            "id": new_id("pm"),
            "livemode": owner.livemode,
            "type": "card",
            "brand": rng.choice(_BRANDS),
            "last4": f"{rng.randrange(10000):04d}",
            "exp_month": rng.randint(1, 12),
            "exp_year": rng.randint(2026, 2032),
            "fingerprint": f"{rng.getrandbits(128):032x}",
            "processor_token": f"tok_{rng.getrandbits(96):024x}",
            "is_default": is_default,
            "detached_at": detached_at,
            "business_id": owner.shop.id,
            "customer_id": owner.customer_id,
        }
        batch.add("payment_method", card)
        return card

    def _subscriptions(self, batch: Batch, owner: "_Owner", card: dict, times: list[datetime], count: int) -> None:
        if count == 0:
            return
        rng = self.rng
        owners = list(range(count)) + [rng.randrange(count) for _ in range(len(times) - count)]
        rng.shuffle(owners)
        cycles: list[list[datetime]] = [[] for _ in range(count)]
        for moment, index in zip(times, owners, strict=True):
            cycles[index].append(moment)
        for moments in cycles:
            plan = rng.choice(owner.shop.plans[owner.livemode])
            quantity = rng.choices([1, 2, 5], weights=[85, 10, 5])[0]
            subscription_id = self._subscription(batch, owner, card, plan, quantity, moments)
            for cycle, moment in enumerate(moments):
                purpose = PaymentPurpose.SUBSCRIPTION_CREATE if cycle == 0 else PaymentPurpose.RENEWAL
                lines = [(f"{plan.name} × {quantity}", quantity, plan.price)]
                if rng.random() < 0.25:
                    lines.append(("Seats added (prorated)", 1, plan.price // 3))
                self._paid_invoice(batch, owner, card, moment, purpose, lines, subscription_id)

    def _subscription(
        self, batch: Batch, owner: "_Owner", card: dict, plan: Product, quantity: int, moments: list[datetime]
    ) -> str:
        rng = self.rng
        status = rng.choices(list(_SUBSCRIPTION_STATUSES), weights=list(_SUBSCRIPTION_STATUSES.values()))[0]
        period = timedelta(days=365 if plan.interval == Interval.YEAR else 30)
        ended = status in {SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED, SubscriptionStatus.FAILED}
        # A running subscription renews from now on; an ended one stopped after its last payment.
        previous = moments[-1] if ended else self.now - timedelta(seconds=rng.uniform(0, period.total_seconds()))
        cancelled_at = self._between(moments[-1], self.now) if status == SubscriptionStatus.CANCELLED else None
        subscription_id = new_id("sub")
        batch.add(
            "subscription",
            {
                "created_at": moments[0],
                "id": subscription_id,
                "livemode": owner.livemode,
                "status": status,
                "quantity": quantity,
                "recurring_pre_tax_amount": plan.price * quantity,
                "currency": owner.shop.currency,
                "tax_inclusive": False,
                "payment_frequency_count": 1,
                "payment_frequency_interval": plan.interval,
                "subscription_period_count": 1,
                "subscription_period_interval": Interval.YEAR,
                "trial_period_days": 0,
                "trial_ends_at": None,
                "previous_billing_date": previous,
                "next_billing_date": previous + period,
                "cancel_at_next_billing_date": status == SubscriptionStatus.ACTIVE and rng.random() < 0.1,
                "cancelled_at": cancelled_at,
                "expires_at": previous + period if status == SubscriptionStatus.EXPIRED else None,
                "cancellation_feedback": rng.choice(list(CancellationFeedback)) if cancelled_at else None,
                "cancellation_comment": None,
                "scheduled_change": None,
                "updated_at": cancelled_at or moments[-1],
                "business_id": owner.shop.id,
                "customer_id": owner.customer_id,
                "discount_id": None,
                "payment_method_id": card["id"],
                "product_id": plan.id,
            },
        )
        return subscription_id

    def _purchase(self, batch: Batch, owner: "_Owner", card: dict, moment: datetime) -> None:
        """A one-time purchase: the desktop app (with a license key) and/or the template pack."""
        rng = self.rng
        app, extra = owner.shop.apps[owner.livemode], owner.shop.extras[owner.livemode]
        products = rng.choices([[app], [extra], [app, extra]], weights=[55, 30, 15])[0]
        items = [(product, 2 if product is extra and rng.random() < 0.2 else 1) for product in products]
        lines = [(product.name, quantity, product.price) for product, quantity in items]
        payment_id = self._paid_invoice(batch, owner, card, moment, PaymentPurpose.PURCHASE, lines, None)
        for product, quantity in items:
            batch.add(
                "payment_item",
                {
                    "created_at": moment,
                    "id": new_id("pit"),
                    "quantity": quantity,
                    "amount": product.price * quantity,
                    "payment_id": payment_id,
                    "product_id": product.id,
                },
            )
            if product.license_keys:
                self._license_key(batch, owner, product, payment_id, moment)

    def _license_key(self, batch: Batch, owner: "_Owner", product: Product, payment_id: str, moment: datetime) -> None:
        rng = self.rng
        key_id = new_id("lic")
        status = rng.choices(list(LicenseKeyStatus), weights=[85, 10, 5])[0]
        batch.add(
            "license_key",
            {
                "created_at": moment + timedelta(seconds=1),
                "id": key_id,
                "livemode": owner.livemode,
                "key": "-".join(f"{rng.getrandbits(25):07X}"[:5] for _ in range(4)),
                "status": status,
                "activations_limit": product.activations_limit,
                "expires_at": moment + timedelta(days=365) if status == LicenseKeyStatus.EXPIRED else None,
                "business_id": owner.shop.id,
                "customer_id": owner.customer_id,
                "payment_id": payment_id,
                "product_id": product.id,
                "subscription_id": None,
            },
        )
        for _ in range(rng.choices([0, 1, 2, 3], weights=[20, 40, 30, 10])[0]):
            batch.add(
                "license_key_instance",
                {
                    "created_at": self._between(moment, self.now),
                    "id": new_id("lki"),
                    "name": rng.choice(_DEVICES),
                    "license_key_id": key_id,
                },
            )

    def _paid_invoice(
        self,
        batch: Batch,
        owner: "_Owner",
        card: dict,
        moment: datetime,
        purpose: PaymentPurpose,
        lines: list[tuple[str, int, int]],
        subscription_id: str | None,
    ) -> str:
        """A succeeded payment (sometimes after a declined attempt) and its invoice with lines; the payment id."""
        rng, shop = self.rng, owner.shop
        subtotal = sum(quantity * unit for _, quantity, unit in lines)
        tax = round(subtotal * shop.tax_rate)
        if rng.random() < 0.03:
            self._payment(
                batch,
                owner,
                card,
                moment - timedelta(hours=rng.randint(1, 48)),
                purpose,
                subtotal + tax,
                tax,
                subscription_id,
                PaymentStatus.FAILED,
            )
        payment_id = self._payment(
            batch, owner, card, moment, purpose, subtotal + tax, tax, subscription_id, PaymentStatus.SUCCEEDED
        )
        invoice_id = new_id("inv")
        number = shop.next_number[owner.livemode]
        shop.next_number[owner.livemode] = number + 1
        details = {"name": owner.name, "email": owner.email, "address": {"city": owner.city, "country": owner.country}}
        batch.add(
            "invoice",
            {
                "created_at": moment,
                "id": invoice_id,
                "livemode": owner.livemode,
                "number": f"{shop.invoice_prefix}-{number:06d}",
                "status": InvoiceStatus.PAID,
                "currency": shop.currency,
                "subtotal": subtotal,
                "tax": tax,
                "total": subtotal + tax,
                "issued_at": moment,
                "billing_details": json.dumps(details),
                "business_id": shop.id,
                "customer_id": owner.customer_id,
                "subscription_id": subscription_id,
                "payment_id": payment_id,
            },
        )
        for position, (description, quantity, unit) in enumerate(lines):
            batch.add(
                "invoice_line",
                {
                    "created_at": moment,
                    "id": new_id("inl"),
                    "position": position,
                    "description": description,
                    "quantity": quantity,
                    "unit_amount": unit,
                    "amount": quantity * unit,
                    "invoice_id": invoice_id,
                },
            )
        return payment_id

    def _payment(
        self,
        batch: Batch,
        owner: "_Owner",
        card: dict,
        moment: datetime,
        purpose: PaymentPurpose,
        total: int,
        tax: int,
        subscription_id: str | None,
        status: PaymentStatus,
    ) -> str:
        payment_id = new_id("pay")
        failed = status == PaymentStatus.FAILED
        batch.add(
            "payment",
            {
                "created_at": moment,
                "id": payment_id,
                "livemode": owner.livemode,
                "total_amount": total,
                "tax": tax,
                "currency": owner.shop.currency,
                "status": status,
                "purpose": purpose,
                "card_last_four": card["last4"],
                "card_network": card["brand"],
                "error_code": "card_declined" if failed else None,
                "error_message": "The card was declined." if failed else None,
                "idempotency_key": f"seed_{payment_id}",
                "processor_reference": f"ch_{self.rng.getrandbits(96):024x}",
                "business_id": owner.shop.id,
                "customer_id": owner.customer_id,
                "payment_method_id": card["id"],
                "subscription_id": subscription_id,
                "updated_at": moment,
            },
        )
        return payment_id

    def _between(self, start: datetime, end: datetime) -> datetime:
        return start + timedelta(seconds=self.rng.uniform(0, max(0.0, (end - start).total_seconds())))


@dataclass(frozen=True)
class _Owner:
    """The customer record rows are generated for, with what its invoices snapshot."""

    shop: Shop
    customer_id: str
    livemode: bool
    name: str
    email: str
    city: str
    country: str


def _counts_with_total(rng: random.Random, people: int, total: int) -> list[int]:
    """A count of at least one per person (1–19, ten on average), nudged so the counts sum to `total`."""
    if total < people:
        raise ValueError("every person has at least one")
    counts = [rng.randint(1, 19) for _ in range(people)]
    difference = total - sum(counts)
    step = 1 if difference > 0 else -1
    while difference:
        index = rng.randrange(people)
        if counts[index] + step >= 1:
            counts[index] += step
            difference -= step
    return counts

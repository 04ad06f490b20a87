"""Dodo Payments' objects for the merchant API, written once: the REST answers and the webhook payloads (built here, in
the transaction that changed the row) are both these shapes, so a field added here appears everywhere at once.

Each shape is Dodo's documented object field for field (`dodopayments` types `Customer`, `Subscription`, `Payment`,
`Refund`, `LicenseKey`, `LicenseKeyInstance`, `Product`, `ProductCollection`), a superset where Dodo's list item
differs from its single object.
Fields Dodo has and the portal does not model carry honest values: no addons, meters, credit entitlements, disputes
or custom fields (empty lists); `brand_id` is the business id (a business is its own one brand); settlement happens in
the charge's currency; `payment_provider` is `dodo` (the portal collected it; which processor it used is not recorded
per payment); `retry_attempt` is 0 (the portal does not count retries). A customer with no billing country has
`billing.country` null, which Dodo, always knowing one, never sends, and which fails the SDK's validation: the REST
creates therefore require one (gateway.rest.orders), so only a subscription or payment made another way (the
merchant GraphQL API, the portal) for a customer without an address answers it. Products have no images, addons,
entitlements, localized pricing, price discounts, pay-what-you-want or purchasing power parity; a collection is one
group of its products, without description, image or plan-change defaults of its own (the business's portal
configuration decides).

Builders take a row and load what they show; a relation the query already fetched is not loaded again. A list's
page is built at once (`payment_objects`, `subscription_objects`, …), in a fixed number of statements whatever its
size; the builder of one row is the page of one.
"""

from collections.abc import Collection, Sequence
from typing import Any

from tortoise.functions import Count
from tortoise.models import Model

from models import (
    Customer,
    Discount,
    Invoice,
    LicenseKey,
    LicenseKeyInstance,
    Payment,
    PaymentItem,
    Product,
    ProductCollection,
    Refund,
    Subscription,
)
from models.enums import DiscountDuration, DiscountType, PaymentPurpose, PriceType


def moment(value: Any) -> str | None:
    """A time as Dodo writes it (ISO 8601), or None."""
    return value.isoformat() if value else None


def _fetched(row: Model, name: str) -> bool:
    """Whether the query that loaded the row fetched its `name` relation (for the id it has now)."""
    value = getattr(row, name)
    return isinstance(value, Model) and value.pk == getattr(row, f"{name}_id")


async def _related(row: Model, name: str) -> Any:
    """The row's `name` relation, fetched unless the query that loaded the row already did."""
    if getattr(row, f"{name}_id") is None:
        return None
    if not _fetched(row, name):
        await row.fetch_related(name)
    return getattr(row, name)


async def _counts(model: type[Model], column: str, ids: Collection[str]) -> dict[str, int]:
    """How many rows of `model` point at each of the ids through `column` (absent: none), in one statement."""
    if not ids:
        return {}
    rows = model.filter(**{f"{column}__in": ids}).annotate(count=Count("id")).group_by(column)
    return {row[column]: row["count"] for row in await rows.values(column, "count")}


def customer_details(customer: Customer) -> dict[str, Any]:
    """Dodo's CustomerLimitedDetails, the customer inside a subscription, payment or refund."""
    return {
        "customer_id": customer.id,
        "email": customer.email,
        "name": customer.name,
        "phone_number": customer.phone_number or None,
        "metadata": customer.metadata,
    }


def billing_address(customer: Customer) -> dict[str, Any]:
    """Dodo's BillingAddress, from the customer's (the portal keeps one address per customer)."""
    street = ", ".join(line for line in (customer.billing_line1, customer.billing_line2) if line)
    return {
        "country": customer.billing_country or None,
        "city": customer.billing_city or None,
        "state": customer.billing_state or None,
        "street": street or None,
        "zipcode": customer.billing_postal_code or None,
    }


def customer_object(customer: Customer) -> dict[str, Any]:
    """Dodo's Customer, with the portal's own `billing_address`, `tax_id`, `locale` and `email_verified`."""
    return {
        **customer_details(customer),
        "business_id": customer.business_id,
        "created_at": moment(customer.created_at),
        # Dodo's locales are languages: `pt-BR` is `pt`.
        "preferred_locale": customer.locale.split("-")[0] or None,
        "email_verified": customer.email_verified,
        "billing_address": {
            "line1": customer.billing_line1,
            "line2": customer.billing_line2,
            "city": customer.billing_city,
            "state": customer.billing_state,
            "postal_code": customer.billing_postal_code,
            "country": customer.billing_country,
        },
        "tax_id": customer.tax_id,
        "locale": customer.locale,
    }


_CYCLES = {DiscountDuration.ONCE: 1, DiscountDuration.FOREVER: None}


_PRICE_TYPES = {
    PriceType.ONE_TIME: "one_time_price",
    PriceType.RECURRING: "recurring_price",
    PriceType.USAGE_BASED: "usage_based_price",
}


def _price(product: Product) -> dict[str, Any]:
    """Dodo's Price: one-time, recurring (with its trial) or usage-based (whose fixed part is the price)."""
    price: dict[str, Any] = {
        "type": _PRICE_TYPES[product.price_type],
        "currency": product.currency,
        "tax_inclusive": product.tax_inclusive,
        "discount": 0,
        "discount_bps": 0,
        "purchasing_power_parity": False,
    }
    if product.price_type == PriceType.ONE_TIME:
        return {**price, "price": product.price, "pay_what_you_want": False, "suggested_price": None}
    if product.price_type == PriceType.USAGE_BASED:
        # The portal sells no usage-based product (it does not meter usage), so there is no cycle to tell: the cycle
        # fields are null, which Dodo, always having one, never sends.
        cycle = ("payment_frequency_count", "payment_frequency_interval")
        term = ("subscription_period_count", "subscription_period_interval")
        return {**price, **dict.fromkeys((*cycle, *term)), "fixed_price": product.price, "meters": []}
    # What a subscription to it gets (models.Product: a product made without a cycle bills monthly for a year).
    (count, interval), (term_count, term_interval) = product.billing_cycle(), product.subscription_term()
    return {
        **price,
        "price": product.price,
        "payment_frequency_count": count,
        "payment_frequency_interval": str(interval),
        "subscription_period_count": term_count,
        "subscription_period_interval": str(term_interval),
        "trial_period_days": product.trial_period_days,
    }


def _license_key_duration(product: Product) -> dict[str, Any] | None:
    if product.license_key_duration_count is None or product.license_key_duration_interval is None:
        return None
    return {"count": product.license_key_duration_count, "interval": str(product.license_key_duration_interval)}


def product_object(product: Product) -> dict[str, Any]:
    """Dodo's Product, with the fields of its list item (`price` there is the amount; the price is `price_detail`)."""
    price = _price(product)
    return {
        "product_id": product.id,
        "business_id": product.business_id,
        "brand_id": product.business_id,
        "name": product.name,
        "description": product.description or None,
        "image": None,
        "is_recurring": product.price_type == PriceType.RECURRING,
        "price": price,
        "tax_category": str(product.tax_category),
        "license_key_enabled": product.license_key_enabled,
        "license_key_activations_limit": product.license_key_activations_limit,
        "license_key_duration": _license_key_duration(product),
        "license_key_activation_message": None,
        "product_collection_id": product.collection_id,
        "archived": product.archived,
        "metadata": product.metadata,
        "addons": [],
        "entitlements": [],
        "credit_entitlements": [],
        "digital_product_delivery": None,
        "pricing_mode": None,
        "created_at": moment(product.created_at),
        "updated_at": moment(product.updated_at),
    }


def product_list_item(product: Product) -> dict[str, Any]:
    """Dodo's ProductListResponse: the product with its price flattened (`price` the amount, `price_detail` the
    price object), as Dodo's list answers it."""
    whole = product_object(product)
    price = whole.pop("price")
    return {
        **whole,
        "price": product.price,
        "currency": product.currency,
        "tax_inclusive": product.tax_inclusive,
        "price_detail": price,
    }


def _collection_product(product: Product) -> dict[str, Any]:
    """Dodo's ProductCollectionProduct: a product in its group (the portal has no id for the membership but the
    product's; an archived product stays in but is inactive)."""
    return {
        "id": product.id,
        "product_id": product.id,
        "name": product.name,
        "description": product.description or None,
        "status": not product.archived,
        "is_recurring": product.price_type == PriceType.RECURRING,
        "price": product.price,
        "currency": product.currency,
        "tax_inclusive": product.tax_inclusive,
        "price_detail": _price(product),
        "tax_category": str(product.tax_category),
        "license_key_enabled": product.license_key_enabled,
        "addons_count": 0,
        "files_count": 0,
        "meters_count": 0,
        "has_credit_entitlements": False,
    }


async def product_collection_objects(collections: Sequence[ProductCollection]) -> list[dict[str, Any]]:
    """Dodo's ProductCollection for each collection (a list's page), in order; their products in one statement."""
    products: dict[str | None, list[Product]] = {collection.id: [] for collection in collections}
    if collections:
        for product in await Product.filter(collection_id__in=list(products)).order_by("collection_position", "id"):
            products[product.collection_id].append(product)
    return [_collection_json(collection, products[collection.id]) for collection in collections]


async def product_collection_object(collection: ProductCollection) -> dict[str, Any]:
    """Dodo's ProductCollection: one active, unnamed group (its id the collection's) of its products, lowest plan
    first; with `products_count`, the field of Dodo's list item."""
    [json] = await product_collection_objects([collection])
    return json


def _collection_json(collection: ProductCollection, products: list[Product]) -> dict[str, Any]:
    return {
        "id": collection.id,
        "brand_id": collection.business_id,
        "name": collection.name,
        "description": None,
        "image": None,
        "groups": [
            {
                "group_id": collection.id,
                "group_name": None,
                "status": True,
                "products": [_collection_product(product) for product in products],
            }
        ],
        "products_count": len(products),
        "effective_at_on_downgrade": None,
        "effective_at_on_upgrade": None,
        "on_payment_failure": None,
        "proration_billing_mode_on_downgrade": None,
        "proration_billing_mode_on_upgrade": None,
        "created_at": moment(collection.created_at),
        "updated_at": moment(collection.updated_at),
    }


async def discount_objects(discounts: Sequence[Discount]) -> list[dict[str, Any]]:
    """Dodo's Discount for each discount (a list's page), in order; their uses counted in one statement."""
    times_used = await _counts(Subscription, "discount_id", [discount.id for discount in discounts])
    return [_discount_json(discount, times_used.get(discount.id, 0)) for discount in discounts]


async def discount_object(discount: Discount) -> dict[str, Any]:
    """Dodo's Discount: open to any customer, for every product, without a usage limit or validity window, kept
    through plan changes; used as often as subscriptions carry it. A fixed one also has the portal's `currency`."""
    [json] = await discount_objects([discount])
    return json


def _discount_json(discount: Discount, times_used: int) -> dict[str, Any]:
    cycles = _CYCLES.get(discount.duration, discount.duration_cycles)
    return {
        "discount_id": discount.id,
        "business_id": discount.business_id,
        "code": discount.code,
        "name": discount.name or None,
        "type": "flat" if discount.type == DiscountType.FIXED else "percentage",
        "amount": discount.amount,
        "currency": discount.currency,
        "created_at": moment(discount.created_at),
        "metadata": {},
        "customer_eligibility": "any",
        "preserve_on_plan_change": True,
        "restricted_to": [],
        "times_used": times_used,
        "subscription_cycles": cycles,
        "usage_limit": None,
        "per_customer_usage_limit": None,
        "starts_at": None,
        "expires_at": None,
    }


def _discount_detail(discount: Discount, times_used: int, cycles_remaining: int | None) -> dict[str, Any]:
    """Dodo's DiscountDetail: a subscription's one discount with the renewals it has left."""
    return {
        **_discount_json(discount, times_used),
        "position": 0,
        "cycles_remaining": cycles_remaining,
        "discount_cycles_remaining": cycles_remaining,
    }


def _scheduled_change(change: dict[str, Any] | None, subscription: Subscription) -> dict[str, Any] | None:
    if not change:
        return None
    return {
        "id": subscription.id,
        "product_id": change["product_id"],
        "quantity": change["quantity"],
        "effective_at": change["effective_at"],
        "created_at": change.get("created_at") or moment(subscription.updated_at),
        "addons": [],
    }


async def subscription_objects(subscriptions: Sequence[Subscription]) -> list[dict[str, Any]]:
    """Dodo's Subscription for each subscription (a list's page, its customers and discounts already fetched), in
    order; their discounts' uses counted in one statement."""
    discounts: dict[str, Discount | None] = {row.id: await _related(row, "discount") for row in subscriptions}
    times_used = await _counts(Subscription, "discount_id", {row.id for row in discounts.values() if row is not None})
    return [
        _subscription_json(row, await _related(row, "customer"), discounts[row.id], times_used) for row in subscriptions
    ]


async def subscription_object(subscription: Subscription) -> dict[str, Any]:
    """Dodo's Subscription (also its list item and its webhook payload)."""
    [json] = await subscription_objects([subscription])
    return json


def _subscription_json(
    subscription: Subscription, customer: Customer, discount: Discount | None, times_used: dict[str, int]
) -> dict[str, Any]:
    cycles = subscription.discount_cycles_remaining
    return {
        "subscription_id": subscription.id,
        "business_id": subscription.business_id,
        "brand_id": subscription.business_id,
        "customer": customer_details(customer),
        "billing": billing_address(customer),
        "product_id": subscription.product_id,
        "status": str(subscription.status),
        "quantity": subscription.quantity,
        "recurring_pre_tax_amount": subscription.recurring_pre_tax_amount,
        "currency": subscription.currency,
        "tax_inclusive": subscription.tax_inclusive,
        "tax_id": customer.tax_id or None,
        "created_at": moment(subscription.created_at),
        "previous_billing_date": moment(subscription.previous_billing_date),
        "next_billing_date": moment(subscription.next_billing_date),
        "cancel_at_next_billing_date": subscription.cancel_at_next_billing_date,
        "payment_frequency_count": subscription.payment_frequency_count,
        "payment_frequency_interval": str(subscription.payment_frequency_interval),
        "subscription_period_count": subscription.subscription_period_count,
        "subscription_period_interval": str(subscription.subscription_period_interval),
        "trial_period_days": subscription.trial_period_days,
        "cancelled_at": moment(subscription.cancelled_at),
        "expires_at": moment(subscription.expires_at),
        "discount_id": subscription.discount_id,
        "discount_cycles_remaining": cycles,
        "discounts": [_discount_detail(discount, times_used.get(discount.id, 0), cycles)] if discount else [],
        "payment_method_id": subscription.payment_method_id,
        "has_payment_method": subscription.payment_method_id is not None,
        "scheduled_change": _scheduled_change(subscription.scheduled_change, subscription),
        "cancellation_feedback": subscription.cancellation_feedback and str(subscription.cancellation_feedback),
        "cancellation_comment": subscription.cancellation_comment,
        "metadata": subscription.metadata,
        "on_demand": False,
        "addons": [],
        "meters": [],
        "credit_entitlement_cart": [],
        "meter_credit_entitlement_cart": [],
    }


def _refund_item(refund: Refund, payment: Payment) -> dict[str, Any]:
    """Dodo's RefundListItem: a refund without its customer."""
    return {
        "refund_id": refund.id,
        "payment_id": refund.payment_id,
        "business_id": refund.business_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "is_partial": refund.amount < payment.total_amount,
        "status": str(refund.status),
        "reason": refund.reason or None,
        "credit_note_number": refund.credit_note_number,
        "created_at": moment(refund.created_at),
    }


async def refund_object(refund: Refund) -> dict[str, Any]:
    """Dodo's Refund (also its list item and its webhook payload), with its credit note's number."""
    payment: Payment = await _related(refund, "payment")
    customer: Customer = await _related(refund, "customer")
    return {
        **_refund_item(refund, payment),
        "brand_id": refund.business_id,
        "customer": customer_details(customer),
        "metadata": {},
    }


_CHARGE_TYPES = {
    PaymentPurpose.SUBSCRIPTION_CREATE: "new",
    PaymentPurpose.PURCHASE: "new",
    PaymentPurpose.RENEWAL: "renewal",
    PaymentPurpose.REACTIVATION: "renewal",
    PaymentPurpose.PLAN_CHANGE: "plan_change",
}


async def product_carts(payments: Sequence[Payment]) -> dict[str, list[dict[str, Any]]]:
    """What each payment bought, as Dodo's `product_cart`, by payment id: its items, or else its subscription's plan;
    two statements at most, whatever the number of payments."""
    items = PaymentItem.filter(payment_id__in=[payment.id for payment in payments]).order_by("id")
    carts: dict[str, list[dict[str, Any]]] = {payment.id: [] for payment in payments}
    for item in await items.values("payment_id", "product_id", "quantity"):
        carts[item.pop("payment_id")].append(item)
    plan_ids = {payment.subscription_id for payment in payments if not carts[payment.id] and payment.subscription_id}
    if plan_ids:
        plans = await Subscription.filter(id__in=plan_ids).values("id", "product_id", "quantity")
        by_id = {plan.pop("id"): plan for plan in plans}
        for payment in payments:
            if not carts[payment.id] and payment.subscription_id in by_id:
                carts[payment.id] = [dict(by_id[payment.subscription_id])]
    return carts


async def product_cart(payment: Payment) -> list[dict[str, Any]]:
    """What the payment bought, as Dodo's `product_cart`."""
    return (await product_carts([payment]))[payment.id]


async def _customers(rows: Sequence[Payment]) -> dict[str, Customer]:
    """The rows' customers by id: those the query already fetched, and the others in one statement."""
    loaded = {row.customer_id: row.customer for row in rows if _fetched(row, "customer")}
    missing = {row.customer_id for row in rows} - loaded.keys()
    if missing:
        loaded.update({customer.id: customer for customer in await Customer.filter(id__in=missing)})
    return loaded


async def payment_objects(payments: Sequence[Payment]) -> list[dict[str, Any]]:
    """Dodo's Payment for each payment (a list's page), in order: their customers, refunds, invoices, carts and
    license keys are loaded in one statement each, whatever the number of payments."""
    if not payments:
        return []
    ids = [payment.id for payment in payments]
    customers = await _customers(payments)
    refunds: dict[str, list[Refund]] = {payment_id: [] for payment_id in ids}
    for refund in await Refund.filter(payment_id__in=ids).order_by("-created_at", "-id"):
        refunds[refund.payment_id].append(refund)
    invoice_ids = dict(await Invoice.filter(payment_id__in=ids).values_list("payment_id", "id"))
    carts = await product_carts(payments)
    licensed = {key["payment_id"] for key in await LicenseKey.filter(payment_id__in=ids).values("payment_id")}
    return [
        _payment_json(
            payment,
            customers[payment.customer_id],
            refunds[payment.id],
            invoice_ids.get(payment.id),
            carts[payment.id],
            payment.id in licensed,
        )
        for payment in payments
    ]


async def payment_object(payment: Payment) -> dict[str, Any]:
    """Dodo's Payment (also its list item and its webhook payload), with its refunds and invoice."""
    [json] = await payment_objects([payment])
    return json


def _payment_json(
    payment: Payment,
    customer: Customer,
    refunds: list[Refund],
    invoice_id: str | None,
    cart: list[dict[str, Any]],
    has_license_key: bool,
) -> dict[str, Any]:
    refunded = sum(refund.amount for refund in refunds if str(refund.status) == "succeeded")
    return {
        "payment_id": payment.id,
        "business_id": payment.business_id,
        "brand_id": payment.business_id,
        "customer": customer_details(customer),
        "billing": billing_address(customer),
        "subscription_id": payment.subscription_id,
        "subscription_ids": [payment.subscription_id] if payment.subscription_id else [],
        "product_cart": cart,
        "is_multi_subscription": False,
        "charge_type": _CHARGE_TYPES.get(payment.purpose),
        "total_amount": payment.total_amount,
        "tax": payment.tax,
        "currency": payment.currency,
        "settlement_amount": payment.total_amount,
        "settlement_tax": payment.tax,
        "settlement_currency": payment.currency,
        "status": str(payment.status),
        "payment_provider": "dodo",
        "payment_method": "card" if payment.card_network else None,
        "payment_method_type": "card" if payment.card_network else None,
        "payment_method_id": payment.payment_method_id,
        "card_last_four": payment.card_last_four or None,
        "card_network": payment.card_network or None,
        "error_code": payment.error_code,
        "error_message": payment.error_message,
        "payment_link": payment.next_action_url or None,
        "invoice_id": invoice_id,
        "refunds": [_refund_item(refund, payment) for refund in refunds],
        "refund_status": ("full" if refunded >= payment.total_amount else "partial") if refunded else None,
        "has_license_key": has_license_key,
        "disputes": [],
        "service_periods": [],
        "retry_attempt": 0,
        "digital_products_delivered": False,
        "includes_usage": False,
        "is_update_payment_method": False,
        "metadata": {},
        "created_at": moment(payment.created_at),
        "updated_at": moment(payment.updated_at),
    }


def dispute_object(payment: Payment, dispute_id: str, amount: int, currency: str, reason: str) -> dict[str, Any]:
    """Dodo's Dispute, for a dispute the processor announced (the id is the processor's; Dodo writes the amount as a
    string)."""
    return {
        "dispute_id": dispute_id,
        "payment_id": payment.id,
        "business_id": payment.business_id,
        "amount": str(amount),
        "currency": currency,
        "dispute_stage": "dispute",
        "dispute_status": "dispute_opened",
        "remarks": reason or None,
        "created_at": moment(payment.disputed_at),
    }


async def license_key_objects(license_keys: Sequence[LicenseKey]) -> list[dict[str, Any]]:
    """Dodo's LicenseKey for each key (a list's page), in order; their instances counted in one statement."""
    instances_count = await _counts(LicenseKeyInstance, "license_key_id", [key.id for key in license_keys])
    return [_license_key_json(key, instances_count.get(key.id, 0)) for key in license_keys]


async def license_key_object(license_key: LicenseKey) -> dict[str, Any]:
    """Dodo's LicenseKey (also its webhook payload); every key is issued by a purchase (`source: auto`)."""
    [json] = await license_key_objects([license_key])
    return json


def _license_key_json(license_key: LicenseKey, instances_count: int) -> dict[str, Any]:
    return {
        "id": license_key.id,
        "business_id": license_key.business_id,
        "brand_id": license_key.business_id,
        "customer_id": license_key.customer_id,
        "product_id": license_key.product_id,
        "payment_id": license_key.payment_id,
        "subscription_id": license_key.subscription_id,
        "key": license_key.key,
        "status": str(license_key.status),
        "source": "auto",
        "activations_limit": license_key.activations_limit,
        "instances_count": instances_count,
        "expires_at": moment(license_key.expires_at),
        "created_at": moment(license_key.created_at),
    }


def license_key_instance_object(instance: LicenseKeyInstance, business_id: str) -> dict[str, Any]:
    """Dodo's LicenseKeyInstance: a device a key was activated on."""
    return {
        "id": instance.id,
        "business_id": business_id,
        "license_key_id": instance.license_key_id,
        "name": instance.name,
        "created_at": moment(instance.created_at),
    }

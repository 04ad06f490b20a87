"""Products a business sells, as its API creates and changes them: the price and its billing cycle, the trial, the
license key settings, and archiving (an archived product stays with the subscriptions and purchases that have it,
but billing.plan_changes no longer offers it to anyone else).

Create and update check the whole product as it would be before anything is written. A price change leaves
existing subscriptions alone: each keeps the amount it was sold at. The price type never changes, because the
subscriptions and purchases of a product depend on it.
"""

from collections.abc import Mapping

from tortoise.queryset import QuerySet

from core.inputs import MAX_TRIAL_DAYS, metadata_problem
from merchants import inputs
from merchants.inputs import MerchantInputError
from models import Product
from models.base import Columns
from models.enums import Interval, PriceType, TaxCategory
from models.ids import find_by_client_id

MAX_PRICE = 10**12
MAX_CYCLE_COUNT = 1000
MAX_ACTIVATIONS = 100_000
DESCRIPTION_LIMIT = 5000

_CYCLE_FIELDS = (
    "payment_frequency_count",
    "payment_frequency_interval",
    "subscription_period_count",
    "subscription_period_interval",
)
FIELDS = frozenset(
    {
        "name",
        "description",
        "price_type",
        "price",
        "currency",
        "tax_inclusive",
        *_CYCLE_FIELDS,
        "trial_period_days",
        "license_key_enabled",
        "license_key_activations_limit",
        "license_key_duration_count",
        "license_key_duration_interval",
        "tax_category",
        "metadata",
    }
)


def products_of(business_id: str, livemode: bool) -> QuerySet[Product]:
    return Product.filter(business_id=business_id, livemode=livemode)


async def find_product(business_id: str, livemode: bool, product_id: object) -> Product | None:
    return await find_by_client_id(products_of(business_id, livemode), product_id)


def _cycle(price_type: PriceType, merged: Mapping[str, object]) -> dict[str, object]:
    if price_type != PriceType.RECURRING:
        for field in _CYCLE_FIELDS:
            inputs.not_given(field, merged.get(field), "applies to recurring prices only")
        if merged.get("trial_period_days") not in (None, 0):
            raise MerchantInputError("trial period days applies to recurring prices only", "trial_period_days")
        return {**dict.fromkeys(_CYCLE_FIELDS), "trial_period_days": 0}
    return {
        "payment_frequency_count": inputs.integer(
            "payment_frequency_count", merged.get("payment_frequency_count"), 1, MAX_CYCLE_COUNT
        ),
        "payment_frequency_interval": inputs.choice(
            "payment_frequency_interval", merged.get("payment_frequency_interval"), Interval
        ),
        "subscription_period_count": inputs.integer(
            "subscription_period_count", merged.get("subscription_period_count"), 1, MAX_CYCLE_COUNT
        ),
        "subscription_period_interval": inputs.choice(
            "subscription_period_interval", merged.get("subscription_period_interval"), Interval
        ),
        "trial_period_days": inputs.integer("trial_period_days", merged.get("trial_period_days", 0), 0, MAX_TRIAL_DAYS),
    }


def _license_keys(merged: Mapping[str, object]) -> dict[str, object]:
    limit = merged.get("license_key_activations_limit")
    count, interval = merged.get("license_key_duration_count"), merged.get("license_key_duration_interval")
    if (count is None) != (interval is None):
        message = "license key duration needs both a count and an interval, or neither (keys that never expire)"
        blamed = "license_key_duration_count" if count is None else "license_key_duration_interval"
        raise MerchantInputError(message, blamed)
    return {
        "license_key_enabled": inputs.flag("license_key_enabled", merged.get("license_key_enabled", False)),
        "license_key_activations_limit": None
        if limit is None
        else inputs.integer("license_key_activations_limit", limit, 1, MAX_ACTIVATIONS),
        "license_key_duration_count": None
        if count is None
        else inputs.integer("license_key_duration_count", count, 1, MAX_CYCLE_COUNT),
        "license_key_duration_interval": None
        if interval is None
        else inputs.choice("license_key_duration_interval", interval, Interval),
    }


def _metadata(value: object) -> dict[str, str]:
    """The merchant's own flat object of text (core.inputs.metadata_problem), none by default."""
    if value is None:
        return {}
    # metadata_problem refuses every value but a dict; the isinstance says so to the type checker.
    if (problem := metadata_problem(value)) or not isinstance(value, dict):
        raise MerchantInputError(problem, "metadata")
    return dict(value)


def _checked(given: Mapping[str, object], current: Mapping[str, object]) -> Columns:
    """The whole product as `given` over `current` would make it, normalised; the first bad value raises."""
    unknown = sorted(set(given) - FIELDS)
    if unknown:
        raise MerchantInputError(f"a product has no field {unknown[0]}", unknown[0])
    merged = {**current, **given}
    price_type = inputs.choice("price_type", merged.get("price_type"), PriceType)
    return {
        "name": inputs.text("name", merged.get("name"), 200, required=True),
        "description": inputs.text("description", merged.get("description", ""), DESCRIPTION_LIMIT, multiline=True),
        "price_type": price_type,
        "price": inputs.integer("price", merged.get("price"), 0, MAX_PRICE),
        "currency": inputs.currency("currency", merged.get("currency")),
        "tax_inclusive": inputs.flag("tax_inclusive", merged.get("tax_inclusive", False)),
        **_cycle(price_type, merged),
        **_license_keys(merged),
        "tax_category": inputs.choice(
            "tax_category", merged.get("tax_category", TaxCategory.DIGITAL_PRODUCTS), TaxCategory
        ),
        "metadata": _metadata(merged.get("metadata")),
    }


async def create_product(business_id: str, livemode: bool, values: Mapping[str, object]) -> Product:
    return await Product.create(business_id=business_id, livemode=livemode, **_checked(values, {}))


async def update_product(product: Product, values: Mapping[str, object]) -> Product:
    """Change the given fields; a product in a collection keeps its currency (its collection shares one)."""
    current = {field: getattr(product, field) for field in FIELDS}
    if "price_type" in values and values["price_type"] != product.price_type:
        raise MerchantInputError("the price type of a product cannot change; create a new product", "price_type")
    checked = _checked(values, current)
    if product.collection_id is not None and checked["currency"] != product.currency:
        message = "a product in a collection keeps its currency; remove it from the collection first"
        raise MerchantInputError(message, "currency")
    changed = {field: value for field, value in checked.items() if value != current[field]}
    if changed:
        product.update_from_dict(changed)
        await product.save(update_fields=[*changed, "updated_at"])
    return product


async def set_archived(product: Product, archived: bool) -> Product:
    """Archive or unarchive; doing it twice changes nothing more."""
    if product.archived != archived:
        product.archived = archived
        await product.save(update_fields=["archived", "updated_at"])
    return product

"""Portal configurations: which one a session follows and what its features allow, and how a business's API
creates, changes and lists them.

A session opened from a merchant's link may name a configuration; every other session (and the unified portal,
which acts inside each subscription's business) follows the business's default configuration for the mode. A
business without one gets the defaults of `models.business.default_portal_features`.

`features` is checked against the shape of those defaults: every block and setting that billing (cancellation,
plan_changes, pauses, payment_methods) and access.profile read, with the values they understand, so a configuration
that passed the check never surprises them. Exactly one configuration per business and mode is the default: making
one the default clears the others in the same transaction, under a row lock on the business's configurations, and
the default cannot be un-defaulted (another one is made the default instead). Uses merchants.discounts for the
retention coupon.

A merchant acting through the API follows `merchant_features`: the business's switches and its configurations govern
what CUSTOMERS may do, not what the business itself does to its subscriptions.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from merchants import inputs
from merchants.discounts import find_discount
from merchants.inputs import MerchantInputError
from models import PortalConfiguration
from models.base import Columns
from models.business import default_portal_features
from models.enums import CancellationFeedback
from models.ids import find_by_client_id

MAX_QUANTITY = 10_000
MAX_PAUSE_CYCLES = 12


class CancelMode(StrEnum):
    AT_PERIOD_END = "at_period_end"
    IMMEDIATELY = "immediately"


class CancelProrationBehavior(StrEnum):
    """What an immediate cancellation does with the unused time: nothing, or a credit for the customer."""

    NONE = "none"
    CREDIT = "credit"


class PlanChangeProration(StrEnum):
    """The proration modes a merchant may choose (billing.proration.ProrationMode, less its internal one)."""

    PRORATED_IMMEDIATELY = "prorated_immediately"
    FULL_IMMEDIATELY = "full_immediately"
    DIFFERENCE_IMMEDIATELY = "difference_immediately"


class PaymentFailureBehavior(StrEnum):
    PREVENT_CHANGE = "prevent_change"
    APPLY_CHANGE = "apply_change"


class SubscriptionUpdateKind(StrEnum):
    PRICE = "price"
    QUANTITY = "quantity"


class CustomerUpdateField(StrEnum):
    """The vocabulary of `customer_update.allowed_updates` (access.profile.ProfileField, less the language)."""

    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    ADDRESS = "address"
    TAX_ID = "tax_id"


Rule = Callable[[str, object], object]


def _one_of(kind: type[StrEnum]) -> Rule:
    return lambda path, value: str(inputs.choice(path, value, kind))


def _list_of(kind: type[StrEnum]) -> Rule:
    def check(path: str, value: object) -> list[str]:
        if not isinstance(value, list):
            raise MerchantInputError(f"{inputs.label(path)} must be a list", path)
        items = [str(inputs.choice(path, item, kind)) for item in value]
        if len(set(items)) != len(items):
            raise MerchantInputError(f"{inputs.label(path)} must not repeat a value", path)
        return items

    return check


def _count(minimum: int, maximum: int) -> Rule:
    return lambda path, value: inputs.integer(path, value, minimum, maximum)


def _optional_id(path: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MerchantInputError(f"{inputs.label(path)} must be an id or null", path)
    return value or None


FEATURE_RULES: dict = {
    "invoice_history": {"enabled": inputs.flag},
    "payment_method_update": {"enabled": inputs.flag},
    "subscription_cancel": {
        "enabled": inputs.flag,
        "mode": _one_of(CancelMode),
        "cancellation_reason": {"enabled": inputs.flag, "options": _list_of(CancellationFeedback)},
        "retention_coupon_id": _optional_id,
        "proration_behavior": _one_of(CancelProrationBehavior),
    },
    "subscription_update": {
        "enabled": inputs.flag,
        "proration_billing_mode": _one_of(PlanChangeProration),
        "downgrade_at_period_end": inputs.flag,
        "default_allowed_updates": _list_of(SubscriptionUpdateKind),
        "quantity": {"minimum": _count(1, MAX_QUANTITY), "maximum": _count(1, MAX_QUANTITY)},
        "payment_failure_behavior": _one_of(PaymentFailureBehavior),
    },
    "subscription_pause": {
        "enabled": inputs.flag,
        "max_cycles": _count(1, MAX_PAUSE_CYCLES),
        "keep_license_keys_active": inputs.flag,
    },
    "customer_update": {"enabled": inputs.flag, "allowed_updates": _list_of(CustomerUpdateField)},
}


@dataclass(frozen=True)
class PortalFeatures:
    features: dict
    # The business itself acting (merchant API): not bound by `allow_subscription_*` nor by the features' switches.
    merchant: bool = False

    def enabled(self, feature: str) -> bool:
        return bool(self.features.get(feature, {}).get("enabled", False))

    @property
    def payment_method_update(self) -> bool:
        return self.enabled("payment_method_update")


def merged(base: Mapping, changes: Mapping) -> dict:
    """`base` with `changes` laid over it, block by block (a block in `changes` need not be complete)."""
    result = dict(base)
    for key, value in changes.items():
        inner = result.get(key)
        result[key] = merged(inner, value) if isinstance(inner, Mapping) and isinstance(value, Mapping) else value
    return result


def features_of(configuration: PortalConfiguration) -> dict:
    """Its features, with the defaults filling in what an older configuration does not store."""
    return merged(default_portal_features(), configuration.features)


async def portal_features(business_id: str, livemode: bool, configuration_id: str | None = None) -> PortalFeatures:
    """The features of the named configuration if it is the business's, else of the business's default."""
    scope = configurations_of(business_id, livemode)
    configuration = await scope.get_or_none(id=configuration_id) if configuration_id else None
    if configuration is None:
        configuration = await scope.filter(is_default=True).order_by("-created_at").first()
    return PortalFeatures(features_of(configuration) if configuration else default_portal_features())


def configurations_of(business_id: str, livemode: bool) -> QuerySet[PortalConfiguration]:
    return PortalConfiguration.filter(business_id=business_id, livemode=livemode)


async def find_configuration(business_id: str, livemode: bool, configuration_id: object) -> PortalConfiguration | None:
    return await find_by_client_id(configurations_of(business_id, livemode), configuration_id)


def _validated(rules: Mapping, value: object, path: str) -> dict:
    if not isinstance(value, Mapping):
        raise MerchantInputError(f"{inputs.label(path)} must be an object", path)
    unknown = sorted(set(value) - set(rules))
    if unknown:
        raise MerchantInputError(f"{path}.{unknown[0]} is not a portal feature setting", f"{path}.{unknown[0]}")
    return {key: _checked_setting(rule, value[key], f"{path}.{key}") for key, rule in rules.items()}


def _checked_setting(rule: Mapping | Rule, value: object, path: str) -> object:
    return _validated(rule, value, path) if isinstance(rule, Mapping) else rule(path, value)


async def checked_features(business_id: str, livemode: bool, changes: Mapping, current: Mapping) -> dict:
    """The complete features `changes` laid over `current` make, once every setting is one billing understands."""
    features = _validated(FEATURE_RULES, merged(merged(default_portal_features(), current), changes), "features")
    quantity = features["subscription_update"]["quantity"]
    if quantity["minimum"] > quantity["maximum"]:
        path = "features.subscription_update.quantity.minimum"
        raise MerchantInputError("the minimum quantity must not exceed the maximum", path)
    coupon_id = features["subscription_cancel"]["retention_coupon_id"]
    if coupon_id and await find_discount(business_id, livemode, coupon_id) is None:
        path = "features.subscription_cancel.retention_coupon_id"
        raise MerchantInputError(f"no discount has the id {coupon_id}", path, code="NOT_FOUND")
    return features


_TEXTS = {"name": 200, "headline": 300}
_URLS = ("privacy_policy_url", "terms_of_service_url", "default_return_url")
FIELDS = frozenset({*_TEXTS, *_URLS, "features", "is_default"})


async def _checked(business_id: str, livemode: bool, given: Mapping[str, object], current_features: Mapping) -> Columns:
    checked: Columns = {}
    for field, value in given.items():
        if field in _TEXTS:
            checked[field] = inputs.text(field, value, _TEXTS[field])
        elif field in _URLS:
            checked[field] = inputs.web_url(field, value, local_http=True)
        elif field == "is_default":
            checked[field] = inputs.flag(field, value)
        elif field == "features":
            changes = inputs.present(field, value)
            if not isinstance(changes, Mapping):
                raise MerchantInputError(f"{inputs.label(field)} must be an object", field)
            checked[field] = await checked_features(business_id, livemode, changes, current_features)
        else:
            raise MerchantInputError(f"a portal configuration has no field {field}", field)
    return checked


async def _lock_configurations(business_id: str, livemode: bool) -> list[PortalConfiguration]:
    """Lock the business's configurations in this mode until the transaction ends, so default changes queue."""
    return await configurations_of(business_id, livemode).select_for_update()


async def _clear_defaults(business_id: str, livemode: bool) -> None:
    await configurations_of(business_id, livemode).filter(is_default=True).update(is_default=False)


async def create_configuration(business_id: str, livemode: bool, values: Mapping[str, object]) -> PortalConfiguration:
    """A new configuration; it becomes the default when asked, or when the business has none in this mode."""
    checked = await _checked(business_id, livemode, values, {})
    checked.setdefault("features", default_portal_features())
    wants_default = bool(checked.pop("is_default", False))
    async with in_transaction():
        existing = await _lock_configurations(business_id, livemode)
        is_default = wants_default or not any(configuration.is_default for configuration in existing)
        if is_default:
            await _clear_defaults(business_id, livemode)
        return await PortalConfiguration.create(
            business_id=business_id, livemode=livemode, is_default=is_default, **checked
        )


async def update_configuration(configuration: PortalConfiguration, values: Mapping[str, object]) -> PortalConfiguration:
    """Change the given fields; `is_default: true` makes it the default in place of the current one."""
    business_id, livemode = configuration.business_id, configuration.livemode
    checked = await _checked(business_id, livemode, values, features_of(configuration))
    wants_default = checked.pop("is_default", None)
    async with in_transaction():
        await _lock_configurations(business_id, livemode)
        await configuration.refresh_from_db(fields=["is_default"])
        if wants_default is False and configuration.is_default:
            message = "a business always has a default configuration; make another one the default instead"
            raise MerchantInputError(message, "is_default", code="DEFAULT_REQUIRED")
        if wants_default and not configuration.is_default:
            await _clear_defaults(business_id, livemode)
            checked["is_default"] = True
        if checked:
            configuration.update_from_dict(checked)
            await configuration.save(update_fields=list(checked))
    return configuration


def merchant_features(
    proration_billing_mode: str = "prorated_immediately", effective_at: str = "immediately"
) -> PortalFeatures:
    """What the merchant API may do: every feature on, cancelling now or at the period end with any of the reasons,
    any quantity up to MAX_QUANTITY, plan changes billed and timed as the merchant asks, nothing offered in return."""
    features = default_portal_features()
    features["subscription_cancel"] |= {"mode": "immediately", "retention_coupon_id": None}
    features["subscription_update"] |= {
        "proration_billing_mode": proration_billing_mode,
        "downgrade_at_period_end": False,
        "effective_at": effective_at,
        "quantity": {"minimum": 1, "maximum": MAX_QUANTITY},
    }
    features["subscription_pause"]["enabled"] = True
    return PortalFeatures(features, merchant=True)

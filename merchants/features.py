"""The portal features: what a business's portal configuration lets its customers do, block by block (Stripe's
feature blocks), as frozen dataclasses whose field defaults are the defaults, stated here and nowhere else.

A configuration stores its blocks as JSON (`PortalConfiguration.features`). `parse_features` reads that JSON, or a
merchant's changes laid over it (`changed_features`), into `PortalFeatures`: a block or setting left out takes its
default, and an unknown key or a value of the wrong kind is refused with a MerchantInputError naming its path
(`features.subscription_update.proration_billing_mode`). Billing and access read attributes of the result
(`features.subscription_update.proration_billing_mode`), never keys. `stored_features` writes the JSON back.

The business itself, acting through the merchant API, follows `merchant_features`: its switches and configurations
govern what its customers may do, not what it does to its own subscriptions.
"""

from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from enum import StrEnum
from types import NoneType, UnionType
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from merchants import inputs
from merchants.inputs import MerchantInputError
from models.enums import CancellationFeedback

MAX_QUANTITY = 10_000
MAX_PAUSE_CYCLES = 12
MAX_PAYMENT_RETRIES = 5
# A failed renewal is retried within this many days of its due date, or not at all.
MAX_RETRY_DAY = 30


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


class EffectiveAt(StrEnum):
    """When a plan change applies: now, or at the next billing date for every change (Dodo's `effective_at`)."""

    IMMEDIATELY = "immediately"
    NEXT_BILLING_DATE = "next_billing_date"


class PaymentFailureBehavior(StrEnum):
    PREVENT_CHANGE = "prevent_change"
    APPLY_CHANGE = "apply_change"


class SubscriptionUpdateKind(StrEnum):
    PRICE = "price"
    QUANTITY = "quantity"


class ProfileField(StrEnum):
    """What a customer may change about themselves; the values are how `customer_update.allowed_updates` stores
    them."""

    NAME = "name"
    EMAIL = "email"
    PHONE_NUMBER = "phone"
    BILLING_ADDRESS = "address"
    TAX_ID = "tax_id"
    LOCALE = "locale"


# The language is the customer's own choice of how the portal speaks to them, never a business's to withhold.
BUSINESS_CONTROLLED_FIELDS = tuple(member for member in ProfileField if member != ProfileField.LOCALE)

# A field that is no setting: never read from the stored JSON nor written to it.
_NOT_STORED = {"stored": False}


def _count(default: int, maximum: int) -> Any:
    """A setting counting from 1 to `maximum`."""
    return field(default=default, metadata={"bounds": (1, maximum)})


@dataclass(frozen=True)
class _Block:
    """A block of settings; `check` refuses a combination of valid settings that cannot work together."""

    def check(self, path: str) -> None:
        return None


B = TypeVar("B", bound=_Block)


@dataclass(frozen=True)
class FeatureSwitch(_Block):
    enabled: bool = True


@dataclass(frozen=True)
class CancellationReasons(_Block):
    enabled: bool = True
    options: tuple[CancellationFeedback, ...] = tuple(CancellationFeedback)

    @property
    def offered(self) -> tuple[CancellationFeedback, ...]:
        return self.options if self.enabled else ()


@dataclass(frozen=True)
class SubscriptionCancel(_Block):
    enabled: bool = True
    mode: CancelMode = CancelMode.AT_PERIOD_END
    cancellation_reason: CancellationReasons = CancellationReasons()
    # A discount of the business and mode, offered once before a customer cancels.
    retention_coupon_id: str | None = None
    proration_behavior: CancelProrationBehavior = CancelProrationBehavior.NONE


@dataclass(frozen=True)
class QuantityLimits(_Block):
    minimum: int = _count(1, MAX_QUANTITY)
    maximum: int = _count(100, MAX_QUANTITY)

    def allows(self, quantity: int) -> bool:
        return self.minimum <= quantity <= self.maximum

    def check(self, path: str) -> None:
        if self.minimum > self.maximum:
            raise MerchantInputError("the minimum quantity must not exceed the maximum", f"{path}.minimum")


@dataclass(frozen=True)
class SubscriptionUpdate(_Block):
    # On, so that the business's own switch (allow_subscription_updates, off by default) decides; a configuration
    # can still turn plan changes off for the sessions that use it.
    enabled: bool = True
    proration_billing_mode: PlanChangeProration = PlanChangeProration.PRORATED_IMMEDIATELY
    downgrade_at_period_end: bool = True
    default_allowed_updates: tuple[SubscriptionUpdateKind, ...] = tuple(SubscriptionUpdateKind)
    quantity: QuantityLimits = QuantityLimits()
    # APPLY_CHANGE: an upgrade whose charge fails is applied anyway and the subscription goes on hold.
    payment_failure_behavior: PaymentFailureBehavior = PaymentFailureBehavior.PREVENT_CHANGE
    # The merchant names it for each change it makes; a customer's change applies now (a downgrade at the period
    # end when `downgrade_at_period_end`).
    effective_at: EffectiveAt = field(default=EffectiveAt.IMMEDIATELY, metadata=_NOT_STORED)


@dataclass(frozen=True)
class SubscriptionPause(_Block):
    enabled: bool = False
    max_cycles: int = _count(3, MAX_PAUSE_CYCLES)
    keep_license_keys_active: bool = True


@dataclass(frozen=True)
class PaymentRetry(_Block):
    """Dunning: the days after its due date on which a failed renewal is charged again before the subscription
    goes on hold; none puts it on hold at the first failure."""

    retry_after_days: tuple[int, ...] = field(
        default=(1, 3, 7), metadata={"bounds": (1, MAX_RETRY_DAY), "max_items": MAX_PAYMENT_RETRIES}
    )

    def check(self, path: str) -> None:
        days = self.retry_after_days
        if any(later <= earlier for earlier, later in zip(days, days[1:], strict=False)):
            raise MerchantInputError("the retry days must go up, each after the one before", f"{path}.retry_after_days")


@dataclass(frozen=True)
class CustomerUpdate(_Block):
    enabled: bool = True
    allowed_updates: tuple[ProfileField, ...] = field(
        default=BUSINESS_CONTROLLED_FIELDS, metadata={"choices": BUSINESS_CONTROLLED_FIELDS}
    )


@dataclass(frozen=True)
class PortalFeatures(_Block):
    invoice_history: FeatureSwitch = FeatureSwitch()
    payment_method_update: FeatureSwitch = FeatureSwitch()
    subscription_cancel: SubscriptionCancel = SubscriptionCancel()
    subscription_update: SubscriptionUpdate = SubscriptionUpdate()
    subscription_pause: SubscriptionPause = SubscriptionPause()
    customer_update: CustomerUpdate = CustomerUpdate()
    payment_retry: PaymentRetry = PaymentRetry()
    # The business itself acting (merchant API): not bound by `allow_subscription_*` nor by the features' switches.
    merchant: bool = field(default=False, metadata=_NOT_STORED)


def merchant_features(
    proration: PlanChangeProration = PlanChangeProration.PRORATED_IMMEDIATELY,
    effective_at: EffectiveAt = EffectiveAt.IMMEDIATELY,
) -> PortalFeatures:
    """What the merchant API may do: every feature on, cancelling now or at the period end with any of the reasons,
    any quantity up to MAX_QUANTITY, plan changes billed and timed as the merchant asks, nothing offered in return."""
    return PortalFeatures(
        subscription_cancel=SubscriptionCancel(mode=CancelMode.IMMEDIATELY),
        subscription_update=SubscriptionUpdate(
            proration_billing_mode=proration,
            downgrade_at_period_end=False,
            quantity=QuantityLimits(minimum=1, maximum=MAX_QUANTITY),
            effective_at=effective_at,
        ),
        subscription_pause=SubscriptionPause(enabled=True),
        merchant=True,
    )


def parse_features(stored: object, path: str = "features") -> PortalFeatures:
    """The features a configuration's JSON describes, the defaults filling in what it leaves out; raises
    MerchantInputError naming the path of the first unknown key or bad value."""
    return _block(PortalFeatures, stored, path)


def changed_features(features: PortalFeatures, changes: object) -> PortalFeatures:
    """`features` with a merchant's changes laid over them, block by block (a block in `changes` need not be
    complete), checked as `parse_features` checks."""
    return parse_features(_merged(stored_features(features), changes) if isinstance(changes, Mapping) else changes)


def stored_features(features: PortalFeatures) -> dict[str, object]:
    """The JSON a configuration stores for `features`: every block and setting, enums as their values."""
    return _stored_block(features)


def _merged(base: Mapping[str, object], changes: Mapping[str, object]) -> dict[str, object]:
    result = dict(base)
    for key, value in changes.items():
        inner = result.get(key)
        result[key] = _merged(inner, value) if isinstance(inner, Mapping) and isinstance(value, Mapping) else value
    return result


def _stored_block(block: _Block) -> dict[str, object]:
    return {name: _stored_value(getattr(block, name)) for name in _settings(type(block))}


def _stored_value(value: object) -> object:
    if isinstance(value, _Block):
        return _stored_block(value)
    if isinstance(value, tuple):
        return [_stored_value(item) for item in value]
    return str(value) if isinstance(value, StrEnum) else value


_SETTINGS: dict[type[_Block], dict[str, tuple[Field[Any], Any]]] = {}


def _settings(block: type[_Block]) -> dict[str, tuple[Field[Any], Any]]:
    """The stored settings of a block: each one's field and type (read once per block: type hints are slow)."""
    if block not in _SETTINGS:
        types = get_type_hints(block)
        stored = (setting for setting in fields(block) if setting.metadata.get("stored", True))
        _SETTINGS[block] = {setting.name: (setting, types[setting.name]) for setting in stored}
    return _SETTINGS[block]


def _block(block: type[B], value: object, path: str) -> B:
    if not isinstance(value, Mapping):
        raise MerchantInputError(f"{inputs.label(path)} must be an object", path)
    settings = _settings(block)
    unknown = sorted(set(value) - set(settings))
    if unknown:
        raise MerchantInputError(f"{path}.{unknown[0]} is not a portal feature setting", f"{path}.{unknown[0]}")
    parsed = block(
        **{
            name: _setting(kind, setting, value[name], f"{path}.{name}")
            for name, (setting, kind) in settings.items()
            if name in value
        }
    )
    parsed.check(path)
    return parsed


def _setting(kind: Any, setting: Field[Any], value: object, path: str) -> object:
    """One setting read as its type says: a switch, a bounded count, a nested block, a choice, a list of counts, a
    list of choices or an optional id."""
    if kind is bool:
        return inputs.flag(path, value)
    if kind is int:
        return inputs.integer(path, value, *setting.metadata["bounds"])
    if isinstance(kind, type) and issubclass(kind, _Block):
        return _block(kind, value, path)
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return inputs.choice(path, value, kind)
    if get_origin(kind) is tuple and get_args(kind)[0] is int:
        return _counts(path, value, setting.metadata["bounds"], setting.metadata["max_items"])
    if get_origin(kind) is tuple:
        return _choices(path, value, setting.metadata.get("choices") or tuple(get_args(kind)[0]))
    if isinstance(kind, UnionType) and set(get_args(kind)) == {str, NoneType}:
        return _optional_id(path, value)
    raise TypeError(f"{path} has a type the portal features cannot read: {kind}")


def _choices(path: str, value: object, allowed: tuple[StrEnum, ...]) -> tuple[StrEnum, ...]:
    if not isinstance(value, list):
        raise MerchantInputError(f"{inputs.label(path)} must be a list", path)
    known = [str(member) for member in allowed]
    if any(item not in known for item in value):
        raise MerchantInputError(f"{inputs.label(path)} must be one of {', '.join(known)}", path)
    if len(set(value)) != len(value):
        raise MerchantInputError(f"{inputs.label(path)} must not repeat a value", path)
    return tuple(allowed[known.index(item)] for item in value)


def _counts(path: str, value: object, bounds: tuple[int, int], max_items: int) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise MerchantInputError(f"{inputs.label(path)} must be a list", path)
    if len(value) > max_items:
        raise MerchantInputError(f"{inputs.label(path)} must have at most {max_items} values", path)
    return tuple(inputs.integer(path, item, *bounds) for item in value)


def _optional_id(path: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MerchantInputError(f"{inputs.label(path)} must be an id or null", path)
    return value or None

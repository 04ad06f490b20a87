"""Portal configurations: which one a session follows, and how a business's API creates, changes and lists them.

A session opened from a merchant's link may name a configuration; every other session (and the unified portal,
which acts inside each subscription's business) follows the business's default configuration for the mode. A
business without one gets the defaults of merchants.features.

`features` is read and checked by merchants.features, so a configuration that passed the check never surprises
billing or access; its retention coupon must be a discount of the business and mode (merchants.discounts). Exactly
one configuration per business and mode is the default: making one the default clears the others in the same
transaction, under a row lock on the business's configurations, and the default cannot be un-defaulted (another one
is made the default instead).
"""

from collections.abc import Mapping

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from merchants import inputs
from merchants.discounts import find_discount
from merchants.features import PortalFeatures, changed_features, parse_features, stored_features
from merchants.inputs import MerchantErrorCode, MerchantInputError
from models import PortalConfiguration
from models.base import Columns
from models.ids import find_by_client_id


def features_of(configuration: PortalConfiguration) -> PortalFeatures:
    """Its features, with the defaults filling in what it does not store (a row written before a setting existed)."""
    return parse_features(configuration.features)


async def portal_features(business_id: str, livemode: bool, configuration_id: str | None = None) -> PortalFeatures:
    """The features of the named configuration if it is the business's, else of the business's default."""
    scope = configurations_of(business_id, livemode)
    configuration = await scope.get_or_none(id=configuration_id) if configuration_id else None
    if configuration is None:
        configuration = await scope.filter(is_default=True).order_by("-created_at").first()
    return features_of(configuration) if configuration else PortalFeatures()


def configurations_of(business_id: str, livemode: bool) -> QuerySet[PortalConfiguration]:
    return PortalConfiguration.filter(business_id=business_id, livemode=livemode)


async def find_configuration(business_id: str, livemode: bool, configuration_id: object) -> PortalConfiguration | None:
    return await find_by_client_id(configurations_of(business_id, livemode), configuration_id)


async def checked_features(
    business_id: str, livemode: bool, changes: object, current: PortalFeatures
) -> PortalFeatures:
    """The features `changes` laid over `current` make, once every setting is one billing understands."""
    features = changed_features(current, changes)
    coupon_id = features.subscription_cancel.retention_coupon_id
    if coupon_id and await find_discount(business_id, livemode, coupon_id) is None:
        path = "features.subscription_cancel.retention_coupon_id"
        raise MerchantInputError(f"no discount has the id {coupon_id}", path, code=MerchantErrorCode.NOT_FOUND)
    return features


_TEXTS = {"name": 200, "headline": 300}
_URLS = ("privacy_policy_url", "terms_of_service_url", "default_return_url")
FIELDS = frozenset({*_TEXTS, *_URLS, "features", "is_default"})


async def _checked(
    business_id: str, livemode: bool, given: Mapping[str, object], current_features: PortalFeatures
) -> Columns:
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
            features = await checked_features(business_id, livemode, changes, current_features)
            checked[field] = stored_features(features)
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
    checked = await _checked(business_id, livemode, values, PortalFeatures())
    checked.setdefault("features", stored_features(PortalFeatures()))
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
            raise MerchantInputError(message, "is_default", code=MerchantErrorCode.DEFAULT_REQUIRED)
        if wants_default and not configuration.is_default:
            await _clear_defaults(business_id, livemode)
            checked["is_default"] = True
        if checked:
            configuration.update_from_dict(checked)
            await configuration.save(update_fields=list(checked))
    return configuration

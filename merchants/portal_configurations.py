"""Which portal configuration a session follows, and what its features allow.

A session opened from a merchant's link may name a configuration; every other session (and the unified portal,
which acts inside each subscription's business) follows the business's default configuration for the mode. A
business without one gets the defaults of `models.business.default_portal_features`.
"""

from dataclasses import dataclass

from models import PortalConfiguration
from models.business import default_portal_features


@dataclass(frozen=True)
class PortalFeatures:
    features: dict

    def enabled(self, feature: str) -> bool:
        return bool(self.features.get(feature, {}).get("enabled", False))

    @property
    def payment_method_update(self) -> bool:
        return self.enabled("payment_method_update")


async def portal_features(business_id: str, livemode: bool, configuration_id: str | None = None) -> PortalFeatures:
    """The features of the named configuration if it is the business's, else of the business's default."""
    scope = PortalConfiguration.filter(business_id=business_id, livemode=livemode)
    configuration = await scope.get_or_none(id=configuration_id) if configuration_id else None
    if configuration is None:
        configuration = await scope.filter(is_default=True).order_by("-created_at").first()
    defaults = default_portal_features()
    return PortalFeatures(configuration.features if configuration else defaults)

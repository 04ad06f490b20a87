"""Which portal configuration a session follows, and what its features allow.

A session opened from a merchant's link may name a configuration; every other session (and the unified portal,
which acts inside each subscription's business) follows the business's default configuration for the mode. A
business without one gets the defaults of `models.business.default_portal_features`.

A merchant acting through the API follows `merchant_features`: the business's switches and its configurations govern
what CUSTOMERS may do, not what the business itself does to its subscriptions.
"""

from dataclasses import dataclass

from models import PortalConfiguration
from models.business import default_portal_features

# The most seats one subscription may have, wherever its quantity is set.
MAX_QUANTITY = 10_000


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


async def portal_features(business_id: str, livemode: bool, configuration_id: str | None = None) -> PortalFeatures:
    """The features of the named configuration if it is the business's, else of the business's default."""
    scope = PortalConfiguration.filter(business_id=business_id, livemode=livemode)
    configuration = await scope.get_or_none(id=configuration_id) if configuration_id else None
    if configuration is None:
        configuration = await scope.filter(is_default=True).order_by("-created_at").first()
    defaults = default_portal_features()
    return PortalFeatures(configuration.features if configuration else defaults)


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

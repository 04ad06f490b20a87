"""The typed portal features (merchants.features): defaults stated once and filling in whatever a stored
configuration leaves out, the JSON a configuration stores, the path of a refused setting, the merchant's view."""

from dataclasses import replace

import pytest

from access.profile import editable_fields
from merchants.businesses import BusinessChanges, create_business
from merchants.features import (
    CancelMode,
    EffectiveAt,
    PlanChangeProration,
    PortalFeatures,
    ProfileField,
    QuantityLimits,
    SubscriptionPause,
    SubscriptionUpdate,
    merchant_features,
    parse_features,
    stored_features,
)
from merchants.inputs import MerchantInputError
from merchants.portal_configurations import features_of, portal_features
from models import Business, PortalConfiguration
from models.enums import CancellationFeedback


def test_a_configuration_that_stores_nothing_has_the_defaults() -> None:
    assert parse_features({}) == PortalFeatures()


def test_a_block_or_setting_left_out_takes_its_default() -> None:
    features = parse_features({"subscription_pause": {"enabled": True}, "subscription_update": {"quantity": {}}})

    assert features == PortalFeatures(subscription_pause=SubscriptionPause(enabled=True))
    assert features.subscription_pause.max_cycles == 3
    assert features.subscription_update.quantity == QuantityLimits(minimum=1, maximum=100)
    assert features.subscription_cancel.cancellation_reason.options == tuple(CancellationFeedback)


def test_what_is_stored_reads_back_the_same() -> None:
    changed = PortalFeatures(
        subscription_update=SubscriptionUpdate(
            proration_billing_mode=PlanChangeProration.FULL_IMMEDIATELY, quantity=QuantityLimits(2, 20)
        ),
        subscription_pause=SubscriptionPause(enabled=True, max_cycles=6),
    )

    for features in (PortalFeatures(), changed):
        stored = stored_features(features)
        assert parse_features(stored) == features
        assert stored["subscription_update"]["proration_billing_mode"] in {"prorated_immediately", "full_immediately"}
        assert stored["customer_update"]["allowed_updates"] == ["name", "email", "phone", "address", "tax_id"]


@pytest.mark.parametrize(
    ("stored", "path"),
    [
        (
            {"subscription_update": {"proration_billing_mode": "sometimes"}},
            "features.subscription_update.proration_billing_mode",
        ),
        (
            {"subscription_update": {"quantity": {"minimum": 5, "maximum": 2}}},
            "features.subscription_update.quantity.minimum",
        ),
        ({"subscription_update": {"quantity": {"maximum": 10_001}}}, "features.subscription_update.quantity.maximum"),
        ({"subscription_update": {"quantity": []}}, "features.subscription_update.quantity"),
        # When a change applies is the merchant's choice per change, not a setting a configuration stores.
        ({"subscription_update": {"effective_at": "next_billing_date"}}, "features.subscription_update.effective_at"),
        ({"subscription_cancel": {"retention_coupon_id": 12}}, "features.subscription_cancel.retention_coupon_id"),
        ({"subscription_pause": {"max_cycles": True}}, "features.subscription_pause.max_cycles"),
        # The language is always the customer's to change; a business cannot list it.
        ({"customer_update": {"allowed_updates": ["locale"]}}, "features.customer_update.allowed_updates"),
        ({"customer_update": {"allowed_updates": "name"}}, "features.customer_update.allowed_updates"),
        ({"merchant": True}, "features.merchant"),
        ([], "features"),
    ],
)
def test_a_bad_setting_is_refused_by_its_path(stored: object, path: str) -> None:
    with pytest.raises(MerchantInputError) as refused:
        parse_features(stored)

    assert refused.value.field == path


def test_the_merchant_view_is_unrestricted_and_never_stored() -> None:
    features = merchant_features(PlanChangeProration.DIFFERENCE_IMMEDIATELY, EffectiveAt.NEXT_BILLING_DATE)

    assert features.merchant and features.subscription_pause.enabled
    assert features.subscription_cancel.mode == CancelMode.IMMEDIATELY
    assert features.subscription_update.effective_at == EffectiveAt.NEXT_BILLING_DATE
    assert not features.subscription_update.downgrade_at_period_end
    stored = stored_features(features)
    assert "merchant" not in stored and "effective_at" not in stored["subscription_update"]
    assert parse_features(stored) == replace(
        features,
        merchant=False,
        subscription_update=replace(features.subscription_update, effective_at=EffectiveAt.IMMEDIATELY),
    )


def test_editable_fields_follow_the_customer_update_block() -> None:
    some = parse_features({"customer_update": {"allowed_updates": ["phone", "tax_id"]}})
    off = parse_features({"customer_update": {"enabled": False}})

    assert editable_fields(some) == {ProfileField.PHONE_NUMBER, ProfileField.TAX_ID, ProfileField.LOCALE}
    assert editable_fields(off) == {ProfileField.LOCALE}


async def test_a_stored_configuration_missing_a_block_gets_the_default() -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    partial = await PortalConfiguration.create(
        business=business, livemode=True, is_default=True, features={"subscription_cancel": {"mode": "immediately"}}
    )
    bare = await PortalConfiguration.create(business=business, livemode=False, is_default=True)

    features = await portal_features(business.id, True)

    assert features.subscription_cancel.mode == CancelMode.IMMEDIATELY
    assert replace(features, subscription_cancel=PortalFeatures().subscription_cancel) == PortalFeatures()
    assert features_of(partial) == features
    assert bare.features == {} and features_of(bare) == PortalFeatures()
    assert await portal_features("bus_none", True) == PortalFeatures()


async def test_a_new_business_stores_the_defaults_in_both_modes() -> None:
    business = await create_business(BusinessChanges(name="Acme", support_email="help@acme.example"))

    stored = await PortalConfiguration.filter(business=business).values_list("features", flat=True)

    assert stored == [stored_features(PortalFeatures())] * 2

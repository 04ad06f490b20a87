"""Business settings and portal configurations through the merchant API: what is stored (normalised), what is
refused (nothing written), exactly one default configuration per business and mode even under concurrent calls,
ids outside the key's scope, and features that billing and access read as configured."""

import asyncio

import httpx
import pytest

from access.profile import editable_fields
from billing.cancellation import cancellation_options
from merchants.api_keys import create_api_key
from merchants.features import PortalFeatures, ProfileField, stored_features
from merchants.inputs import MerchantInputError
from merchants.portal_configurations import checked_features, portal_features
from models import Business, Discount, PortalConfiguration
from models.enums import SubscriptionStatus
from schema.merchant.portal_configurations import CustomerUpdateField
from tests.support.merchant import Merchant, call, create_plan, merchant, subscribe

BUSINESS_FIELDS = """
  id name supportEmail addressLine1 addressCity addressPostalCode addressCountry logoUrl iconUrl primaryColor
  accentColor headline websiteUrl defaultReturnUrl allowSubscriptionUpdates allowSubscriptionCancellation
  invoicePrefix taxRateBp corsOrigins
"""
UPDATE_BUSINESS = f"""
mutation($input: BusinessInput!) {{
  updateBusiness(input: $input) {{ business {{ {BUSINESS_FIELDS} }} errors {{ code field message }} }}
}}
"""
CONFIGURATION_FIELDS = """
  id name isDefault headline privacyPolicyUrl termsOfServiceUrl defaultReturnUrl
  features {
    invoiceHistory { enabled }
    paymentMethodUpdate { enabled }
    subscriptionCancel { enabled mode cancellationReason { enabled options } retentionCouponId prorationBehavior }
    subscriptionUpdate {
      enabled prorationBillingMode downgradeAtPeriodEnd defaultAllowedUpdates quantity { minimum maximum }
      paymentFailureBehavior
    }
    subscriptionPause { enabled maxCycles keepLicenseKeysActive }
    customerUpdate { enabled allowedUpdates }
  }
"""
CREATE_CONFIGURATION = f"""
mutation($input: PortalConfigurationInput!) {{
  createPortalConfiguration(input: $input) {{
    portalConfiguration {{ {CONFIGURATION_FIELDS} }} errors {{ code field message }}
  }}
}}
"""
UPDATE_CONFIGURATION = f"""
mutation($input: UpdatePortalConfigurationInput!) {{
  updatePortalConfiguration(input: $input) {{
    portalConfiguration {{ {CONFIGURATION_FIELDS} }} errors {{ code field message }}
  }}
}}
"""
CONFIGURATION = f"query($id: ID!) {{ portalConfiguration(id: $id) {{ {CONFIGURATION_FIELDS} }} }}"
CONFIGURATIONS = "{ portalConfigurations { totalCount nodes { id name isDefault } } }"


async def business_row(merchant: Merchant) -> tuple:
    return tuple((await Business.filter(id=merchant.business.id).values())[0].values())


# --- the business -------------------------------------------------------------------------------------------------


async def test_update_business_stores_settings_and_normalised_cors_origins(
    client: httpx.AsyncClient, acme: Merchant
) -> None:
    changes = {
        "name": "Acme Labs",
        "supportEmail": "billing@acme.example",
        "addressLine1": "1 Main St",
        "addressCity": "Springfield",
        "addressPostalCode": "12345",
        "addressCountry": "US",
        "logoUrl": "https://acme.example/logo.png",
        "iconUrl": "https://acme.example/icon.png",
        "primaryColor": "#0b3d91",
        "accentColor": "#f59e0b",
        "headline": "Tools for makers",
        "websiteUrl": "https://acme.example",
        "defaultReturnUrl": "https://acme.example/account",
        "allowSubscriptionUpdates": True,
        "allowSubscriptionCancellation": False,
        "invoicePrefix": "ACME",
        "taxRateBp": 1025,
        "corsOrigins": [
            "HTTPS://App.Acme.Example",
            "https://app.acme.example:443",
            "https://app.acme.example:8443",
            "http://localhost:3000",
            "http://127.0.0.1:5173",
        ],
    }

    data = await call(client, acme.live, UPDATE_BUSINESS, input=changes)

    assert data["updateBusiness"]["errors"] == []
    business = data["updateBusiness"]["business"]
    assert business["corsOrigins"] == [
        "https://app.acme.example",
        "https://app.acme.example:8443",
        "http://localhost:3000",
        "http://127.0.0.1:5173",
    ]
    assert {key: business[key] for key in changes if key != "corsOrigins"} == {
        key: value for key, value in changes.items() if key != "corsOrigins"
    }
    assert (await Business.get(id=acme.business.id)).cors_origins == business["corsOrigins"]
    assert (await call(client, acme.live, f"{{ business {{ {BUSINESS_FIELDS} }} }}"))["business"] == business


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"corsOrigins": ["http://app.acme.example"]}, "corsOrigins"),
        ({"corsOrigins": ["https://app.acme.example/"]}, "corsOrigins"),
        ({"corsOrigins": ["https://app.acme.example/path"]}, "corsOrigins"),
        ({"corsOrigins": ["https://app.acme.example?x=1"]}, "corsOrigins"),
        ({"corsOrigins": ["*"]}, "corsOrigins"),
        ({"corsOrigins": ["https://*.acme.example"]}, "corsOrigins"),
        ({"corsOrigins": ["https://user@acme.example"]}, "corsOrigins"),
        ({"corsOrigins": ["https://acme.example:99999"]}, "corsOrigins"),
        ({"corsOrigins": [f"https://app{n}.acme.example" for n in range(21)]}, "corsOrigins"),
        ({"name": "Renamed", "primaryColor": "blue"}, "primaryColor"),
        ({"taxRateBp": 10_001}, "taxRateBp"),
        ({"iconUrl": "http://acme.example/icon.png"}, "iconUrl"),
        ({"addressPostalCode": "1" * 21}, "addressPostalCode"),
        ({"name": None}, "name"),
        ({"name": "Acme\nBcc: victim@example.com"}, "name"),
        ({"name": "Acme\r\nTools"}, "name"),
        ({"name": "Acme\tTools"}, "name"),
        ({"name": "Acme\x00Tools"}, "name"),
        ({"name": "Acme\u2028Tools"}, "name"),
        ({"headline": "Fonts\nfor everyone"}, "headline"),
        ({"addressLine1": "1 Main St\x1b"}, "addressLine1"),
        ({"supportEmail": "help\x07@acme.example"}, "supportEmail"),
        ({"supportEmail": "help@acme.example\x00"}, "supportEmail"),
        ({"supportEmail": "Help <help@acme.example>"}, "supportEmail"),
    ],
)
async def test_bad_business_settings_are_refused_and_nothing_changes(
    client: httpx.AsyncClient, acme: Merchant, changes: dict, field: str
) -> None:
    before = await business_row(acme)

    data = await call(client, acme.live, UPDATE_BUSINESS, input=changes)

    assert data["updateBusiness"]["business"] is None
    assert [(error["code"], error["field"]) for error in data["updateBusiness"]["errors"]] == [("INVALID_INPUT", field)]
    assert await business_row(acme) == before


async def test_a_name_with_a_line_break_is_refused_in_so_many_words(client: httpx.AsyncClient, acme: Merchant) -> None:
    data = await call(client, acme.live, UPDATE_BUSINESS, input={"name": "Acme\nTools"})

    [error] = data["updateBusiness"]["errors"]
    assert error["message"] == "name must not contain line breaks or control characters"


async def test_a_test_key_cannot_change_the_business_both_modes_share(
    client: httpx.AsyncClient, acme: Merchant
) -> None:
    before = await business_row(acme)

    data = await call(client, acme.test, UPDATE_BUSINESS, input={"name": "Changed in test mode"})

    assert [error["code"] for error in data["updateBusiness"]["errors"]] == ["LIVE_KEY_REQUIRED"]
    assert await business_row(acme) == before


# --- portal configurations ----------------------------------------------------------------------------------------


async def test_each_mode_lists_its_own_configurations(client: httpx.AsyncClient, acme: Merchant) -> None:
    live = await call(client, acme.live, CONFIGURATIONS)
    test = await call(client, acme.test, CONFIGURATIONS)

    live_row = await PortalConfiguration.get(business_id=acme.business.id, livemode=True)
    test_row = await PortalConfiguration.get(business_id=acme.business.id, livemode=False)
    assert live["portalConfigurations"]["nodes"] == [{"id": live_row.id, "name": "Default", "isDefault": True}]
    assert test["portalConfigurations"]["nodes"] == [{"id": test_row.id, "name": "Default", "isDefault": True}]


async def test_a_configuration_keeps_the_defaults_it_was_not_given(client: httpx.AsyncClient, acme: Merchant) -> None:
    data = await call(
        client,
        acme.live,
        CREATE_CONFIGURATION,
        input={
            "name": "Retention",
            "headline": "Manage your plan",
            "privacyPolicyUrl": "https://acme.example/privacy",
            "defaultReturnUrl": "http://localhost:3000/account",
            "features": {
                "subscriptionCancel": {"mode": "IMMEDIATELY", "cancellationReason": {"options": ["OTHER"]}},
                "subscriptionPause": {"enabled": True, "maxCycles": 6},
            },
        },
    )

    payload = data["createPortalConfiguration"]
    assert payload["errors"] == []
    configuration = payload["portalConfiguration"]
    assert configuration["isDefault"] is False
    cancel = configuration["features"]["subscriptionCancel"]
    assert (cancel["mode"], cancel["cancellationReason"]) == ("IMMEDIATELY", {"enabled": True, "options": ["OTHER"]})
    assert configuration["features"]["subscriptionPause"] == {
        "enabled": True,
        "maxCycles": 6,
        "keepLicenseKeysActive": True,
    }
    stored = (await PortalConfiguration.get(id=configuration["id"])).features
    defaults = stored_features(PortalFeatures())
    assert stored["subscription_update"] == defaults["subscription_update"]
    assert stored["customer_update"] == defaults["customer_update"]
    assert (await call(client, acme.live, CONFIGURATION, id=configuration["id"]))[
        "portalConfiguration"
    ] == configuration


async def test_billing_and_access_follow_a_configuration_made_through_the_api(
    client: httpx.AsyncClient, acme: Merchant
) -> None:
    coupon = await call(
        client,
        acme.live,
        'mutation { createDiscount(input: {code: "STAY", type: PERCENTAGE, '
        "amount: 2000, duration: ONCE}) { discount { id } } }",
    )
    coupon_id = coupon["createDiscount"]["discount"]["id"]
    data = await call(
        client,
        acme.live,
        CREATE_CONFIGURATION,
        input={
            "features": {
                "subscriptionCancel": {
                    "mode": "IMMEDIATELY",
                    "retentionCouponId": coupon_id,
                    "cancellationReason": {"enabled": True, "options": ["TOO_EXPENSIVE", "UNUSED"]},
                },
                "subscriptionPause": {"enabled": True, "maxCycles": 2},
                "customerUpdate": {"allowedUpdates": ["NAME", "ADDRESS"]},
            }
        },
    )
    configuration_id = data["createPortalConfiguration"]["portalConfiguration"]["id"]
    plan = await create_plan(client, acme.live, "Pro", 1200)
    subscription = await subscribe(acme.business, plan["id"], 1200)

    features = await portal_features(acme.business.id, True, configuration_id)
    options = await cancellation_options(subscription, acme.business, features)

    assert subscription.status == SubscriptionStatus.ACTIVE
    assert options.immediately and options.reasons == ("too_expensive", "unused")
    assert options.retention_offer is not None and options.retention_offer.id == coupon_id
    assert features.subscription_pause.max_cycles == 2
    assert editable_fields(features) == {ProfileField.NAME, ProfileField.BILLING_ADDRESS, ProfileField.LOCALE}


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"privacyPolicyUrl": "http://acme.example/privacy"}, "INVALID_INPUT", "privacyPolicyUrl"),
        ({"termsOfServiceUrl": "javascript:alert(1)"}, "INVALID_INPUT", "termsOfServiceUrl"),
        ({"name": "x" * 201}, "INVALID_INPUT", "name"),
        (
            {"features": {"subscriptionUpdate": {"quantity": {"minimum": 5, "maximum": 2}}}},
            "INVALID_INPUT",
            "features.subscriptionUpdate.quantity.minimum",
        ),
        (
            {"features": {"subscriptionPause": {"maxCycles": 13}}},
            "INVALID_INPUT",
            "features.subscriptionPause.maxCycles",
        ),
        ({"features": {"invoiceHistory": {"enabled": None}}}, "INVALID_INPUT", "features.invoiceHistory.enabled"),
        (
            {"features": {"subscriptionCancel": {"cancellationReason": None}}},
            "INVALID_INPUT",
            "features.subscriptionCancel.cancellationReason",
        ),
        (
            {"features": {"customerUpdate": {"allowedUpdates": ["NAME", "NAME"]}}},
            "INVALID_INPUT",
            "features.customerUpdate.allowedUpdates",
        ),
        (
            {"features": {"subscriptionCancel": {"retentionCouponId": "dsc_doesnotexist"}}},
            "NOT_FOUND",
            "features.subscriptionCancel.retentionCouponId",
        ),
    ],
)
async def test_bad_configurations_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, acme: Merchant, changes: dict, code: str, field: str
) -> None:
    default = await PortalConfiguration.get(business_id=acme.business.id, livemode=True)
    before = await PortalConfiguration.all().order_by("id").values()

    created = await call(client, acme.live, CREATE_CONFIGURATION, input={"isDefault": True, **changes})
    updated = await call(
        client,
        acme.live,
        UPDATE_CONFIGURATION,
        input={"portalConfigurationId": default.id, "headline": "New", **changes},
    )

    for payload in (created["createPortalConfiguration"], updated["updatePortalConfiguration"]):
        assert payload["portalConfiguration"] is None
        assert [(error["code"], error["field"]) for error in payload["errors"]] == [(code, field)]
    assert await PortalConfiguration.all().order_by("id").values() == before


async def test_a_retention_coupon_of_another_business_or_mode_is_not_found(
    client: httpx.AsyncClient, acme: Merchant
) -> None:
    globex = await merchant("Globex")
    common = {"type": "percentage", "amount": 1000, "duration": "once"}
    theirs = await Discount.create(business=globex.business, livemode=True, code="THEIRS", **common)
    test_mode = await Discount.create(business=acme.business, livemode=False, code="TEST", **common)

    outside = (theirs.id, test_mode.id, "dsc_doesnotexist")
    answers = [
        await call(
            client,
            acme.live,
            CREATE_CONFIGURATION,
            input={"features": {"subscriptionCancel": {"retentionCouponId": coupon_id}}},
        )
        for coupon_id in outside
    ]

    # The message names the id it was given, so only that part may differ.
    errors = [
        [
            {**error, "message": error["message"].replace(coupon_id, "ID")}
            for error in answer["createPortalConfiguration"]["errors"]
        ]
        for answer, coupon_id in zip(answers, outside, strict=True)
    ]
    assert errors[0] == errors[1] == errors[2]
    assert errors[0][0]["code"] == "NOT_FOUND"
    assert await PortalConfiguration.filter(business_id=acme.business.id).count() == 2


@pytest.mark.parametrize(
    ("features", "path"),
    [
        ({"invoice_history": {"enabled": True, "pdf": True}}, "features.invoice_history.pdf"),
        ({"refunds": {"enabled": True}}, "features.refunds"),
        ({"subscription_cancel": {"mode": "never"}}, "features.subscription_cancel.mode"),
        (
            {"subscription_cancel": {"cancellation_reason": {"options": ["bored"]}}},
            "features.subscription_cancel.cancellation_reason.options",
        ),
        ({"subscription_update": {"quantity": {"maximum": "10"}}}, "features.subscription_update.quantity.maximum"),
        ({"subscription_pause": {"enabled": 1}}, "features.subscription_pause.enabled"),
        (
            {"subscription_update": {"proration_billing_mode": "do_not_bill"}},
            "features.subscription_update.proration_billing_mode",
        ),
        ({"customer_update": []}, "features.customer_update"),
    ],
)
async def test_features_refuse_unknown_keys_and_wrong_types_by_path(features: dict, path: str) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")

    with pytest.raises(MerchantInputError) as refused:
        await checked_features(business.id, True, features, PortalFeatures())

    assert refused.value.field == path


def test_customer_update_fields_are_the_profile_fields_a_business_controls() -> None:
    # The merchant schema spells the vocabulary its own way; what it stores is ProfileField's values.
    assert {field.value for field in CustomerUpdateField} == {str(field) for field in ProfileField} - {"locale"}


# --- exactly one default ------------------------------------------------------------------------------------------


async def defaults_of(merchant: Merchant, livemode: bool = True) -> list[str]:
    rows = PortalConfiguration.filter(business_id=merchant.business.id, livemode=livemode, is_default=True)
    return await rows.values_list("id", flat=True)


async def create_configuration(client: httpx.AsyncClient, headers: dict, **values: object) -> dict:
    data = await call(client, headers, CREATE_CONFIGURATION, input=values)
    assert data["createPortalConfiguration"]["errors"] == []
    return data["createPortalConfiguration"]["portalConfiguration"]


async def test_making_one_default_clears_the_other_in_its_mode_only(client: httpx.AsyncClient, acme: Merchant) -> None:
    test_default = await defaults_of(acme, livemode=False)

    created = await create_configuration(client, acme.live, name="New default", isDefault=True)

    assert created["isDefault"] is True
    assert await defaults_of(acme) == [created["id"]]
    assert await defaults_of(acme, livemode=False) == test_default


async def test_the_default_cannot_be_undefaulted(client: httpx.AsyncClient, acme: Merchant) -> None:
    [default_id] = await defaults_of(acme)

    data = await call(
        client,
        acme.live,
        UPDATE_CONFIGURATION,
        input={"portalConfigurationId": default_id, "isDefault": False, "name": "X"},
    )

    assert [error["code"] for error in data["updatePortalConfiguration"]["errors"]] == ["DEFAULT_REQUIRED"]
    assert await defaults_of(acme) == [default_id]
    assert (await PortalConfiguration.get(id=default_id)).name == "Default"


async def test_the_first_configuration_of_a_mode_becomes_its_default(client: httpx.AsyncClient) -> None:
    business = await Business.create(name="Bare", support_email="help@bare.example")
    secret, _ = await create_api_key(business, livemode=True)

    created = await create_configuration(client, {"Authorization": f"Bearer {secret}"}, isDefault=False)

    assert created["isDefault"] is True


async def test_two_concurrent_default_changes_leave_exactly_one_default(
    client: httpx.AsyncClient, acme: Merchant
) -> None:
    first = await create_configuration(client, acme.live, name="First")
    second = await create_configuration(client, acme.live, name="Second")

    answers = await asyncio.gather(
        *(
            call(client, acme.live, UPDATE_CONFIGURATION, input={"portalConfigurationId": row["id"], "isDefault": True})
            for row in (first, second)
        )
    )

    assert [answer["updatePortalConfiguration"]["errors"] for answer in answers] == [[], []]
    assert len(await defaults_of(acme)) == 1
    assert (await defaults_of(acme))[0] in {first["id"], second["id"]}


# --- ids outside the key's scope ----------------------------------------------------------------------------------


async def test_configurations_outside_the_keys_scope_answer_like_missing_ones(
    client: httpx.AsyncClient, acme: Merchant
) -> None:
    globex = await merchant("Globex")
    [theirs] = await defaults_of(globex)
    [test_mode] = await defaults_of(acme, livemode=False)
    outside = [theirs, test_mode, "bpc_doesnotexist", "not an id"]
    before = await PortalConfiguration.all().order_by("id").values()

    updates = [
        (
            await call(
                client,
                acme.live,
                UPDATE_CONFIGURATION,
                input={"portalConfigurationId": id_, "name": "Mine", "isDefault": True},
            )
        )["updatePortalConfiguration"]
        for id_ in outside
    ]
    reads = [(await call(client, acme.live, CONFIGURATION, id=id_))["portalConfiguration"] for id_ in outside]

    assert all(update == updates[0] for update in updates)
    assert [(error["code"], error["field"]) for error in updates[0]["errors"]] == [
        ("NOT_FOUND", "portalConfigurationId")
    ]
    assert reads == [None] * len(outside)
    assert await PortalConfiguration.all().order_by("id").values() == before

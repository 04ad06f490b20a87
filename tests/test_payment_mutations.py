"""The customer GraphQL mutations that move money or payment methods, as a GraphQL client sees them."""

import asyncio

import pytest

from models import Invoice, Payment, PaymentMethod, SandboxCharge, Subscription
from models.enums import SubscriptionStatus
from tests.support.billing import add_card, subscriber
from tests.support.customer_graphql import PAYMENT_FIELDS, REACTIVATE, run
from tests.support.factories import business_token, unified_token

COMPLETE = (
    f"mutation Complete($payment: ID!) {{ completePayment(input: {{paymentId: $payment}}) {{ {PAYMENT_FIELDS} }} }}"
)
ADD = """
mutation Add($business: ID!, $card: String!, $default: Boolean) {
  addPaymentMethod(input: {businessId: $business, processorToken: $card, setAsDefault: $default}) {
    paymentMethod { id brand last4 expMonth expYear isDefault } errors { code field message }
  }
}"""
START = """mutation Start($business: ID!, $url: String) {
  startPaymentMethodSetup(input: {businessId: $business, returnUrl: $url}) { url errors { code field message } } }"""
SET_DEFAULT = """mutation Default($method: ID!) {
  setDefaultPaymentMethod(input: {paymentMethodId: $method}) {
    paymentMethod { id isDefault } errors { code field message } } }"""
REMOVE = """mutation Remove($method: ID!) {
  removePaymentMethod(input: {paymentMethodId: $method}) { removedPaymentMethodId errors { code field message } } }"""
USE = """mutation Use($subscription: ID!, $method: ID!) {
  updateSubscriptionPaymentMethod(input: {subscriptionId: $subscription, paymentMethodId: $method}) {
    subscription { id paymentMethod { id } } errors { code field message } } }"""
DUES = "query Dues($id: ID!) { node(id: $id) { ... on Subscription { status dues { amount currency formatted } } } }"


async def test_a_declined_card_leaves_the_subscription_on_hold_and_says_why(context) -> None:
    shop = await subscriber(context)
    token = await business_token(shop.customer)
    declined = shop.cards["pm_card_chargeDeclined"]

    dues = (await run(token, DUES, id=shop.subscription.id))["node"]
    answer = (await run(token, REACTIVATE, subscription=shop.subscription.id, method=declined.id, key="a1"))[
        "reactivateSubscription"
    ]

    assert dues == {"status": "ON_HOLD", "dues": {"amount": 980, "currency": "JPY", "formatted": "¥980"}}
    assert answer["subscription"]["status"] == "ON_HOLD"
    assert answer["payment"] | {"id": None} == {
        "id": None,
        "status": "FAILED",
        "errorCode": "card_declined",
        "errorMessage": "Your card was declined. Try another card.",
    }
    assert answer["invoice"] is None
    assert answer["errors"] == [
        {"code": "CARD_DECLINED", "field": "paymentMethodId", "message": "Your card was declined. Try another card."}
    ]


async def test_a_good_card_reactivates_with_an_invoice(context) -> None:
    shop = await subscriber(context)
    token = await business_token(shop.customer)
    visa = shop.cards["pm_card_visa"]

    answer = (await run(token, REACTIVATE, subscription=shop.subscription.id, method=visa.id, key="a2"))[
        "reactivateSubscription"
    ]

    assert answer["errors"] == []
    assert answer["subscription"]["status"] == "ACTIVE"
    assert answer["payment"]["status"] == "SUCCEEDED"
    assert answer["invoice"]["number"] == "SF-0001"
    assert (await run(token, DUES, id=shop.subscription.id))["node"]["dues"] is None


async def test_twenty_concurrent_requests_with_one_key_charge_once(context) -> None:
    shop = await subscriber(context)
    token = await business_token(shop.customer)
    visa = shop.cards["pm_card_visa"]

    answers = await asyncio.gather(
        *(run(token, REACTIVATE, subscription=shop.subscription.id, method=visa.id, key="once") for _ in range(20))
    )

    assert {answer["reactivateSubscription"]["payment"]["id"] for answer in answers} == {(await Payment.get()).id}
    assert {answer["reactivateSubscription"]["invoice"]["number"] for answer in answers} == {"SF-0001"}
    assert await SandboxCharge.all().count() == 1 and await Invoice.all().count() == 1


async def test_the_same_key_with_another_method_is_refused(context) -> None:
    shop = await subscriber(context)
    token = await business_token(shop.customer)
    declined, visa = shop.cards["pm_card_chargeDeclined"], shop.cards["pm_card_visa"]
    await run(token, REACTIVATE, subscription=shop.subscription.id, method=declined.id, key="k")

    answer = (await run(token, REACTIVATE, subscription=shop.subscription.id, method=visa.id, key="k"))[
        "reactivateSubscription"
    ]

    assert [error["code"] for error in answer["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert answer["errors"][0]["field"] == "idempotencyKey"
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ON_HOLD


@pytest.mark.parametrize(("approve", "status"), [(True, "ACTIVE"), (False, "ON_HOLD")])
async def test_three_d_secure_round_trip(context, approve: bool, status: str) -> None:
    shop = await subscriber(context, cards=("pm_card_chargeDeclined", "pm_card_authenticationRequired"))
    token = await business_token(shop.customer)
    method = shop.cards["pm_card_authenticationRequired"]

    waiting = (await run(token, REACTIVATE, subscription=shop.subscription.id, method=method.id, key="3ds"))[
        "reactivateSubscription"
    ]
    assert waiting["payment"]["status"] == "REQUIRES_CUSTOMER_ACTION"
    assert [error["code"] for error in waiting["errors"]] == ["AUTHENTICATION_REQUIRED"]
    charge = await context.processor.challenge(waiting["nextAction"]["url"].rsplit("/", 1)[1])
    await context.processor.answer_challenge(charge, approve=approve)

    done = (await run(token, COMPLETE, payment=waiting["payment"]["id"]))["completePayment"]

    assert done["subscription"]["status"] == status
    assert done["nextAction"] is None
    assert [error["code"] for error in done["errors"]] == ([] if approve else ["AUTHENTICATION_FAILED"])


async def test_payment_methods_are_added_made_default_and_kept_while_needed(context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",))
    token = await business_token(shop.customer)

    added = (await run(token, ADD, business=shop.business.id, card="pm_card_mastercard", default=True))[
        "addPaymentMethod"
    ]
    new_id = added["paymentMethod"]["id"]
    assert added["errors"] == []
    assert added["paymentMethod"] | {"id": None, "expYear": None} == {
        "id": None,
        "brand": "mastercard",
        "last4": "4444",
        "expMonth": added["paymentMethod"]["expMonth"],
        "expYear": None,
        "isDefault": True,
    }
    visa = shop.cards["pm_card_visa"]
    made_default = (await run(token, SET_DEFAULT, method=visa.id))["setDefaultPaymentMethod"]
    assert made_default == {"paymentMethod": {"id": visa.id, "isDefault": True}, "errors": []}
    removed = (await run(token, REMOVE, method=new_id))["removePaymentMethod"]
    assert removed == {"removedPaymentMethodId": new_id, "errors": []}
    last = (await run(token, REMOVE, method=visa.id))["removePaymentMethod"]
    assert [error["code"] for error in last["errors"]] == ["LAST_PAYMENT_METHOD"]
    assert await PaymentMethod.filter(detached_at__isnull=True).count() == 1


async def test_the_same_card_saved_twice_is_one_payment_method(context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",))
    token = await business_token(shop.customer)
    visa = shop.cards["pm_card_visa"]

    again = (await run(token, ADD, business=shop.business.id, card="pm_card_visa"))["addPaymentMethod"]

    assert again["errors"] == []
    assert again["paymentMethod"]["id"] == visa.id
    assert await PaymentMethod.filter(customer_id=shop.customer.id, detached_at__isnull=True).count() == 1
    # The card's newest attachment is the one charged from now on.
    saved = await PaymentMethod.get(id=visa.id)
    assert saved.processor_token != visa.processor_token


async def test_an_unknown_processor_token_is_refused(context) -> None:
    shop = await subscriber(context, cards=())
    token = await business_token(shop.customer)

    answer = (await run(token, ADD, business=shop.business.id, card="tok_doesnotexist"))["addPaymentMethod"]

    assert answer["paymentMethod"] is None
    assert answer["errors"][0]["code"] == "INVALID_PAYMENT_METHOD"


async def test_the_hosted_page_is_started_for_the_customer(context) -> None:
    shop = await subscriber(context, cards=())
    token = await business_token(shop.customer)

    started = (await run(token, START, business=shop.business.id))["startPaymentMethodSetup"]
    bad = (await run(token, START, business=shop.business.id, url="javascript:alert(1)"))["startPaymentMethodSetup"]

    assert started["errors"] == [] and "/sandbox/setup/seti_" in started["url"]
    assert bad["url"] is None and bad["errors"][0] | {"message": ""} == {
        "code": "INVALID_INPUT",
        "field": "returnUrl",
        "message": "",
    }


async def test_a_method_of_one_business_cannot_pay_another_business(context) -> None:
    sakura = await subscriber(context)
    northwind = await subscriber(context, business_name="Northwind", cards=("pm_card_visa",))
    token = await unified_token("ada@example.com")
    foreign_card = northwind.cards["pm_card_visa"]

    paid = await run(token, REACTIVATE, subscription=sakura.subscription.id, method=foreign_card.id, key="x")
    used = await run(token, USE, subscription=sakura.subscription.id, method=foreign_card.id)

    for errors in (paid["reactivateSubscription"]["errors"], used["updateSubscriptionPaymentMethod"]["errors"]):
        assert [(error["code"], error["field"]) for error in errors] == [("NOT_ALLOWED", "paymentMethodId")]
    assert await Payment.all().count() == 0


async def test_errors_speak_the_readers_language(context) -> None:
    shop = await subscriber(context)
    token = await business_token(shop.customer)
    declined = shop.cards["pm_card_chargeDeclined"]

    answer = await run(token, REACTIVATE, "ja", subscription=shop.subscription.id, method=declined.id, key="ja")

    message = answer["reactivateSubscription"]["errors"][0]["message"]
    assert message != "Your card was declined. Try another card." and "カード" in message


async def foreign_and_missing(context) -> tuple[str, dict[str, str], dict[str, str]]:
    """A session of one customer, the ids of another customer's objects, and ids that do not exist."""
    mine = await subscriber(context, email="ada@example.com")
    theirs = await subscriber(context, email="eve@example.com")
    foreign = {
        "subscription": theirs.subscription.id,
        "method": theirs.cards["pm_card_visa"].id,
        "business": theirs.business.id,
        "payment": (
            await Payment.create(
                business=theirs.business,
                livemode=True,
                customer=theirs.customer,
                subscription=theirs.subscription,
                total_amount=1,
                currency="JPY",
                status="requires_customer_action",
                purpose="reactivation",
                idempotency_key="theirs",
            )
        ).id,
    }
    missing = {"subscription": "sub_missing", "method": "pm_missing", "business": "bus_missing", "payment": "pay_x"}
    return await business_token(mine.customer), foreign, missing


MUTATIONS = {
    "reactivate": (REACTIVATE, lambda ids: {"subscription": ids["subscription"], "method": ids["method"], "key": "f"}),
    "complete": (COMPLETE, lambda ids: {"payment": ids["payment"]}),
    "add": (ADD, lambda ids: {"business": ids["business"], "card": "pm_card_visa"}),
    "start": (START, lambda ids: {"business": ids["business"]}),
    "default": (SET_DEFAULT, lambda ids: {"method": ids["method"]}),
    "remove": (REMOVE, lambda ids: {"method": ids["method"]}),
    "use": (USE, lambda ids: {"subscription": ids["subscription"], "method": ids["method"]}),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
async def test_foreign_ids_answer_exactly_like_missing_ones(context, mutation: str) -> None:
    token, foreign, missing = await foreign_and_missing(context)
    query, variables = MUTATIONS[mutation]
    before = await Subscription.filter(status=SubscriptionStatus.ON_HOLD).count()

    on_foreign = await run(token, query, **variables(foreign))
    on_missing = await run(token, query, **variables(missing))
    on_malformed = await run(token, query, **variables({key: "x" * 41 for key in missing}))

    assert on_foreign == on_missing == on_malformed
    (payload,) = on_foreign.values()
    assert [error["code"] for error in payload["errors"]] == ["NOT_FOUND"]
    assert await Subscription.filter(status=SubscriptionStatus.ON_HOLD).count() == before
    assert await PaymentMethod.filter(detached_at__isnull=False).count() == 0
    assert await SandboxCharge.all().count() == 0


async def test_a_card_saved_at_one_business_cannot_be_added_at_another(context) -> None:
    shop = await subscriber(context, cards=())
    other = await subscriber(context, email="eve@example.com", business_name="Other", cards=())
    added = await add_card(shop.customer, "pm_card_visa", context)

    session = await business_token(other.customer)
    answer = await run(session, ADD, business=other.business.id, card=added.processor_token)

    assert answer["addPaymentMethod"]["errors"][0]["code"] == "INVALID_PAYMENT_METHOD"

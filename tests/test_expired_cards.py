"""Expired cards cannot pay: marked "Expired", never the default nor a subscription's card, refused for dues (GraphQL,
pages and the merchant's update), yet removable; and the on-hold page never pre-selects the card that just failed."""

import re
from datetime import UTC, datetime

import httpx
import pytest

from billing.payment_methods import expired
from models import PaymentMethod, SandboxCharge, Subscription
from models.enums import SubscriptionStatus
from tests.support.billing import Subscriber, subscriber
from tests.support.customer_graphql import REACTIVATE, run
from tests.support.factories import business_token, unified_token
from tests.support.pages import IDEMPOTENCY_KEY, cards_named, sign_in
from tests.support.portal import csrf_from
from tests.support.shop import merchant_graphql, open_shop

CARDS = ("pm_card_chargeDeclined", "pm_card_visa", "pm_card_mastercard")
SET_DEFAULT = """mutation Default($method: ID!) {
  setDefaultPaymentMethod(input: {paymentMethodId: $method}) { paymentMethod { id } errors { code field message } } }"""
REMOVE = """mutation Remove($method: ID!) {
  removePaymentMethod(input: {paymentMethodId: $method}) { removedPaymentMethodId errors { code field message } } }"""
USE = """mutation Use($subscription: ID!, $method: ID!) {
  updateSubscriptionPaymentMethod(input: {subscriptionId: $subscription, paymentMethodId: $method}) {
    subscription { id } errors { code field message } } }"""
UPDATE = """mutation Update($input: UpdateSubscriptionInput!) {
  updateSubscription(input: $input) { subscription { id } errors { code field message } } }"""
METHODS = "query { viewer { paymentMethods { last4 expired } } }"
REFUSED = [{"code": "EXPIRED_CARD", "field": "paymentMethodId", "message": "Your card has expired. Try another card."}]
RADIO = re.compile(r'name="payment_method_id" value="([^"]+)" required( checked)?')


async def with_expired_card(context, email: str = "ada@example.com") -> tuple[Subscriber, PaymentMethod]:
    """Northwind's case: an on-hold subscription, and a Mastercard •••• 4444 that expired in March 2025."""
    shop = await subscriber(context, cards=CARDS, email=email)
    card = shop.cards["pm_card_mastercard"]
    await PaymentMethod.filter(id=card.id).update(exp_month=3, exp_year=2025)
    return shop, card


def radios(page: httpx.Response) -> list[tuple[str, bool]]:
    return [(method_id, bool(checked)) for method_id, checked in RADIO.findall(page.text)]


async def state(shop: Subscriber) -> tuple:
    subscription = await Subscription.get(id=shop.subscription.id)
    defaults = await PaymentMethod.filter(customer_id=shop.customer.id, is_default=True).values_list("id", flat=True)
    return subscription.status, subscription.payment_method_id, subscription.metadata, defaults


@pytest.mark.parametrize(
    ("now", "is_expired"),
    [
        (datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC), False),
        (datetime(2025, 4, 1, tzinfo=UTC), True),
        (datetime(2024, 12, 1, tzinfo=UTC), False),
    ],
)
def test_a_card_expires_after_the_last_day_of_its_month(now: datetime, is_expired: bool) -> None:
    assert expired(PaymentMethod(exp_month=3, exp_year=2025), now) is is_expired


async def test_graphql_marks_it_refuses_it_changing_nothing_and_removes_it(context) -> None:
    shop, card = await with_expired_card(context)
    token = await business_token(shop.customer)
    before = await state(shop)

    listed = (await run(token, METHODS))["viewer"]["paymentMethods"]
    default = (await run(token, SET_DEFAULT, method=card.id))["setDefaultPaymentMethod"]
    use = (await run(token, USE, subscription=shop.subscription.id, method=card.id))["updateSubscriptionPaymentMethod"]
    paid = (await run(token, REACTIVATE, subscription=shop.subscription.id, method=card.id, key="k1"))[
        "reactivateSubscription"
    ]

    assert {"last4": "4444", "expired": True} in listed and {"last4": "4242", "expired": False} in listed
    assert default == {"paymentMethod": None, "errors": REFUSED}
    assert use == {"subscription": None, "errors": REFUSED}
    assert paid["errors"] == REFUSED and paid["payment"] is None
    assert await state(shop) == before
    assert await SandboxCharge.all().count() == 0
    # Removing it stays allowed.
    removed = (await run(token, REMOVE, method=card.id))["removePaymentMethod"]
    assert removed == {"removedPaymentMethodId": card.id, "errors": []}


async def test_an_own_expired_card_is_refused_a_foreign_one_looks_missing(context) -> None:
    mine, own = await with_expired_card(context)
    _, theirs = await with_expired_card(context, email="eve@example.com")
    token = await business_token(mine.customer)

    refused = await run(token, SET_DEFAULT, method=own.id)
    foreign = await run(token, SET_DEFAULT, method=theirs.id)
    missing = await run(token, SET_DEFAULT, method="pm_missing")

    assert refused["setDefaultPaymentMethod"]["errors"] == REFUSED
    assert foreign == missing
    assert [error["code"] for error in foreign["setDefaultPaymentMethod"]["errors"]] == ["NOT_FOUND"]


async def test_the_merchant_api_refuses_it_changing_nothing(client, context) -> None:
    shop, card = await with_expired_card(context)
    merchant = await open_shop(business=shop.business, livemode=True)
    before = await state(shop)
    change = {"metadata": {"plan": "x"}, "payment_method_id": card.id}

    rest = await client.patch(f"/subscriptions/{shop.subscription.id}", json=change, headers=merchant.headers)
    graphql = await merchant_graphql(
        client,
        merchant,
        UPDATE,
        input={"subscriptionId": shop.subscription.id, "metadata": {"plan": "x"}, "paymentMethodId": card.id},
    )

    assert rest.status_code == 402 and rest.json()["code"] == "EXPIRED_CARD"
    assert graphql["updateSubscription"]["errors"] == REFUSED
    assert await state(shop) == before


@pytest.mark.parametrize("unified", [False, True])
async def test_the_payment_methods_page_marks_it_without_make_default(http, context, unified: bool) -> None:
    shop, card = await with_expired_card(context)
    await sign_in(http, await (unified_token("ada@example.com") if unified else business_token(shop.customer)))

    page = await http.get(f"/payment-methods?business={shop.business.id}")

    rows = {row.split('id="card-')[1][:40]: row for row in page.text.split('<li class="row">')[1:]}
    (expired_row,) = [row for method_id, row in rows.items() if method_id.startswith(card.id)]
    assert page.status_code == 200 and len(rows) == 3
    assert '<span class="badge bad">Expired</span>' in expired_row and "Make default" not in expired_row
    assert "Remove" in expired_row
    assert sum("Make default" in row for row in rows.values()) == 1  # the visa; the declined card is the default


async def test_pages_offer_neither_the_expired_nor_the_failed_card(http, context) -> None:
    shop, card = await with_expired_card(context)
    declined, visa = shop.cards["pm_card_chargeDeclined"], shop.cards["pm_card_visa"]
    await sign_in(http, await business_token(shop.customer))

    on_hold = await http.get(f"/subscriptions/{shop.subscription.id}")
    choose = await http.get(f"/subscriptions/{shop.subscription.id}/payment-method")
    form = {"csrf_token": csrf_from(on_hold), "idempotency_key": IDEMPOTENCY_KEY.search(on_hold.text)[1]}
    after_decline = await http.post(
        f"/subscriptions/{shop.subscription.id}/reactivate", data={**form, "payment_method_id": declined.id}
    )

    # The renewal failed on the subscription's card (the declining one): the other usable card is pre-selected.
    assert radios(on_hold) == [(declined.id, False), (visa.id, True)]
    assert [method_id for method_id, _ in radios(choose)] == [declined.id, visa.id]
    assert after_decline.status_code == 422
    assert radios(after_decline) == [(declined.id, False), (visa.id, True)]
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ON_HOLD


async def test_a_subscription_paid_by_an_expired_card_says_so_and_offers_the_others(http, context) -> None:
    shop, card = await with_expired_card(context)
    await Subscription.filter(id=shop.subscription.id).update(payment_method_id=card.id)
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(f"/subscriptions/{shop.subscription.id}")

    paying = cards_named(page).split('id="payment-method-label"')[1].split("</dd>")[0]
    assert "Mastercard •••• 4444" in paying and '<span class="badge bad">Expired</span>' in paying
    assert card.id not in [method_id for method_id, _ in radios(page)]


async def test_after_a_decline_on_the_only_usable_card_nothing_is_preselected(http, context) -> None:
    shop = await subscriber(context, cards=("pm_card_visa", "pm_card_chargeDeclined"))
    declined = shop.cards["pm_card_chargeDeclined"]
    await sign_in(http, await business_token(shop.customer))
    page = await http.get(f"/subscriptions/{shop.subscription.id}")
    await PaymentMethod.filter(id=shop.cards["pm_card_visa"].id).update(exp_month=1, exp_year=2020)
    form = {"csrf_token": csrf_from(page), "idempotency_key": IDEMPOTENCY_KEY.search(page.text)[1]}

    answer = await http.post(
        f"/subscriptions/{shop.subscription.id}/reactivate", data={**form, "payment_method_id": declined.id}
    )

    assert answer.status_code == 422 and radios(answer) == [(declined.id, False)]


async def test_a_card_whose_last_charge_was_declined_says_when(http, context) -> None:
    shop = await subscriber(context, cards=CARDS)
    declined, visa = shop.cards["pm_card_chargeDeclined"], shop.cards["pm_card_visa"]
    token = await business_token(shop.customer)
    await run(token, REACTIVATE, subscription=shop.subscription.id, method=declined.id, key="k1")
    await sign_in(http, token)

    listed = (await run(token, "query { viewer { paymentMethods { last4 declinedAt } } }"))["viewer"]
    page = await http.get(f"/payment-methods?business={shop.business.id}")

    declined_at = {method["last4"]: method["declinedAt"] for method in listed["paymentMethods"]}
    assert declined_at["0002"] is not None and declined_at["4242"] is None
    today = datetime.now(UTC)
    rows = {row.split('id="card-')[1][:40]: row for row in page.text.split('<li class="row">')[1:]}
    (declined_row,) = [row for method_id, row in rows.items() if method_id.startswith(declined.id)]
    (visa_row,) = [row for method_id, row in rows.items() if method_id.startswith(visa.id)]
    assert f"Declined on {today:%B} {today.day}, {today.year}" in declined_row
    assert "Declined" not in visa_row

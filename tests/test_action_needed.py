"""What needs the customer comes first on both homes: a subscription on hold names its business and what is owed,
with "Pay now" to the page where it is paid; one whose first payment failed says nothing is owed, with "Try again"
to a checkout that takes another card. Nothing shows when nothing is wrong, nor what another customer owes; the
customer schema answers the same list (`subscriptionsNeedingAction`)."""

import re
from datetime import UTC, datetime, timedelta

import httpx

from models import CreditEntry, Payment, Subscription
from models.enums import SubscriptionStatus
from tests.support.billing import failed_payment, subscriber
from tests.support.customer_graphql import run
from tests.support.factories import business_token, unified_token
from tests.support.pages import sign_in
from tests.support.portal import csrf_from

BANNER = re.compile(r'<section class="panel attention".*?</section>', re.S)
NEEDING_ACTION = """
query($business: ID) {
  viewer { subscriptionsNeedingAction(businessId: $business) { id status dues { formatted } business { name } } }
}"""


def banner(page: httpx.Response) -> str:
    """The text of the page's "Action needed" banner, tags and runs of spaces dropped; empty when there is none."""
    match = BANNER.search(page.text)
    return " ".join(re.sub(r"<[^>]+>", " ", match[0]).split()) if match else ""


def links(page: httpx.Response) -> list[str]:
    match = BANNER.search(page.text)
    return re.findall(r'<a class="button small" href="([^"]+)"', match[0]) if match else []


async def test_an_on_hold_subscription_is_first_on_the_home_with_what_is_owed_and_pay_now(http, context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ON_HOLD)
    await sign_in(http, await business_token(shop.customer))

    page = await http.get("/")

    assert banner(page) == (
        "Action needed Library Personal On hold "
        "¥980 owed to Sakura Fonts. The subscription is on hold until it is paid. Pay now"
    )
    assert links(page) == [f"/subscriptions/{shop.subscription.id}#reactivate-title"]
    # Before the lists, right under the greeting.
    assert page.text.index("attention-title") < page.text.index("subscriptions-title")
    reactivation = await http.get(links(page)[0].partition("#")[0])
    assert 'id="reactivate-title"' in reactivation.text and "Amount due" in reactivation.text


async def test_the_amount_owed_is_the_reactivation_charge_less_the_credit(http, context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ON_HOLD, currency="EUR", price=1999)
    await CreditEntry.create(
        business=shop.business, livemode=True, customer=shop.customer, currency="EUR", amount=500, reason="downgrade"
    )
    await sign_in(http, await business_token(shop.customer))

    assert "€14.99 owed to Sakura Fonts." in banner(await http.get("/"))


async def test_nothing_shows_when_nothing_is_wrong(http, context) -> None:
    shop = await subscriber(
        context, status=SubscriptionStatus.ACTIVE, next_billing_date=datetime.now(UTC) + timedelta(days=20)
    )
    await sign_in(http, await business_token(shop.customer))

    page = await http.get("/")

    assert page.status_code == 200 and banner(page) == "" and "Action needed" not in page.text


async def test_the_unified_home_names_each_business_and_a_failed_first_payment_offers_try_again(http, context) -> None:
    sakura = await subscriber(context, status=SubscriptionStatus.ON_HOLD)
    northwind = await subscriber(context, status=SubscriptionStatus.FAILED, business_name="Northwind")
    await failed_payment(northwind)
    await sign_in(http, await unified_token("ada@example.com"))

    page = await http.get("/")

    assert banner(page) == (
        "Action needed "
        "Library Personal On hold ¥980 owed to Sakura Fonts. The subscription is on hold until it is paid. Pay now "
        "Library Personal Failed The first payment to Northwind failed. Nothing is owed; try again with another card. "
        "Try again"
    )
    assert links(page) == [
        f"/subscriptions/{sakura.subscription.id}#reactivate-title",
        f"/subscriptions/{northwind.subscription.id}#again-title",
    ]
    # Narrowed to one business, only its own.
    narrowed = await http.get(f"/?business={northwind.business.id}")
    assert links(narrowed) == [f"/subscriptions/{northwind.subscription.id}#again-title"]


async def test_try_again_goes_to_a_checkout_that_charges_nothing_before_the_customer_confirms(http, context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.FAILED)
    await failed_payment(shop)
    await sign_in(http, await business_token(shop.customer))
    path = f"/subscriptions/{shop.subscription.id}"

    assert links(await http.get("/")) == [f"{path}#again-title"]
    page = await http.get(path)
    form = {"csrf_token": csrf_from(page), "idempotency_key": "try-again-1"}
    to_checkout = await http.post(f"{path}/subscribe-again", data=form)

    assert 'id="again-title">Try again</h2>' in page.text and "nothing is owed" in page.text
    assert to_checkout.status_code == 303 and "/checkout/cpc_" in to_checkout.headers["location"]
    assert await Payment.filter(customer_id=shop.customer.id).count() == 1, "only the first, declined one"
    # Once the new subscription pays, the failed one is no longer a problem.
    await Subscription.filter(customer_id=shop.customer.id, status=SubscriptionStatus.PENDING).update(
        status=SubscriptionStatus.ACTIVE
    )
    assert banner(await http.get("/")) == ""


async def test_another_customers_problems_never_show(http, context) -> None:
    await subscriber(context, status=SubscriptionStatus.ON_HOLD, email="bob@example.com")
    bobs = await subscriber(context, status=SubscriptionStatus.FAILED, email="bob@example.com", business_name="North")
    await failed_payment(bobs)
    mine = await subscriber(
        context, status=SubscriptionStatus.ACTIVE, next_billing_date=datetime.now(UTC) + timedelta(days=20)
    )
    await sign_in(http, await unified_token("ada@example.com"))

    assert banner(await http.get("/")) == ""
    await sign_in(http, await business_token(mine.customer))
    assert banner(await http.get("/")) == ""


async def test_the_schema_lists_what_needs_the_customer_with_the_dues_and_nothing_of_others(context) -> None:
    on_hold = await subscriber(context, status=SubscriptionStatus.ON_HOLD)
    failed = await subscriber(context, status=SubscriptionStatus.FAILED, business_name="Northwind")
    await failed_payment(failed)
    bobs = await subscriber(context, status=SubscriptionStatus.ON_HOLD, email="bob@example.com", business_name="Bob's")
    session = await unified_token("ada@example.com")

    listed = (await run(session, NEEDING_ACTION))["viewer"]["subscriptionsNeedingAction"]
    narrowed = (await run(session, NEEDING_ACTION, business=failed.business.id))["viewer"]
    foreign = (await run(session, NEEDING_ACTION, business=bobs.business.id))["viewer"]

    assert listed == [
        {
            "id": on_hold.subscription.id,
            "status": "ON_HOLD",
            "dues": {"formatted": "¥980"},
            "business": {"name": "Sakura Fonts"},
        },
        {"id": failed.subscription.id, "status": "FAILED", "dues": None, "business": {"name": "Northwind"}},
    ]
    assert [row["id"] for row in narrowed["subscriptionsNeedingAction"]] == [failed.subscription.id]
    assert foreign["subscriptionsNeedingAction"] == []


async def test_a_checkout_left_unpaid_is_not_a_failed_payment(http, context) -> None:
    # A payment link nobody paid ends FAILED too, without any payment: there is nothing to try again.
    shop = await subscriber(context, status=SubscriptionStatus.FAILED, cards=())
    await sign_in(http, await business_token(shop.customer))

    assert banner(await http.get("/")) == ""

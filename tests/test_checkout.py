"""Payment links: `POST /subscriptions` with `payment_link: true` answers a hosted checkout where the customer adds a
card on the sandbox's page, answers 3-D Secure if their bank asks, pays the first period and lands on the merchant's
return URL; the link expires, cannot be paid twice, and opens nothing for anyone who has not got it. The portal's
"Subscribe again" on an ended subscription goes through the same checkout."""

import asyncio
from datetime import timedelta

import httpx

from billing.checkout import find_checkout, pay_checkout, subscribe_again
from billing.subscription_start import finish_abandoned_starts
from core.clock import utcnow
from models import CheckoutSession, Invoice, Payment, Subscription
from models.enums import PaymentStatus, SubscriptionStatus
from tests.support.billing import billing_context, subscriber
from tests.support.customer_graphql import run
from tests.support.factories import business_token
from tests.support.pages import IDEMPOTENCY_KEY, sign_in
from tests.support.portal import csrf_from
from tests.support.shop import Shop, open_shop
from tests.support.stripe import stripe_shop

RETURN_URL = "https://merchant.example/thanks"
BILLING = {"country": "US", "city": "Springfield", "state": "IL", "street": "1 Main St", "zipcode": "62701"}
VISA = "4242424242424242"
CHALLENGED = "4000002760003184"


async def create_link(client: httpx.AsyncClient, shop: Shop, **body) -> httpx.Response:
    body = {
        "customer": {"email": "New@Example.com", "name": "Nia"},
        "billing": BILLING,
        "product_id": shop.product.id,
        "quantity": 1,
        "payment_link": True,
        "return_url": RETURN_URL,
    } | body
    return await client.post("/subscriptions", json=body, headers=shop.headers)


async def card_return(client: httpx.AsyncClient, link: str, number: str = VISA) -> str:
    """Open the checkout, go to the sandbox's card page, add the card: the address the sandbox sends back to."""
    page = await client.get(link)
    to_sandbox = await client.post(link, data={"csrf_token": csrf_from(page)})
    setup = await client.get(to_sandbox.headers["location"])
    card = {"number": number, "expiry": "12/34", "cvc": "123", "csrf_token": csrf_from(setup)}
    added = await client.post(to_sandbox.headers["location"], data=card)
    return added.headers["location"]


async def test_a_new_customer_pays_through_the_link_and_lands_on_the_return_url(client) -> None:
    shop = await open_shop()

    created = await create_link(client, shop)
    link = created.json()["payment_link"]
    page = await client.get(link)
    paid = await client.get(await card_return(client, link))

    assert created.status_code == 200, created.text
    answer = created.json()
    assert answer["status"] == "pending" and answer["payment_id"] == "" and answer["payment_method_required"]
    assert answer["customer"]["email"] == "new@example.com" and answer["expires_on"]
    assert link.startswith("http://localhost/checkout/cpc_")
    assert page.status_code == 200 and shop.product.name in page.text and "/ month" in page.text
    assert "$13.20" in page.text  # $12.00 a month and 10 % tax, due today
    assert paid.status_code == 303 and paid.headers["location"] == RETURN_URL
    subscription = await Subscription.get(id=answer["subscription_id"]).prefetch_related("customer")
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.customer.billing_city == "Springfield"
    payments = await Payment.filter(subscription_id=subscription.id)
    assert [(p.status, p.total_amount) for p in payments] == [(PaymentStatus.SUCCEEDED, 1320)]
    assert await Invoice.filter(payment_id=payments[0].id).count() == 1


async def test_a_used_link_and_a_reload_never_charge_again(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop)).json()["payment_link"]
    back = await card_return(client, link)

    await client.get(back)
    reloaded = await client.get(back)
    reopened = await client.get(link)

    assert reloaded.status_code == 200 and "already been used" in reloaded.text
    assert reopened.status_code == 200 and "already been used" in reopened.text
    assert await Payment.all().count() == 1


async def test_two_tabs_paying_at_once_charge_once(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop)).json()["payment_link"]
    first, second = await card_return(client, link), await card_return(client, link, "5555555555554444")

    answers = await asyncio.gather(client.get(first), client.get(second))

    # Whichever tab waited for the other lands too, or is told the link is used: neither is charged again.
    assert all(a.headers.get("location") == RETURN_URL or "already been used" in a.text for a in answers)
    payments = await Payment.all()
    assert len(payments) == 1 and payments[0].status == PaymentStatus.SUCCEEDED
    assert (await Subscription.get()).status == SubscriptionStatus.ACTIVE


async def test_a_card_asking_for_3d_secure_is_confirmed_with_the_bank_then_lands(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop)).json()["payment_link"]

    to_bank = await client.get(await card_return(client, link, CHALLENGED))
    challenge = await client.get(to_bank.headers["location"])
    answered = await client.post(
        to_bank.headers["location"], data={"csrf_token": csrf_from(challenge), "decision": "approve"}
    )
    landed = await client.get(answered.headers["location"])

    assert "/sandbox/authenticate/" in to_bank.headers["location"]
    assert "/checkout/payments/" in answered.headers["location"]
    assert landed.status_code == 303 and landed.headers["location"] == RETURN_URL
    assert (await Subscription.get()).status == SubscriptionStatus.ACTIVE
    assert [p.status for p in await Payment.all()] == [PaymentStatus.SUCCEEDED]


async def test_a_declined_card_comes_back_to_the_checkout_and_another_card_pays(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop)).json()["payment_link"]

    declined = await client.get(await card_return(client, link, "4000000000000341"))
    still_pending = (await Subscription.get()).status
    paid = await client.get(await card_return(client, link))

    assert declined.status_code == 422 and "Your card was declined. Try another card." in declined.text
    assert still_pending == SubscriptionStatus.PENDING
    assert paid.headers["location"] == RETURN_URL
    assert (await Subscription.get()).status == SubscriptionStatus.ACTIVE
    payments = await Payment.all().order_by("created_at")
    assert [p.status for p in payments] == [PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]
    assert await Invoice.all().count() == 1


async def test_a_trial_starts_through_the_link_without_a_charge(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop, trial_period_days=14)).json()["payment_link"]

    page = await client.get(link)
    landed = await client.get(await card_return(client, link))

    assert "$0.00" in page.text and "Free trial until" in page.text
    assert landed.headers["location"] == RETURN_URL
    subscription = await Subscription.get()
    assert subscription.status == SubscriptionStatus.ACTIVE and subscription.payment_method_id
    assert await Payment.all().count() == 0


async def test_an_expired_link_says_so_and_takes_no_card(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop)).json()["payment_link"]
    page = await client.get(link)
    session = await CheckoutSession.get()
    session.expires_at -= timedelta(days=2)
    await session.save()

    expired = await client.get(link)
    posted = await client.post(link, data={"csrf_token": csrf_from(page)})

    assert expired.status_code == 410 and "expired" in expired.text
    assert posted.status_code == 410
    assert (await Subscription.get()).payment_method_id is None


async def test_the_billing_run_leaves_an_open_link_waiting_and_fails_an_expired_one(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop)).json()["payment_link"]
    await client.get(await card_return(client, link, "4000000000009995"))  # declined: insufficient funds
    session = await CheckoutSession.get()

    await finish_abandoned_starts(billing_context(), utcnow() + timedelta(hours=1))
    while_open = (await Subscription.get()).status
    await finish_abandoned_starts(billing_context(), session.expires_at + timedelta(minutes=5))

    assert while_open == SubscriptionStatus.PENDING
    assert (await Subscription.get()).status == SubscriptionStatus.FAILED
    # The card saved at the checkout is never charged again once its customer has gone.
    assert [p.status for p in await Payment.all()] == [PaymentStatus.FAILED]


async def test_a_retried_create_answers_the_same_link(client) -> None:
    shop = await open_shop()
    headers = {**shop.headers, "Idempotency-Key": "link-1"}
    body = {"customer": {"email": "nia@example.com"}, "product_id": shop.product.id, "payment_link": True}

    first = await client.post("/subscriptions", json=body, headers=headers)
    again = await client.post("/subscriptions", json=body, headers=headers)

    assert first.json()["payment_link"] == again.json()["payment_link"]
    assert await CheckoutSession.all().count() == 1


async def test_links_and_their_subscriptions_open_nothing_for_others(client) -> None:
    shop, other = await open_shop(), await open_shop("Globex")
    created = (await create_link(client, shop)).json()
    link = created["payment_link"]
    session = await CheckoutSession.get()

    altered = await client.get(link[:-1] + ("0" if link[-1] != "0" else "1"))
    foreign = await client.get(f"/subscriptions/{created['subscription_id']}", headers=other.headers)
    unknown = await client.get("/checkout/cpc_nothing")
    # Someone holding only the session's id (no link, so no state for it) cannot pay it.
    forged = await client.get(f"/checkout/sessions/{session.id}/card", params={"processor_token": "pm_card_visa"})

    assert altered.status_code == unknown.status_code == foreign.status_code == 404
    assert forged.status_code == 403
    assert await Payment.all().count() == 0


async def test_payment_link_with_a_card_token_or_a_bad_return_url_is_refused(client) -> None:
    shop = await open_shop()

    with_token = await create_link(client, shop, processor_token="pm_card_visa")
    bad_url = await create_link(client, shop, return_url="javascript:alert(1)")
    nobody = await create_link(client, shop, customer={"name": "No email"})

    assert with_token.status_code == bad_url.status_code == nobody.status_code == 422
    assert await Subscription.all().count() == 0


async def test_an_ended_subscription_is_subscribed_to_again_through_the_checkout(http, context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.CANCELLED, cards=())
    await sign_in(http, await business_token(shop.customer))
    path = f"/subscriptions/{shop.subscription.id}"
    page = await http.get(path)
    form = {"csrf_token": csrf_from(page), "idempotency_key": IDEMPOTENCY_KEY.search(page.text)[1]}

    to_checkout = await http.post(f"{path}/subscribe-again", data=form)
    again = await http.post(f"{path}/subscribe-again", data=form)
    landed = await http.get(await card_return(http, to_checkout.headers["location"]))

    assert "Subscribe again" in page.text
    assert "/checkout/cpc_" in to_checkout.headers["location"]
    assert again.headers["location"] == to_checkout.headers["location"]
    assert landed.status_code == 303 and landed.headers["location"] == "http://127.0.0.1:8000/"
    new = await Subscription.get(status=SubscriptionStatus.ACTIVE)
    assert new.id != shop.subscription.id and new.trial_ends_at is None
    # The product's price today, ¥980, with the business's 10 % tax on top.
    assert [(p.subscription_id, p.total_amount) for p in await Payment.all()] == [(new.id, 1078)]


async def test_only_an_ended_subscription_is_subscribed_to_again(http, context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",))
    other = await subscriber(context, status=SubscriptionStatus.CANCELLED, cards=(), email="bob@example.com")
    await sign_in(http, await business_token(shop.customer))
    page = await http.get(f"/subscriptions/{shop.subscription.id}")
    form = {"csrf_token": csrf_from(page), "idempotency_key": "again-1"}

    active = await http.post(f"/subscriptions/{shop.subscription.id}/subscribe-again", data=form)
    foreign = await http.post(f"/subscriptions/{other.subscription.id}/subscribe-again", data=form)

    assert "Subscribe again" not in page.text
    assert active.status_code == 422 and foreign.status_code == 404
    assert await Subscription.all().count() == 2 and await CheckoutSession.all().count() == 0


SUBSCRIBE_AGAIN = """
mutation Again($subscription: ID!, $key: String!) {
  subscribeAgain(input: {subscriptionId: $subscription, idempotencyKey: $key}) { checkoutUrl errors { code field } }
}"""


async def test_subscribe_again_in_the_schema_answers_a_checkout_and_a_foreign_id_like_a_missing_one(context) -> None:
    ended = await subscriber(context, status=SubscriptionStatus.CANCELLED, cards=())
    other = await subscriber(context, status=SubscriptionStatus.CANCELLED, cards=(), email="bob@example.com")
    session = await business_token(ended.customer)

    own = await run(session, SUBSCRIBE_AGAIN, subscription=ended.subscription.id, key="again-1")
    second_tab = await run(session, SUBSCRIBE_AGAIN, subscription=ended.subscription.id, key="again-tab-2")
    foreign = await run(session, SUBSCRIBE_AGAIN, subscription=other.subscription.id, key="again-2")
    missing = await run(session, SUBSCRIBE_AGAIN, subscription="sub_missing", key="again-3")

    assert "/checkout/cpc_" in own["subscribeAgain"]["checkoutUrl"] and own["subscribeAgain"]["errors"] == []
    assert (
        foreign
        == missing
        == {"subscribeAgain": {"checkoutUrl": None, "errors": [{"code": "NOT_FOUND", "field": "subscriptionId"}]}}
    )
    # Another tab with its own key cannot open a second subscription to pay.
    assert second_tab["subscribeAgain"]["errors"] == [{"code": "DUPLICATE_SUBSCRIPTION", "field": "productId"}]
    assert await CheckoutSession.all().count() == 1


async def test_a_business_on_stripe_takes_the_card_and_the_payment_through_stripe(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api, status=SubscriptionStatus.CANCELLED)
    context = connected.context

    link = await subscribe_again(connected.shop.subscription, "again-1", "https://merchant.example/", context)
    checkout = await find_checkout(link.link.rsplit("/", 1)[-1])
    assert checkout is not None
    processor = await context.processor_for(checkout.business.id, livemode=False)
    card_page = await processor.start_setup(customer_reference=checkout.customer.id, return_url=RETURN_URL)
    typed = await stripe_api.v1.payment_methods.create_async(
        params={"type": "card", "card": {"number": VISA, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )
    start = await pay_checkout(checkout, typed.id, context)

    assert "/stripe/setup/" in card_page
    assert start.subscription.status == SubscriptionStatus.ACTIVE
    [intent] = await connected.intents()
    assert start.payment is not None and intent.id == start.payment.processor_reference
    assert (intent.status, intent.amount) == ("succeeded", 1078)


async def test_the_page_speaks_the_customers_language_and_its_form_needs_the_csrf_token(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()
    customer.locale = "fr"
    await customer.save()
    link = (await create_link(client, shop, customer={"customer_id": customer.id}, return_url=None)).json()

    page = await client.get(link["payment_link"])
    forged = await client.post(link["payment_link"], data={})

    assert '<html lang="fr"' in page.text and "12,00" in page.text
    assert forged.status_code == 403
    assert await CheckoutSession.filter(subscription_id=link["subscription_id"]).exists()


async def test_without_a_return_url_the_customer_lands_in_the_business_portal(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop, return_url=None)).json()["payment_link"]

    landed = await client.get(await card_return(client, link))

    assert landed.status_code == 303 and landed.headers["location"].endswith(f"/login/{shop.business.id}")


async def test_a_payment_the_bank_refuses_comes_back_to_the_checkout(client) -> None:
    shop = await open_shop()
    link = (await create_link(client, shop)).json()["payment_link"]

    to_bank = await client.get(await card_return(client, link, CHALLENGED))
    challenge = await client.get(to_bank.headers["location"])
    answered = await client.post(
        to_bank.headers["location"], data={"csrf_token": csrf_from(challenge), "decision": "fail"}
    )
    back = await client.get(answered.headers["location"])

    assert back.status_code == 422 and "The payment was not confirmed with your bank." in back.text
    assert (await Subscription.get()).status == SubscriptionStatus.PENDING

"""The web side of a business's Stripe account, against localstripe: connecting it through the merchant API, its
webhook route, the add-card and 3-D Secure pages that run Stripe.js, and the sandbox's pages only where the sandbox
serves."""

import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from billing.processors.sandbox import SandboxProcessor
from billing.processors.stripe import StripeProcessor
from billing.reactivation import reactivate
from gateway.app import create_app
from gateway.payments import build_billing_context
from gateway.settings import Settings
from merchants.stripe_accounts import StripeKeys, connect_stripe
from models import StripeAccount, StripeEvent
from tests.support.billing import FEATURES
from tests.support.localstripe import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET
from tests.support.merchant import call, merchant
from tests.support.stripe import ALWAYS_3DS, StripeShop, signed, stripe_shop

BASE_URL = "http://localhost"
RETURN_URL = f"{BASE_URL}/payment-methods/added?business=b&state=s"
CONNECT = """
mutation Connect($input: ConnectStripeInput!) {
  connectStripe(input: $input) {
    stripeAccount { livemode publishableKey webhookUrl }
    errors { code field message }
  }
}
"""


@pytest.fixture
def stripe_settings(settings: Settings, stripe_server: str) -> Settings:
    return dataclasses.replace(
        settings, stripe_api_base=stripe_server, stripe_js_url=f"{stripe_server}/js.stripe.com/v3/"
    )


@pytest.fixture
async def web(stripe_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(stripe_settings, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


async def connected_shop(stripe_settings: Settings, stripe_api) -> tuple[StripeShop, StripeProcessor]:
    """A test-mode shop connected to localstripe under the deployment's own sealing key, and its processor."""
    shop = await stripe_shop(stripe_settings.stripe_api_base, stripe_api)
    context = build_billing_context(stripe_settings)
    keys = StripeKeys(SECRET_KEY, PUBLISHABLE_KEY, WEBHOOK_SECRET)
    await connect_stripe(shop.shop.business, keys, context.credentials)
    shop.context = context
    processor = await context.stripe_processor(shop.shop.business.id, False)
    assert processor is not None
    return shop, processor


async def test_a_merchant_connects_stripe_with_keys_of_its_api_keys_mode(web, stripe_server) -> None:
    shop = await merchant()
    keys = {"secretKey": SECRET_KEY, "publishableKey": PUBLISHABLE_KEY, "webhookSecret": WEBHOOK_SECRET}

    connected = (await call(web, shop.test, CONNECT, input=keys))["connectStripe"]
    refused = (await call(web, shop.live, CONNECT, input=keys))["connectStripe"]

    assert connected["errors"] == []
    assert connected["stripeAccount"] == {
        "livemode": False,
        "publishableKey": PUBLISHABLE_KEY,
        "webhookUrl": f"{BASE_URL}/webhooks/stripe/{shop.business.id}/test",
    }
    assert SECRET_KEY not in str(connected) and WEBHOOK_SECRET not in str(connected)
    assert refused["stripeAccount"] is None and refused["errors"][0]["field"] == "secretKey"
    assert [account.livemode for account in await StripeAccount.all()] == [False]


async def test_the_webhook_route_records_a_signed_event_once_and_refuses_a_bad_signature(
    web, stripe_settings, stripe_api
) -> None:
    shop, _ = await connected_shop(stripe_settings, stripe_api)
    route = f"/webhooks/stripe/{shop.shop.business.id}/test"
    body, signature = signed("customer.created", {"id": "cus_x"}, event_id="evt_once")
    forged, forged_signature = signed("customer.created", {"id": "cus_y"}, secret="whsec_forged0000")

    first = await web.post(route, content=body, headers={"Stripe-Signature": signature})
    again = await web.post(route, content=body, headers={"Stripe-Signature": signature})
    bad = await web.post(route, content=forged, headers={"Stripe-Signature": forged_signature})
    elsewhere = await web.post(
        "/webhooks/stripe/bus_nobody/test", content=body, headers={"Stripe-Signature": signature}
    )

    assert (first.status_code, first.json()["duplicate"]) == (200, False)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert (bad.status_code, elsewhere.status_code) == (400, 400)
    assert [event.event_id for event in await StripeEvent.all()] == ["evt_once"]


async def test_the_add_card_page_runs_stripe_js_and_returns_the_saved_card(web, stripe_settings, stripe_api) -> None:
    shop, processor = await connected_shop(stripe_settings, stripe_api)
    url = await processor.start_setup(customer_reference=shop.shop.customer.id, return_url=RETURN_URL)
    path = urlsplit(url).path

    page = await web.get(path)
    setup_id = path.rsplit("/", 1)[1]
    # What Stripe.js does with the card typed into its Element.
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    await stripe_api.v1.setup_intents.confirm_async(
        setup_id, params={"payment_method_data": {"type": "card", "card": card}}
    )
    back = await web.get(path)

    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert f"script-src 'self' {stripe_settings.stripe_api_base}" in policy
    assert f'src="{stripe_settings.stripe_js_url}"' in page.text and PUBLISHABLE_KEY in page.text
    assert back.status_code == 303
    returned = parse_qs(urlsplit(back.headers["location"]).query)
    assert returned["state"] == ["s"] and returned["processor_token"][0].startswith("pm_")


async def test_the_authentication_page_lets_the_bank_answer_then_goes_back(web, stripe_settings, stripe_api) -> None:
    shop, _ = await connected_shop(stripe_settings, stripe_api)
    card = await shop.card(ALWAYS_3DS)
    waiting = await reactivate(shop.shop.subscription, card, client_key="k", features=FEATURES, context=shop.context)
    path = urlsplit(waiting.next_action_url).path

    page = await web.get(path)
    intent = await stripe_api.v1.payment_intents.retrieve_async(waiting.processor_reference)
    await stripe_api.v1.payment_intents._request_async(
        "post",
        f"/v1/payment_intents/{intent.id}/_authenticate",
        base_address="api",
        params={"client_secret": intent.client_secret, "success": "true"},
    )
    back = await web.get(path)

    assert page.status_code == 200 and intent.client_secret in page.text
    assert back.status_code == 303
    assert back.headers["location"] == f"{BASE_URL}/payments/{waiting.id}/complete"


@pytest.mark.parametrize(("processor", "status"), [("sandbox", 200), ("stripe", 404)])
async def test_the_sandbox_pages_exist_only_where_the_sandbox_serves(settings, processor, status) -> None:
    sandbox = SandboxProcessor(base_url=BASE_URL, secret=settings.secret_key)
    setup = urlsplit(await sandbox.start_setup(customer_reference="cus_x", return_url=RETURN_URL)).path
    app = create_app(dataclasses.replace(settings, payment_processor=processor), manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        page = await client.get(setup)

    assert page.status_code == status

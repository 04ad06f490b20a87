"""Deep-link portal sessions: a merchant's link (merchant GraphQL `createPortalSession(input: {flow})` and the REST
session endpoint's `flow_data`) that opens on one task with the navigation hidden, and what the portal does once the
task is done. Validation errors name the flow's field; a subscription of another customer, business or mode answers
like a missing one and nothing is written; the flow travels from the link to the session; the pages keep a flow
session on its task and end it as the merchant asked."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest

from access.login_links import consume_link
from access.sessions import SessionPolicy
from models import (
    Business,
    Customer,
    LoginToken,
    PaymentMethod,
    PortalConfiguration,
    PortalSession,
    Product,
    Subscription,
)
from models.enums import PriceType, SubscriptionStatus
from tests.support.billing import Subscriber, retention_offer, subscriber, with_plans
from tests.support.merchant import bearer
from tests.support.pages import IDEMPOTENCY_KEY
from tests.support.portal import csrf_from

RETURN_URL = "https://sakura.example/account"
PERIOD_END = datetime(2031, 3, 5, 12, tzinfo=UTC)

CREATE = """
mutation Create($customerId: ID!, $flow: PortalFlowInput, $returnUrl: String, $configurationId: ID, $locale: String) {
  createPortalSession(input: {customerId: $customerId, flow: $flow, returnUrl: $returnUrl,
                              configurationId: $configurationId, locale: $locale}) {
    link errors { code field message }
  }
}
"""


@dataclass
class PlanShop(Subscriber):
    plans: list[Product] = field(default_factory=list)


async def active_shop(context, **fields) -> PlanShop:
    """Ada's active ¥980 subscription at Sakura Fonts, in a collection of plans at ¥500, ¥980 and ¥2980."""
    shop = await subscriber(
        context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",), next_billing_date=PERIOD_END, **fields
    )
    return PlanShop(**vars(shop), plans=await with_plans(shop))


def filled(template: object, names: dict[str, str]) -> object:
    """`template` with each placeholder string (`{sub}`) replaced by its id, at any depth."""
    if isinstance(template, dict):
        return {key: filled(value, names) for key, value in template.items()}
    if isinstance(template, list):
        return [filled(value, names) for value in template]
    return names.get(template, template) if isinstance(template, str) else template


async def create(http: httpx.AsyncClient, shop: Subscriber, flow: dict | None, **variables) -> dict:
    response = await http.post(
        "/merchant/graphql",
        json={"query": CREATE, "variables": {"customerId": shop.customer.id, "flow": flow, **variables}},
        headers=await bearer(shop.business, shop.customer.livemode),
    )
    return response.json()["data"]["createPortalSession"]


async def session_of(link: str) -> PortalSession:
    result = await consume_link(link.rsplit("/", 1)[1], client_ip="203.0.113.7", policy=SessionPolicy())
    return result.session


def cancel_flow(shop: Subscriber, **after) -> dict:
    return {"type": "SUBSCRIPTION_CANCEL", "subscriptionId": shop.subscription.id, **after}


# --- creating a deep link ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["payment_method_update", "cancel", "update", "confirm"])
async def test_each_flow_is_carried_from_the_link_to_the_session(http, context, kind: str) -> None:
    shop = await active_shop(context)
    flow = {
        "payment_method_update": {"type": "PAYMENT_METHOD_UPDATE"},
        "cancel": cancel_flow(shop),
        "update": {"type": "SUBSCRIPTION_UPDATE", "subscriptionId": shop.subscription.id},
        "confirm": {
            "type": "SUBSCRIPTION_UPDATE_CONFIRM",
            "subscriptionId": shop.subscription.id,
            "productId": shop.plans[2].id,
            "quantity": 2,
        },
    }[kind]
    flow["afterCompletion"] = {"type": "HOSTED_CONFIRMATION", "customMessage": "Thanks!"}

    payload = await create(http, shop, flow)

    assert payload["errors"] == []
    session = await session_of(payload["link"])
    assert session.flow["type"] == flow["type"].lower()
    assert session.flow["subscription_id"] == flow.get("subscriptionId")
    assert session.flow["product_id"] == flow.get("productId")
    assert session.flow["quantity"] == flow.get("quantity")
    assert session.flow["after_completion"] == {
        "type": "hosted_confirmation",
        "return_url": "",
        "custom_message": "Thanks!",
    }


async def test_configuration_and_locale_are_honoured_with_a_flow(http, context) -> None:
    shop = await active_shop(context)
    configuration = await PortalConfiguration.create(business=shop.business, livemode=True)

    payload = await create(http, shop, cancel_flow(shop), configurationId=configuration.id, locale="de")

    session = await session_of(payload["link"])
    assert (session.configuration_id, session.locale, session.flow["type"]) == (
        configuration.id,
        "de",
        "subscription_cancel",
    )


@pytest.mark.parametrize(
    ("flow", "code", "field"),
    [
        ({"type": "SUBSCRIPTION_CANCEL"}, "INVALID_FLOW", "flow.subscriptionId"),
        ({"type": "PAYMENT_METHOD_UPDATE", "subscriptionId": "{sub}"}, "INVALID_FLOW", "flow.subscriptionId"),
        (
            {"type": "SUBSCRIPTION_UPDATE", "subscriptionId": "{sub}", "productId": "{plan}"},
            "INVALID_FLOW",
            "flow.productId",
        ),
        ({"type": "SUBSCRIPTION_UPDATE_CONFIRM", "subscriptionId": "{sub}"}, "INVALID_FLOW", "flow.productId"),
        (
            {"type": "SUBSCRIPTION_UPDATE_CONFIRM", "subscriptionId": "{sub}", "productId": "{plan}", "quantity": 0},
            "INVALID_QUANTITY",
            "flow.quantity",
        ),
        (
            {"type": "SUBSCRIPTION_UPDATE_CONFIRM", "subscriptionId": "{sub}", "productId": "{other}"},
            "PRODUCT_NOT_AVAILABLE",
            "flow.productId",
        ),
        (
            {"type": "SUBSCRIPTION_UPDATE_CONFIRM", "subscriptionId": "{sub}", "productId": "{current}"},
            "PRODUCT_NOT_AVAILABLE",
            "flow.productId",
        ),
        (
            {"type": "PAYMENT_METHOD_UPDATE", "afterCompletion": {"type": "REDIRECT"}},
            "INVALID_FLOW",
            "flow.afterCompletion.returnUrl",
        ),
        (
            {"type": "PAYMENT_METHOD_UPDATE", "afterCompletion": {"type": "REDIRECT", "returnUrl": "ftp://x.example/"}},
            "INVALID_RETURN_URL",
            "flow.afterCompletion.returnUrl",
        ),
        (
            {"type": "PAYMENT_METHOD_UPDATE", "afterCompletion": {"type": "PORTAL_HOMEPAGE", "returnUrl": RETURN_URL}},
            "INVALID_FLOW",
            "flow.afterCompletion.returnUrl",
        ),
        (
            {
                "type": "PAYMENT_METHOD_UPDATE",
                "afterCompletion": {"type": "HOSTED_CONFIRMATION", "customMessage": "x" * 501},
            },
            "INVALID_CUSTOM_MESSAGE",
            "flow.afterCompletion.customMessage",
        ),
        (
            {
                "type": "PAYMENT_METHOD_UPDATE",
                "afterCompletion": {"type": "REDIRECT", "returnUrl": RETURN_URL, "customMessage": "Hi"},
            },
            "INVALID_FLOW",
            "flow.afterCompletion.customMessage",
        ),
    ],
)
async def test_a_malformed_flow_is_refused_naming_its_field_and_writes_nothing(
    http, context, flow: dict, code: str, field: str
) -> None:
    shop = await active_shop(context)
    other_business = await Business.create(name="Other", support_email="o@other.example")
    other = await Product.create(
        business=other_business,
        livemode=True,
        name="Elsewhere",
        price_type=PriceType.RECURRING,
        price=100,
        currency="JPY",
    )
    names = {
        "{sub}": shop.subscription.id,
        "{plan}": shop.plans[2].id,
        "{other}": other.id,
        "{current}": shop.subscription.product_id,
    }
    flow = filled(flow, names)

    payload = await create(http, shop, flow)

    assert payload["link"] is None
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [(code, field)]
    assert await LoginToken.all().count() == 0


async def test_a_task_the_subscription_no_longer_allows_is_refused(http, context) -> None:
    shop = await active_shop(context)
    await Subscription.filter(id=shop.subscription.id).update(cancel_at_next_billing_date=True)
    already_cancelling = await create(http, shop, cancel_flow(shop))
    await Subscription.filter(id=shop.subscription.id).update(status=SubscriptionStatus.CANCELLED)
    ended_update = await create(http, shop, {"type": "SUBSCRIPTION_UPDATE", "subscriptionId": shop.subscription.id})

    for payload in (already_cancelling, ended_update):
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("FLOW_NOT_AVAILABLE", "flow.subscriptionId")]
    assert await LoginToken.all().count() == 0


async def test_a_configuration_without_the_feature_refuses_its_flow(http, context) -> None:
    shop = await active_shop(context)
    features = {"payment_method_update": {"enabled": False}, "subscription_update": {"enabled": False}}
    configuration = await PortalConfiguration.create(business=shop.business, livemode=True, features=features)

    cards = await create(http, shop, {"type": "PAYMENT_METHOD_UPDATE"}, configurationId=configuration.id)
    plans = await create(
        http,
        shop,
        {"type": "SUBSCRIPTION_UPDATE", "subscriptionId": shop.subscription.id},
        configurationId=configuration.id,
    )

    assert [(e["code"], e["field"]) for e in cards["errors"]] == [("FLOW_NOT_AVAILABLE", "flow.type")]
    assert [(e["code"], e["field"]) for e in plans["errors"]] == [("FLOW_NOT_AVAILABLE", "flow.subscriptionId")]
    assert await LoginToken.all().count() == 0


async def test_subscriptions_of_another_customer_business_or_mode_answer_like_missing_ones(http, context) -> None:
    shop = await active_shop(context)
    neighbour = await Customer.create(business=shop.business, livemode=True, email="bob@example.com")
    neighbours = await Subscription.create(
        business=shop.business,
        livemode=True,
        customer=neighbour,
        product_id=shop.subscription.product_id,
        status=SubscriptionStatus.ACTIVE,
        recurring_pre_tax_amount=980,
        currency="JPY",
        previous_billing_date=shop.subscription.previous_billing_date,
        next_billing_date=PERIOD_END,
    )
    elsewhere = await active_shop(context, business_name="Globex", email="ada@example.com")
    test_mode = await active_shop(context, business_name="Sakura Test", livemode=False)

    answers = [
        (await create(http, shop, cancel_flow(shop) | {"subscriptionId": subscription_id}))["errors"]
        for subscription_id in (
            neighbours.id,
            elsewhere.subscription.id,
            test_mode.subscription.id,
            "sub_doesnotexist",
            "not-an-id",
            "",
        )
    ]

    assert all(errors == answers[0] for errors in answers)
    assert [(e["code"], e["field"]) for e in answers[0]] == [("SUBSCRIPTION_NOT_FOUND", "flow.subscriptionId")]
    assert await LoginToken.all().count() == 0


# --- REST: POST /customers/{id}/customer-portal/session with flow_data ------------------------------------------


async def rest_session(http: httpx.AsyncClient, shop: Subscriber, body: object, **params: str) -> httpx.Response:
    return await http.post(
        f"/customers/{shop.customer.id}/customer-portal/session",
        params=params,
        json=body,
        headers=await bearer(shop.business),
    )


async def test_rest_takes_stripes_flow_data_with_configuration_and_locale(http, context) -> None:
    shop = await active_shop(context)
    configuration = await PortalConfiguration.create(business=shop.business, livemode=True)
    body = {
        "configuration_id": configuration.id,
        "locale": "fr",
        "flow_data": {
            "type": "subscription_update_confirm",
            "subscription_update_confirm": {
                "subscription_id": shop.subscription.id,
                "items": [{"product_id": shop.plans[0].id, "quantity": 3}],
            },
            "after_completion": {"type": "redirect", "redirect": {"return_url": RETURN_URL}},
        },
    }

    response = await rest_session(http, shop, body, return_url="https://sakura.example/")

    assert response.status_code == 200 and list(response.json()) == ["link"]
    session = await session_of(response.json()["link"])
    assert (session.configuration_id, session.locale, session.return_url) == (
        configuration.id,
        "fr",
        "https://sakura.example/",
    )
    assert session.flow["type"] == "subscription_update_confirm"
    assert (session.flow["product_id"], session.flow["quantity"]) == (shop.plans[0].id, 3)
    assert session.flow["after_completion"]["return_url"] == RETURN_URL


async def test_rest_without_a_body_still_opens_the_home(http, context) -> None:
    shop = await active_shop(context)

    response = await http.post(
        f"/customers/{shop.customer.id}/customer-portal/session", headers=await bearer(shop.business)
    )

    assert response.status_code == 200
    assert (await session_of(response.json()["link"])).flow is None


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"flow_data": {"type": "refund"}}, "INVALID_INPUT", "flow_data.type"),
        ({"flow": {"type": "payment_method_update"}}, "INVALID_INPUT", "flow"),
        (
            {"flow_data": {"type": "subscription_cancel"}},
            "INVALID_FLOW",
            "flow_data.subscription_cancel.subscription_id",
        ),
        (
            {"flow_data": {"type": "subscription_cancel", "subscription_cancel": {"subscription_id": "sub_nope"}}},
            "SUBSCRIPTION_NOT_FOUND",
            "flow_data.subscription_cancel.subscription_id",
        ),
        (
            {
                "flow_data": {
                    "type": "subscription_update_confirm",
                    "subscription_update_confirm": {
                        "subscription_id": "{sub}",
                        "product_id": "{plan}",
                        "quantity": "2",
                    },
                }
            },
            "INVALID_INPUT",
            "flow_data.subscription_update_confirm.quantity",
        ),
        (
            {
                "flow_data": {
                    "type": "subscription_update_confirm",
                    "subscription_update_confirm": {"subscription_id": "{sub}", "items": []},
                }
            },
            "INVALID_INPUT",
            "flow_data.subscription_update_confirm.items",
        ),
        (
            {"flow_data": {"type": "payment_method_update", "after_completion": {"type": "redirect"}}},
            "INVALID_FLOW",
            "flow_data.after_completion.redirect.return_url",
        ),
        (
            {
                "flow_data": {
                    "type": "payment_method_update",
                    "after_completion": {
                        "type": "hosted_confirmation",
                        "hosted_confirmation": {"custom_message": "x" * 501},
                    },
                }
            },
            "INVALID_CUSTOM_MESSAGE",
            "flow_data.after_completion.hosted_confirmation.custom_message",
        ),
        ({"configuration_id": "bpc_nope"}, "CONFIGURATION_NOT_FOUND", "configuration_id"),
        ({"locale": 7}, "INVALID_INPUT", "locale"),
        ([1, 2], "INVALID_BODY", "body"),
    ],
)
async def test_rest_refuses_a_bad_body_with_a_422_naming_the_field(http, context, body, code, field) -> None:
    shop = await active_shop(context)
    body = filled(body, {"{sub}": shop.subscription.id, "{plan}": shop.plans[2].id})

    response = await rest_session(http, shop, body)

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert await LoginToken.all().count() == 0


async def test_rest_answers_a_foreign_subscription_like_a_missing_one(http, context) -> None:
    shop = await active_shop(context)
    elsewhere = await active_shop(context, business_name="Globex")
    test_mode = await active_shop(context, business_name="Sakura Test", livemode=False)

    def body(subscription_id: str) -> dict:
        return {
            "flow_data": {"type": "subscription_cancel", "subscription_cancel": {"subscription_id": subscription_id}}
        }

    answers = [
        (await rest_session(http, shop, body(subscription_id))).json()
        for subscription_id in (elsewhere.subscription.id, test_mode.subscription.id, "sub_doesnotexist")
    ]

    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["code"] == "SUBSCRIPTION_NOT_FOUND"
    assert await LoginToken.all().count() == 0


# --- the pages ------------------------------------------------------------------------------------------------


async def open_link(http: httpx.AsyncClient, link: str) -> httpx.Response:
    """Show the link's confirm step, then confirm it; the answer to the confirmation."""
    path = httpx.URL(link).path
    confirm = await http.get(path)
    assert confirm.status_code == 200
    return await http.post(path, data={"csrf_token": csrf_from(confirm)})


async def deep_link(http: httpx.AsyncClient, shop: Subscriber, flow: dict, **variables) -> httpx.Response:
    payload = await create(http, shop, flow, **variables)
    assert payload["errors"] == []
    return await open_link(http, payload["link"])


def navigation_hidden(page: httpx.Response, business: str = "Sakura Fonts") -> bool:
    """The page wears the brand and offers sign-out, but no way to the rest of the portal."""
    assert business in page.text and 'action="/logout"' in page.text
    return 'href="/profile"' not in page.text and 'class="back-links"' not in page.text


async def test_opening_a_deep_link_confirms_first_then_lands_on_the_task(http, context) -> None:
    shop = await active_shop(context)
    payload = await create(http, shop, cancel_flow(shop))
    path = httpx.URL(payload["link"]).path

    await http.get(path)
    await http.get(path)
    opened = await open_link(http, payload["link"])

    assert opened.status_code == 303
    assert opened.headers["location"] == f"/subscriptions/{shop.subscription.id}/cancel"
    page = await http.get(opened.headers["location"])
    assert page.status_code == 200 and "Why are you cancelling?" in page.text
    assert navigation_hidden(page)


@pytest.mark.parametrize(
    ("flow", "landing"),
    [
        ({"type": "PAYMENT_METHOD_UPDATE"}, "/payment-methods"),
        ({"type": "SUBSCRIPTION_UPDATE", "subscriptionId": "{sub}"}, "/subscriptions/{sub}/change-plan"),
        (
            {"type": "SUBSCRIPTION_UPDATE_CONFIRM", "subscriptionId": "{sub}", "productId": "{plan}", "quantity": 2},
            "/subscriptions/{sub}/change-plan?product={plan}&quantity=2",
        ),
    ],
)
async def test_every_flow_lands_on_its_task_with_the_navigation_hidden(http, context, flow, landing) -> None:
    shop = await active_shop(context)
    flow = filled(flow, {"{sub}": shop.subscription.id, "{plan}": shop.plans[2].id})
    landing = landing.replace("{sub}", shop.subscription.id).replace("{plan}", shop.plans[2].id)

    opened = await deep_link(http, shop, flow)

    assert opened.headers["location"] == landing
    page = await http.get(landing)
    assert page.status_code == 200 and navigation_hidden(page)


async def test_other_portal_pages_lead_back_to_the_open_task(http, context) -> None:
    shop = await active_shop(context)
    await deep_link(http, shop, {"type": "PAYMENT_METHOD_UPDATE"})

    for path in ("/", "/profile", "/billing-history", f"/subscriptions/{shop.subscription.id}"):
        answer = await http.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/payment-methods"), path
    sign_out = await http.post("/logout", data={"csrf_token": csrf_from(await http.get("/payment-methods"))})
    assert sign_out.status_code == 303 and "/login/" in sign_out.headers["location"]


async def cancel(http: httpx.AsyncClient, shop: Subscriber) -> httpx.Response:
    path = f"/subscriptions/{shop.subscription.id}/cancel"
    form = await http.get(path)
    return await http.post(path, data={"csrf_token": csrf_from(form), "reason": "UNUSED", "when": "period_end"})


def sent_back(page: httpx.Response) -> bool:
    """The page sends the browser on to the merchant's return URL, with a link should it not follow."""
    return page.headers.get("refresh") == f"0; url={RETURN_URL}" and f'href="{RETURN_URL}"' in page.text


async def test_a_cancel_task_then_redirects_to_the_return_url_for_good(http, context) -> None:
    shop = await active_shop(context)
    after = {"afterCompletion": {"type": "REDIRECT", "returnUrl": RETURN_URL}}
    await deep_link(http, shop, cancel_flow(shop, **after))

    done = await cancel(http, shop)

    assert (done.status_code, done.headers["location"]) == (303, "/done")
    assert (await Subscription.get(id=shop.subscription.id)).cancel_at_next_billing_date is True
    assert sent_back(await http.get("/done"))
    for path in ("/", f"/subscriptions/{shop.subscription.id}/cancel", "/payment-methods"):
        assert (await http.get(path)).headers["location"] == "/done"


async def test_a_refused_form_in_a_flow_changes_nothing(http, context) -> None:
    shop = await active_shop(context)
    await deep_link(http, shop, cancel_flow(shop))

    refused = await http.post(f"/subscriptions/{shop.subscription.id}/cancel", data={"when": "period_end"})

    assert refused.status_code == 403
    assert (await Subscription.get(id=shop.subscription.id)).cancel_at_next_billing_date is False


async def confirm_plan(http: httpx.AsyncClient, landing: str) -> httpx.Response:
    preview = await http.get(landing)
    form = {
        "csrf_token": csrf_from(preview),
        "idempotency_key": IDEMPOTENCY_KEY.search(preview.text)[1],
        "product": re.search(r'type="hidden" name="product" value="([^"]+)"', preview.text)[1],
        "quantity": re.search(r'type="hidden" name="quantity" value="([^"]+)"', preview.text)[1],
    }
    return await http.post(landing.split("?")[0], data=form)


async def test_a_confirmed_plan_change_ends_on_the_hosted_confirmation(http, context) -> None:
    shop = await active_shop(context)
    flow = {
        "type": "SUBSCRIPTION_UPDATE_CONFIRM",
        "subscriptionId": shop.subscription.id,
        "productId": shop.plans[2].id,
        "afterCompletion": {"type": "HOSTED_CONFIRMATION", "customMessage": "<b>Welcome</b> to Pro!"},
    }
    opened = await deep_link(http, shop, flow, returnUrl=RETURN_URL)

    done = await confirm_plan(http, opened.headers["location"])

    assert (done.status_code, done.headers["location"]) == (303, "/done")
    assert (await Subscription.get(id=shop.subscription.id)).product_id == shop.plans[2].id
    page = await http.get("/done")
    assert page.status_code == 200 and navigation_hidden(page)
    assert "Your plan has changed" in page.text
    assert "&lt;b&gt;Welcome&lt;/b&gt; to Pro!" in page.text and "<b>Welcome" not in page.text
    assert f'href="{RETURN_URL}"' in page.text and "Return to Sakura Fonts" in page.text
    assert (await http.get("/")).headers["location"] == "/done"


async def test_the_hosted_confirmation_has_no_return_button_without_a_return_url(http, context) -> None:
    shop = await active_shop(context)
    await deep_link(http, shop, cancel_flow(shop, afterCompletion={"type": "HOSTED_CONFIRMATION"}))

    await cancel(http, shop)
    page = await http.get("/done")

    assert "Your subscription is cancelled" in page.text and "refresh" not in page.headers
    assert "Return to Sakura Fonts" not in page.text


async def test_a_saved_card_ends_a_portal_homepage_flow_on_the_full_portal(http, context) -> None:
    shop = await active_shop(context)
    await deep_link(http, shop, {"type": "PAYMENT_METHOD_UPDATE"})
    cards = await http.get("/payment-methods")
    assert navigation_hidden(cards)
    state = csrf_from(cards)

    saved = await http.get(
        "/payment-methods/added",
        params={
            "business": shop.business.id,
            "processor_token": "pm_card_mastercard",
            "default": "1",
            "state": state,
            "return_to": "/payment-methods",
        },
    )

    assert (saved.status_code, saved.headers["location"]) == (303, "/")
    assert await PaymentMethod.filter(customer_id=shop.customer.id, detached_at__isnull=True).count() == 2
    home = await http.get("/")
    assert home.status_code == 200 and 'href="/profile"' in home.text
    assert (await http.get("/profile")).status_code == 200


async def test_a_task_that_became_impossible_is_explained_on_its_page(http, context) -> None:
    shop = await active_shop(context)
    await deep_link(http, shop, cancel_flow(shop))
    await Subscription.filter(id=shop.subscription.id).update(status=SubscriptionStatus.CANCELLED)

    page = await http.get(f"/subscriptions/{shop.subscription.id}/cancel")

    assert page.status_code == 200 and navigation_hidden(page)
    assert "Why are you cancelling?" not in page.text


async def test_accepting_the_retention_offer_completes_a_cancel_task(http, context) -> None:
    shop = await active_shop(context)
    await retention_offer(shop)
    await deep_link(http, shop, cancel_flow(shop, afterCompletion={"type": "HOSTED_CONFIRMATION"}))
    path = f"/subscriptions/{shop.subscription.id}"

    offer = await cancel(http, shop)
    accepted = await http.post(f"{path}/retention-offer", data={"csrf_token": csrf_from(offer)})

    assert (accepted.status_code, accepted.headers["location"]) == (303, "/done")
    assert "Thank you for staying." in (await http.get("/done")).text
    assert (await Subscription.get(id=shop.subscription.id)).cancel_at_next_billing_date is False


async def test_a_plan_chosen_on_an_update_task_then_redirects(http, context) -> None:
    shop = await active_shop(context)
    after = {"afterCompletion": {"type": "REDIRECT", "returnUrl": RETURN_URL}}
    opened = await deep_link(
        http, shop, {"type": "SUBSCRIPTION_UPDATE", "subscriptionId": shop.subscription.id, **after}
    )

    done = await confirm_plan(http, f"{opened.headers['location']}?product={shop.plans[0].id}")

    assert (done.status_code, done.headers["location"]) == (303, "/done")
    assert sent_back(await http.get("/done"))
    assert (await Subscription.get(id=shop.subscription.id)).scheduled_change["product_id"] == shop.plans[0].id

"""A JSON string holding a lone UTF-16 surrogate escape (`"\\ud800"`) is not text: every route that reads a JSON body
(found in the app's routes, so a new one is covered at once) and both GraphQL endpoints, by POST and by GET
variables, answer 400 in their own error shape, never 500, and change nothing."""

import json
from urllib.parse import urlencode

import httpx
import pytest
from starlette.routing import Route
from tortoise import Tortoise

from gateway.app import create_app
from gateway.settings import Settings
from merchants.api_keys import create_api_key
from models import Discount, LicenseKeyInstance, ProductCollection, Subscription, WebhookEndpoint
from models.enums import DiscountDuration, DiscountType
from tests.support import factories

LONE = "\ud800"
# A value for every string field the JSON routes read, each a lone surrogate: whichever field a route reads first,
# it meets one. json.dumps writes each as the six characters `\ud800`, as a client's encoder would.
STRING_FIELDS = (
    "email",
    "code",
    "business_id",
    "name",
    "license_key",
    "license_key_instance_id",
    "payment_id",
    "reason",
    "product_id",
    "phone_number",
    "tax_id",
    "locale",
    "configuration_id",
    "processor_token",
    "payment_method_id",
    "discount_code",
    "effective_at",
    "proration_billing_mode",
)
BODY = json.dumps({**{name: LONE for name in STRING_FIELDS}, "customer": {"customer_id": LONE}}).encode()
BODY_METHODS = {"POST", "PUT", "PATCH"}
GRAPHQL_PATHS = {"/graphql", "/merchant/graphql"}
# Signed deliveries: a forged one is refused for its signature before its body is read.
SIGNED_PATHS = {"/webhooks/stripe/{business_id}/{mode}"}


@pytest.fixture
async def world() -> dict[str, str]:
    northwind = await factories.business("Northwind")
    ada = await factories.customer_with_history(northwind, "ada@example.com")
    secret, _ = await create_api_key(northwind, livemode=True)
    percent = {"type": DiscountType.PERCENTAGE, "amount": 1000, "duration": DiscountDuration.FOREVER}
    discount = await Discount.create(business=northwind, livemode=True, code="WELCOME", **percent)
    instance = await LicenseKeyInstance.create(license_key_id=ada.license_keys[0].id, name="Laptop")
    endpoint = await WebhookEndpoint.create(business=northwind, livemode=True, url="https://hooks.example", secret="s")
    collection = await ProductCollection.create(business=northwind, livemode=True, name="Plans")
    plan = await Subscription.get(id=ada.subscriptions[0].id)
    return {
        "business_id": northwind.id,
        "customer_id": ada.customer.id,
        "subscription_id": ada.subscriptions[0].id,
        "payment_id": ada.purchases[0].id,
        "license_key_id": ada.license_keys[0].id,
        "discount_id": discount.id,
        "instance_id": instance.id,
        "webhook_id": endpoint.id,
        "product_id": plan.product_id,
        "collection_id": collection.id,
        "setup_id": "seti_unknown",
        "charge_id": "ch_unknown",
        "mode": "live",
        "key": secret,
        "token": await factories.business_token(ada.customer),
    }


def body_routes() -> list[tuple[str, str]]:
    """`(method, path template)` of every REST route that may take a body; the GraphQL endpoints are tested apart."""
    app = create_app(Settings(secret_key="routes only"), manage_database=False)
    return sorted(
        {
            (method, route.path)
            for route in app.routes
            if isinstance(route, Route) and route.path not in GRAPHQL_PATHS
            for method in (route.methods or set()) & BODY_METHODS
        }
    )


async def snapshot() -> dict[str, list[dict]]:
    """Every row of every table, but what any request touches: the rate limits' counters, when a key was last used."""
    rows = {
        name: await model.all().order_by(model._meta.pk_attr).values()
        for name, model in Tortoise.apps["portal"].items()
        if name != "RateLimitBucket"
    }
    for key in rows["ApiKey"]:
        del key["last_used_at"]
    return rows


@pytest.mark.parametrize(("method", "template"), body_routes())
async def test_a_lone_surrogate_in_a_json_body_is_a_400_and_changes_nothing(
    client: httpx.AsyncClient, world: dict[str, str], method: str, template: str
) -> None:
    missing = [name for name in Route(template, lambda request: None).param_convertors if name not in world]
    assert not missing, f"give the test a value for {missing} of {template}"
    path = template.format(**world)
    before = await snapshot()

    response = await client.request(
        method,
        path,
        content=BODY,
        headers={
            "Authorization": f"Bearer {world['key']}",
            "Content-Type": "application/json",
            "Idempotency-Key": "lone-surrogate",
        },
    )

    if response.headers.get("content-type", "").startswith("application/json"):
        assert response.status_code == 400, response.text
        body = response.json()
        if template in SIGNED_PATHS:
            assert body["code"] == "INVALID_SIGNATURE"
        else:
            assert body["code"] == "INVALID_UNICODE" and "surrogate" in body["message"]
    else:  # a page, which takes forms: a JSON body is refused as a forged or broken form, or sent to sign in
        assert response.status_code < 500, response.text
    assert await snapshot() == before


@pytest.mark.parametrize("path", sorted(GRAPHQL_PATHS))
@pytest.mark.parametrize(
    "body",
    [
        {"query": "query($x: String) { __typename }", "variables": {"x": LONE}},
        {"query": "{ __typename }", "operationName": LONE},
        {"query": "{ __typename }", "variables": {LONE: "x"}},
        {"query": "{ __typename }", "extensions": {"x": ["\udc00"]}},
    ],
)
async def test_a_lone_surrogate_in_a_graphql_post_is_a_400_graphql_error(
    client: httpx.AsyncClient, world: dict[str, str], path: str, body: dict
) -> None:
    token = world["token"] if path == "/graphql" else world["key"]

    response = await client.post(
        path,
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"} and "surrogate" in error["message"]


async def test_a_lone_surrogate_in_graphql_get_variables_is_a_400_graphql_error(
    client: httpx.AsyncClient, world: dict[str, str]
) -> None:
    query = urlencode({"query": "query($x: String) { __typename }", "variables": json.dumps({"x": LONE})})

    response = await client.get(f"/graphql?{query}", headers={"Authorization": f"Bearer {world['token']}"})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"} and "surrogate" in error["message"]


async def test_a_paired_surrogate_escape_is_text_like_any_other(client: httpx.AsyncClient, world) -> None:
    """`\\ud83d\\ude00` is one character, 😀, written as JSON's two escapes: it is taken."""
    body = json.dumps({"name": "Ada \U0001f600"}).encode()
    assert b"\\ud83d\\ude00" in body

    response = await client.patch(
        f"/customers/{world['customer_id']}",
        content=body,
        headers={"Authorization": f"Bearer {world['key']}", "Content-Type": "application/json"},
    )

    assert response.status_code == 200 and response.json()["name"] == "Ada \U0001f600"

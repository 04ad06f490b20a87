"""CORS for the customer API: browsers on an origin a business lists may call /graphql and /auth/* with a Bearer
token; any other origin, and every origin by default, gets no CORS header at all."""

import httpx
import pytest

from models import Business, Customer
from tests.support import factories
from tests.support.merchant import merchant

LISTED = "https://app.acme.example"
UNLISTED = "https://evil.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
QUERY = {"query": "{ viewer { email } }"}


@pytest.fixture
async def token() -> str:
    acme = await Business.create(name="Acme", support_email="help@acme.example", cors_origins=[LISTED])
    await Business.create(name="Bravo", support_email="help@bravo.example")
    customer = await Customer.create(business=acme, email="alice@example.com", livemode=True)
    return await factories.business_token(customer)


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


@pytest.mark.parametrize("path", ["/graphql", "/auth/email-code", "/auth/token", "/test/auth/token"])
async def test_a_listed_origin_gets_an_answer_to_its_preflight(client, token, path: str) -> None:
    response = await client.options(path, headers={"Origin": LISTED, **PREFLIGHT})

    assert response.status_code == 204
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == LISTED
    assert {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")} == {
        "authorization",
        "content-type",
    }
    assert {m.strip() for m in headers["access-control-allow-methods"].split(",")} == {"POST", "GET", "OPTIONS"}
    assert "access-control-allow-credentials" not in headers
    assert "Origin" in response.headers["vary"]


async def test_a_listed_origin_may_read_the_answer_to_a_bearer_request(client, token) -> None:
    response = await client.post("/graphql", json=QUERY, headers={"Origin": LISTED, "Authorization": f"Bearer {token}"})

    assert response.json() == {"data": {"viewer": {"email": "alice@example.com"}}}
    assert response.headers["access-control-allow-origin"] == LISTED
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]


async def test_an_unlisted_origin_gets_no_cors_headers(client, token) -> None:
    preflight = await client.options("/graphql", headers={"Origin": UNLISTED, **PREFLIGHT})
    actual = await client.post("/graphql", json=QUERY, headers={"Origin": UNLISTED, "Authorization": f"Bearer {token}"})

    assert preflight.status_code != 204
    assert cors_headers(preflight) == {}
    assert cors_headers(actual) == {}


async def test_by_default_no_origin_is_allowed(client) -> None:
    await Business.create(name="Acme", support_email="help@acme.example")

    preflight = await client.options("/graphql", headers={"Origin": LISTED, **PREFLIGHT})
    actual = await client.post("/auth/email-code", json={"email": "a@example.com"}, headers={"Origin": LISTED})

    assert cors_headers(preflight) == {}
    assert actual.status_code == 202
    assert cors_headers(actual) == {}


async def test_the_merchant_api_and_the_pages_stay_closed_to_listed_origins(client, token) -> None:
    for path in ("/merchant/graphql", "/login"):
        response = await client.options(path, headers={"Origin": LISTED, **PREFLIGHT})
        assert cors_headers(response) == {}


UPDATE_ORIGINS = """mutation($input: BusinessInput!) {
  updateBusiness(input: $input) { business { corsOrigins } errors { code field message } } }"""


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        ("https://app.acme.example:0", "a port from 1 to 65535"),
        ("https://app.acme.example:65536", "a port from 1 to 65535"),
        ("https://app.acme.example:99999", "a port from 1 to 65535"),
        ("https://app.acme.example:https", "a port from 1 to 65535"),
        ("https://user@app.acme.example", "no user name or password"),
        ("https://user:secret@app.acme.example", "no user name or password"),
        ("https://app.acme.example/path", "no path, query or fragment"),
        ("https://app.acme.example/", "no path, query or fragment"),
        ("https://app.acme.example?x=1", "no path, query or fragment"),
        ("https://app.acme.example#top", "no path, query or fragment"),
        ("http://app.acme.example", "https://, or http:// for localhost"),
        ("ftp://app.acme.example", "https://, or http:// for localhost"),
        ("https://*.acme.example", "a host name"),
    ],
)
async def test_a_cors_origin_that_is_not_one_is_refused_with_the_reason(client, origin: str, reason: str) -> None:
    acme = await merchant()

    response = await client.post(
        "/merchant/graphql",
        json={"query": UPDATE_ORIGINS, "variables": {"input": {"corsOrigins": [origin]}}},
        headers=acme.live,
    )

    payload = response.json()["data"]["updateBusiness"]
    [error] = payload["errors"]
    assert payload["business"] is None and (error["code"], error["field"]) == ("INVALID_INPUT", "corsOrigins")
    assert reason in error["message"] and origin in error["message"]
    assert (await Business.get(id=acme.business.id)).cors_origins == []

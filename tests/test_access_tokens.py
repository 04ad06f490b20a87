"""Merchant-minted access tokens: a Bearer token for the customer GraphQL API that opens exactly one customer's
business portal, minted and revoked by the API key of that business in that mode (merchant GraphQL and REST)."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from access.access_tokens import mint_access_token
from access.login_links import LinkProblem, consume_link, peek_link
from access.sessions import SessionPolicy, viewer_for_token
from gateway.http.log_redaction import redact_secrets
from gateway.http.request_auth import SESSION_COOKIE
from gateway.settings import Settings
from merchants.api_keys import create_api_key, revoke_api_key
from models import ApiKey, PortalSession
from tests.support import factories
from tests.support.merchant import bearer

NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
POLICY = SessionPolicy()

CREATE = """
mutation($customerId: ID!, $expiresInSeconds: Int) {
  createCustomerAccessToken(input: {customerId: $customerId, expiresInSeconds: $expiresInSeconds}) {
    customerAccessToken { tokenId customerId scope expiresAt revokedAt accessToken }
    errors { code field message }
  }
}
"""
REVOKE = """
mutation($tokenId: ID!) {
  revokeCustomerAccessToken(input: {tokenId: $tokenId}) {
    customerAccessToken { tokenId customerId revokedAt accessToken }
    errors { code field message }
  }
}
"""
LIST = """
query($customerId: ID) {
  customerAccessTokens(customerId: $customerId) {
    totalCount
    nodes { tokenId customerId scope createdAt expiresAt revokedAt apiKeyPrefix accessToken }
  }
}
"""
PORTAL_LINK = """
mutation($customerId: ID!) { createPortalSession(input: {customerId: $customerId}) { link errors { code } } }
"""
VIEWER = """
{ viewer { scope livemode customer { id email } businesses { name }
           subscriptions(first: 100) { totalCount nodes { id } }
           invoices(first: 100) { totalCount nodes { id } } } }
"""


@pytest.fixture
async def shops() -> dict:
    """Alice buys from Acme (live and test) and from Bravo with the same email; Bob buys from Acme too."""
    acme, bravo = await factories.business("Acme"), await factories.business("Bravo")
    return {
        "acme": acme,
        "bravo": bravo,
        "alice": await factories.customer_with_history(acme, "alice@example.com"),
        "alice_test": await factories.customer_with_history(acme, "alice@example.com", livemode=False),
        "alice_bravo": await factories.customer_with_history(bravo, "alice@example.com"),
        "bob": await factories.customer_with_history(acme, "bob@example.com"),
    }


async def merchant(client: httpx.AsyncClient, headers: dict, query: str, **variables: object) -> dict:
    response = await client.post("/merchant/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200
    return response.json()["data"]


async def mint(client: httpx.AsyncClient, headers: dict, customer_id: str, **variables: object) -> dict:
    data = await merchant(client, headers, CREATE, customerId=customer_id, **variables)
    return data["createCustomerAccessToken"]


async def viewer(client: httpx.AsyncClient, token: str) -> dict | None:
    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    return response.json()["data"]["viewer"]


def ids(rows: list) -> set[str]:
    return {row.id for row in rows}


async def test_a_minted_token_opens_only_that_customers_business_portal(client, shops) -> None:
    minted = await mint(client, await bearer(shops["acme"]), shops["alice"].customer.id)

    token = minted["customerAccessToken"]
    assert minted["errors"] == []
    assert token["accessToken"].startswith("cps_")
    assert (token["customerId"], token["scope"], token["revokedAt"]) == (shops["alice"].customer.id, "BUSINESS", None)
    seen = await viewer(client, token["accessToken"])
    assert (seen["scope"], seen["livemode"], seen["businesses"]) == ("BUSINESS", True, [{"name": "Acme"}])
    assert seen["customer"] == {"id": shops["alice"].customer.id, "email": "alice@example.com"}
    # Alice's records at Bravo and in test mode share her email, and Bob shares her business: none of it shows.
    assert {node["id"] for node in seen["subscriptions"]["nodes"]} == ids(shops["alice"].subscriptions)
    assert {node["id"] for node in seen["invoices"]["nodes"]} == ids(shops["alice"].invoices)
    session = await PortalSession.get(id=token["tokenId"])
    assert session.minted_by_id == (await ApiKey.get(business_id=shops["acme"].id)).id


async def test_the_rest_endpoint_mints_the_same_kind_of_token(client, shops) -> None:
    customer = shops["alice"].customer

    response = await client.post(
        f"/customers/{customer.id}/access-tokens", json={"expires_in_seconds": 600}, headers=await bearer(shops["acme"])
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "expires_at", "scope", "customer_id", "token_id"}
    assert (body["scope"], body["customer_id"]) == ("business", customer.id)
    session = await PortalSession.get(id=body["token_id"])
    assert session.expires_at - session.last_seen_at == timedelta(seconds=600)
    assert datetime.fromisoformat(body["expires_at"]) == session.expires_at
    assert (await viewer(client, body["access_token"]))["customer"]["id"] == customer.id


async def test_without_a_lifetime_the_deployments_default_applies(shops) -> None:
    api_key = (await create_api_key(shops["acme"], livemode=True))[1]

    minted = await mint_access_token(
        api_key=api_key, customer_id=shops["alice"].customer.id, expires_in_seconds=None, default_seconds=900, now=NOW
    )

    assert minted.session.expires_at == NOW + timedelta(seconds=900)
    assert Settings().access_token_seconds == 3600


@pytest.mark.parametrize("value", ["", "59", "86401", "soon"])
def test_the_default_lifetime_setting_is_refused_out_of_bounds(monkeypatch, value: str) -> None:
    monkeypatch.setenv("PORTAL_SECRET_KEY", "test-secret")
    monkeypatch.setenv("PORTAL_ACCESS_TOKEN_SECONDS", value)
    if value == "":
        assert Settings.from_env().access_token_seconds == 3600
        return
    with pytest.raises(ValueError):
        Settings.from_env()


async def test_a_customer_outside_the_keys_business_and_mode_answers_like_a_missing_one(client, shops) -> None:
    acme_live = await bearer(shops["acme"])
    answers = [
        await mint(client, acme_live, customer_id)
        for customer_id in (
            shops["alice_bravo"].customer.id,  # another business
            shops["alice_test"].customer.id,  # test mode, with a live key
            "cus_doesnotexist000000000000",
            "not-an-id",
        )
    ]

    assert answers[0] == {
        "customerAccessToken": None,
        "errors": [{"code": "CUSTOMER_NOT_FOUND", "field": "customerId", "message": "No such customer"}],
    }
    assert all(answer == answers[0] for answer in answers)
    assert await PortalSession.all().count() == 0


async def test_over_rest_a_foreign_customer_is_a_404_like_a_missing_one(client, shops) -> None:
    acme_live = await bearer(shops["acme"])
    responses = [
        await client.post(f"/customers/{customer_id}/access-tokens", headers=acme_live)
        for customer_id in (shops["alice_bravo"].customer.id, shops["alice_test"].customer.id, "cus_missing")
    ]

    assert {response.status_code for response in responses} == {404}
    assert len({response.content for response in responses}) == 1
    assert await PortalSession.all().count() == 0


@pytest.mark.parametrize("seconds", [59, 86401])
async def test_a_lifetime_out_of_bounds_is_refused_and_nothing_minted(client, shops, seconds: int) -> None:
    answer = await mint(client, await bearer(shops["acme"]), shops["alice"].customer.id, expiresInSeconds=seconds)

    assert answer["customerAccessToken"] is None
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("INVALID_EXPIRES_IN_SECONDS", "expiresInSeconds")]
    assert await PortalSession.all().count() == 0


@pytest.mark.parametrize("body", [{"expires_in_seconds": "600"}, {"expires_in_seconds": True}, [600]])
async def test_rest_refuses_a_lifetime_that_is_not_a_whole_number(client, shops, body: object) -> None:
    response = await client.post(
        f"/customers/{shops['alice'].customer.id}/access-tokens", json=body, headers=await bearer(shops["acme"])
    )

    assert response.status_code == 422
    assert await PortalSession.all().count() == 0


async def test_a_token_dies_at_its_expiry_and_not_before_even_when_idle(shops) -> None:
    api_key = (await create_api_key(shops["acme"], livemode=True))[1]
    customer_id = shops["alice"].customer.id
    short = await mint_access_token(
        api_key=api_key, customer_id=customer_id, expires_in_seconds=60, default_seconds=3600, now=NOW
    )
    long = await mint_access_token(
        api_key=api_key, customer_id=customer_id, expires_in_seconds=86400, default_seconds=3600, now=NOW
    )

    assert await viewer_for_token(short.access_token, POLICY, NOW + timedelta(seconds=59)) is not None
    assert await viewer_for_token(short.access_token, POLICY, NOW + timedelta(seconds=60)) is None
    # Unused for longer than a browser session's idle hour, yet alive until the expiry the merchant was told.
    assert await viewer_for_token(long.access_token, POLICY, NOW + timedelta(hours=5)) is not None
    assert await viewer_for_token(long.access_token, POLICY, NOW + timedelta(hours=24)) is None


async def test_a_minted_token_is_refused_as_a_browser_cookie(client, shops) -> None:
    token = (await mint(client, await bearer(shops["acme"]), shops["alice"].customer.id))["customerAccessToken"]
    query = {"query": "{ viewer { email } }"}

    as_bearer = await client.get("/graphql", params=query, headers={"Authorization": f"Bearer {token['accessToken']}"})
    client.cookies.set(SESSION_COOKIE, token["accessToken"])
    as_cookie = await client.get("/graphql", params=query)
    page = await client.get("/", follow_redirects=False)

    assert as_bearer.json()["data"] == {"viewer": {"email": "alice@example.com"}}
    assert as_cookie.json()["data"] == {"viewer": None}
    assert as_cookie.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert page.status_code in {302, 303, 307}


async def test_revoking_ends_the_token(client, shops) -> None:
    acme_live = await bearer(shops["acme"])
    token = (await mint(client, acme_live, shops["alice"].customer.id))["customerAccessToken"]

    revoked = (await merchant(client, acme_live, REVOKE, tokenId=token["tokenId"]))["revokeCustomerAccessToken"]

    assert revoked["errors"] == []
    assert revoked["customerAccessToken"]["tokenId"] == token["tokenId"]
    assert revoked["customerAccessToken"]["revokedAt"] is not None
    assert revoked["customerAccessToken"]["accessToken"] is None
    assert await viewer(client, token["accessToken"]) is None


async def test_another_key_of_the_same_business_and_mode_may_revoke(client, shops) -> None:
    token = (await mint(client, await bearer(shops["acme"]), shops["alice"].customer.id))["customerAccessToken"]

    revoked = await merchant(client, await bearer(shops["acme"]), REVOKE, tokenId=token["tokenId"])

    assert revoked["revokeCustomerAccessToken"]["errors"] == []
    assert await viewer(client, token["accessToken"]) is None


async def test_only_the_same_business_and_mode_can_revoke_and_others_change_nothing(client, shops) -> None:
    token = (await mint(client, await bearer(shops["acme"]), shops["alice"].customer.id))["customerAccessToken"]
    browser_session = await factories.business_token(shops["bob"].customer)
    browser_session_id = (await PortalSession.get(customer_id=shops["bob"].customer.id)).id

    answers = [
        (await merchant(client, headers, REVOKE, tokenId=token_id))["revokeCustomerAccessToken"]
        for headers, token_id in (
            (await bearer(shops["bravo"]), token["tokenId"]),  # another business
            (await bearer(shops["acme"], livemode=False), token["tokenId"]),  # the test mode of the same business
            (await bearer(shops["acme"]), browser_session_id),  # a customer's own sign-in is not the merchant's
            (await bearer(shops["acme"]), "ps_doesnotexist00000000000"),
            (await bearer(shops["acme"]), "nonsense"),
        )
    ]

    assert answers[0] == {
        "customerAccessToken": None,
        "errors": [{"code": "TOKEN_NOT_FOUND", "field": "tokenId", "message": "No such access token"}],
    }
    assert all(answer == answers[0] for answer in answers)
    assert await viewer(client, token["accessToken"]) is not None
    assert await viewer(client, browser_session) is not None
    assert await PortalSession.filter(revoked_at__isnull=False).count() == 0


async def test_rest_revokes_a_token_of_that_customer_only(client, shops) -> None:
    acme_live = await bearer(shops["acme"])
    alice, bob = shops["alice"].customer, shops["bob"].customer
    minted = (await client.post(f"/customers/{alice.id}/access-tokens", headers=acme_live)).json()

    wrong_customer = await client.delete(f"/customers/{bob.id}/access-tokens/{minted['token_id']}", headers=acme_live)
    other_business = await client.delete(
        f"/customers/{alice.id}/access-tokens/{minted['token_id']}", headers=await bearer(shops["bravo"])
    )
    assert (wrong_customer.status_code, other_business.status_code) == (404, 404)
    assert await viewer(client, minted["access_token"]) is not None

    revoked = await client.delete(f"/customers/{alice.id}/access-tokens/{minted['token_id']}", headers=acme_live)
    again = await client.delete(f"/customers/{alice.id}/access-tokens/{minted['token_id']}", headers=acme_live)

    assert (revoked.status_code, again.status_code) == (204, 204)
    assert await viewer(client, minted["access_token"]) is None


async def test_the_token_endpoints_want_a_valid_api_key(client, shops) -> None:
    customer_id = shops["alice"].customer.id
    browser_session = await factories.business_token(shops["alice"].customer)

    for headers in ({}, {"Authorization": f"Bearer {browser_session}"}):
        assert (await client.post(f"/customers/{customer_id}/access-tokens", headers=headers)).status_code == 401
    assert await PortalSession.all().count() == 1


def test_a_minted_token_is_redacted_from_logs() -> None:
    token = "cps_" + "Ab9_-" * 8

    assert token not in redact_secrets(f"Authorization: Bearer {token}")


async def graphql_answer(client: httpx.AsyncClient, token: str) -> tuple[int, dict]:
    response = await client.post(
        "/graphql", json={"query": "{ viewer { email } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.json()


async def test_revoking_the_api_key_ends_the_tokens_it_minted(client, shops) -> None:
    secret, api_key = await create_api_key(shops["acme"], livemode=True)
    alice = shops["alice"].customer.id
    doomed = (await mint(client, {"Authorization": f"Bearer {secret}"}, alice))["customerAccessToken"]
    kept = (await mint(client, await bearer(shops["acme"]), alice))["customerAccessToken"]

    await revoke_api_key(api_key.id)

    assert await graphql_answer(client, doomed["accessToken"]) == await graphql_answer(client, "cps_" + "A" * 43)
    assert await viewer(client, kept["accessToken"]) is not None


async def test_revoking_the_api_key_ends_its_magic_links_and_the_sessions_they_opened(client, shops) -> None:
    secret, api_key = await create_api_key(shops["acme"], livemode=True)
    headers = {"Authorization": f"Bearer {secret}"}
    alice = shops["alice"].customer.id

    async def rest_link(headers: dict) -> str:
        response = await client.post(f"/customers/{alice}/customer-portal/session", headers=headers)
        return response.json()["link"].rsplit("/", 1)[1]

    unopened = [
        await rest_link(headers),
        (await merchant(client, headers, PORTAL_LINK, customerId=alice))["createPortalSession"]["link"].rsplit("/")[-1],
    ]
    opened = await consume_link(await rest_link(headers), client_ip="203.0.113.5", policy=POLICY)
    other_key_link = await rest_link(await bearer(shops["acme"]))

    await revoke_api_key(api_key.id)

    for link in unopened:
        assert (await peek_link(link)).problem == LinkProblem.EXPIRED
        assert (await client.get(f"/session/{link}")).status_code == 410
        assert (await consume_link(link, client_ip="203.0.113.5", policy=POLICY)).problem == LinkProblem.EXPIRED
    assert await viewer_for_token(opened.session_token, POLICY, from_cookie=True) is None
    assert (await peek_link(other_key_link)).valid
    assert await PortalSession.filter(revoked_at__isnull=True).count() == 1


async def test_the_merchant_lists_the_live_tokens_minted_in_its_business_and_mode(client, shops) -> None:
    acme_live = await bearer(shops["acme"])
    alice, bob = shops["alice"].customer.id, shops["bob"].customer.id
    live = [(await mint(client, acme_live, customer))["customerAccessToken"] for customer in (alice, bob)]
    revoked = (await mint(client, acme_live, alice))["customerAccessToken"]
    await merchant(client, acme_live, REVOKE, tokenId=revoked["tokenId"])
    old_secret, old_key = await create_api_key(shops["acme"], livemode=True)
    await mint(client, {"Authorization": f"Bearer {old_secret}"}, alice)
    await revoke_api_key(old_key.id)
    api_key = await ApiKey.get(business_id=shops["acme"].id, livemode=True, revoked_at__isnull=True)
    await mint_access_token(api_key=api_key, customer_id=alice, expires_in_seconds=60, default_seconds=60, now=NOW)
    await factories.business_token(shops["alice"].customer)  # Alice's own sign-in is not a minted token

    response = await client.post("/merchant/graphql", json={"query": LIST}, headers=acme_live)
    listed = response.json()["data"]["customerAccessTokens"]
    narrowed = (await merchant(client, acme_live, LIST, customerId=alice))["customerAccessTokens"]

    newest_first = [live[1], live[0]]
    assert listed["totalCount"] == 2
    assert [node["tokenId"] for node in listed["nodes"]] == [token["tokenId"] for token in newest_first]
    for node, token in zip(listed["nodes"], newest_first, strict=True):
        session = await PortalSession.get(id=token["tokenId"])
        assert node == {
            "tokenId": session.id,
            "customerId": session.customer_id,
            "scope": "BUSINESS",
            "createdAt": session.created_at.isoformat(),
            "expiresAt": session.expires_at.isoformat(),
            "revokedAt": None,
            "apiKeyPrefix": api_key.prefix,
            "accessToken": None,
        }
        assert token["accessToken"] not in response.text
    assert acme_live["Authorization"].removeprefix("Bearer ") not in response.text
    assert [node["tokenId"] for node in narrowed["nodes"]] == [live[0]["tokenId"]]


async def test_another_business_or_mode_lists_none_of_the_tokens(client, shops) -> None:
    acme_live = await bearer(shops["acme"])
    await mint(client, acme_live, shops["alice"].customer.id)
    nothing = {"customerAccessTokens": {"totalCount": 0, "nodes": []}}

    for headers, customer_id in (
        (await bearer(shops["bravo"]), None),
        (await bearer(shops["bravo"]), shops["alice"].customer.id),
        (await bearer(shops["acme"], livemode=False), None),
        (await bearer(shops["acme"], livemode=False), shops["alice"].customer.id),
        (acme_live, shops["alice_bravo"].customer.id),
        (acme_live, "cus_doesnotexist000000000000"),
        (acme_live, "nonsense"),
    ):
        assert await merchant(client, headers, LIST, customerId=customer_id) == nothing

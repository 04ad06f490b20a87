"""The merchant's tools for portal links: the REST endpoint, the merchant GraphQL API and the CLI.

Every one of them acts for one business in one mode; a customer outside it answers like a missing one.
"""

import asyncio
import dataclasses
import hashlib
import itertools
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from access.login_links import consume_link, peek_link
from access.sessions import SessionPolicy
from core.email_outbox import opened_context
from gateway.app import create_app
from gateway.settings import Settings
from merchants.api_keys import create_api_key, revoke_api_key
from models import Business, Customer, EmailMessage, LoginToken, PortalConfiguration
from models.database import tortoise_config
from tests.support.cli import portal as run_portal

BASE_URL = "https://portal.example"
SETTINGS = Settings(base_url=BASE_URL, portal_name="Portal", secret_key="test-secret-key")

CREATE_PORTAL_SESSION = """
mutation Create($customerId: ID!, $sendEmail: Boolean, $returnUrl: String, $locale: String, $configurationId: ID) {
  createPortalSession(input: {customerId: $customerId, sendEmail: $sendEmail, returnUrl: $returnUrl,
                              locale: $locale, configurationId: $configurationId}) {
    link
    expiresAt
    errors { code field message }
  }
}
"""


@pytest.fixture
def settings() -> Settings:
    """The app's settings for the conftest client: links in the emails and answers start with BASE_URL."""
    return SETTINGS


async def make_customer(business_name: str = "Acme", livemode: bool = True) -> Customer:
    business = await Business.create(name=business_name, support_email="help@acme.example")
    return await Customer.create(business=business, email="alice@example.com", livemode=livemode)


async def key_for(customer: Customer, livemode: bool | None = None) -> dict[str, str]:
    business = await Business.get(id=customer.business_id)
    secret, _ = await create_api_key(business, livemode=customer.livemode if livemode is None else livemode)
    return {"Authorization": f"Bearer {secret}"}


async def customer_behind(link: str) -> str:
    result = await consume_link(link.rsplit("/", 1)[1], client_ip="203.0.113.7", policy=SessionPolicy())
    return result.session.customer_id


def session_path(customer_id: str) -> str:
    return f"/customers/{customer_id}/customer-portal/session"


# --- POST /customers/{customer_id}/customer-portal/session ------------------------------------------------------


async def test_the_session_endpoint_answers_a_link_into_the_customers_portal(client: httpx.AsyncClient) -> None:
    customer = await make_customer()

    response = await client.post(
        session_path(customer.id),
        params={"return_url": "https://acme.example/account"},
        headers=await key_for(customer),
    )

    assert response.status_code == 200
    assert list(response.json()) == ["link"]
    link = response.json()["link"]
    assert link.startswith(f"{BASE_URL}/session/cpl_")
    assert await EmailMessage.all().count() == 0
    state = await peek_link(link.rsplit("/", 1)[1])
    assert state.valid and state.livemode is True
    assert await customer_behind(link) == customer.id


async def test_send_email_also_emails_the_link(client: httpx.AsyncClient) -> None:
    customer = await make_customer()

    response = await client.post(
        session_path(customer.id), params={"send_email": "true"}, headers=await key_for(customer)
    )

    message = await EmailMessage.get()
    assert (message.to_email, message.template) == ("alice@example.com", "magic_link")
    assert opened_context(message, SETTINGS.secret_key)["link"] == response.json()["link"]
    assert message.from_name == "Acme via Portal"


# A business may email one customer 2 links an hour, and 3 links an hour in all.
FEW_EMAILS = dataclasses.replace(SETTINGS, merchant_emails_per_recipient=2, merchant_emails_per_business=3)


@pytest.fixture
async def limited_client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(FEW_EMAILS, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def test_merchant_email_limits_default_to_5_per_customer_and_1000_per_business_an_hour() -> None:
    assert (Settings().merchant_emails_per_recipient, Settings().merchant_emails_per_business) == (5, 1000)


async def test_emails_to_one_customer_past_the_hourly_limit_are_refused_with_retry_after(
    limited_client: httpx.AsyncClient,
) -> None:
    customer = await make_customer()
    headers = await key_for(customer)
    send = {"send_email": "true"}

    answers = [await limited_client.post(session_path(customer.id), params=send, headers=headers) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.json()["code"] == "RATE_LIMITED" and refused.json()["field"] == "send_email"
    assert "Try again in" in refused.json()["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert await EmailMessage.all().count() == 2 and await LoginToken.all().count() == 2
    # A link the merchant shows the customer itself sends nothing, so no limit applies.
    assert (await limited_client.post(session_path(customer.id), headers=headers)).status_code == 200


async def test_a_business_past_its_hourly_email_limit_is_refused_for_every_customer(
    limited_client: httpx.AsyncClient,
) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    customers = [
        await Customer.create(business=business, email=f"customer{n}@example.com", livemode=True) for n in range(4)
    ]
    other = await make_customer("Other")
    headers = await key_for(customers[0])
    send = {"send_email": "true"}

    answers = [
        await limited_client.post(session_path(customer.id), params=send, headers=headers) for customer in customers
    ]
    elsewhere = await limited_client.post(session_path(other.id), params=send, headers=await key_for(other))

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] == "RATE_LIMITED" and "Retry-After" in answers[3].headers
    assert await EmailMessage.filter(business_id=business.id).count() == 3
    assert elsewhere.status_code == 200  # another business has its own allowance


async def test_graphql_answers_the_email_limit_as_a_user_error(limited_client: httpx.AsyncClient) -> None:
    customer = await make_customer()
    headers = await key_for(customer)

    payloads = [
        (
            await merchant_graphql(
                limited_client, headers, CREATE_PORTAL_SESSION, customerId=customer.id, sendEmail=True
            )
        ).json()["data"]["createPortalSession"]
        for _ in range(3)
    ]

    assert [payload["errors"] for payload in payloads[:2]] == [[], []]
    assert payloads[2]["link"] is None
    [error] = payloads[2]["errors"]
    assert (error["code"], error["field"]) == ("RATE_LIMITED", "sendEmail")
    assert "Try again in" in error["message"]
    assert await EmailMessage.all().count() == 2 and await LoginToken.all().count() == 2


async def test_a_test_key_makes_test_links(client: httpx.AsyncClient) -> None:
    customer = await make_customer(livemode=False)

    response = await client.post(session_path(customer.id), headers=await key_for(customer))

    assert (await peek_link(response.json()["link"].rsplit("/", 1)[1])).livemode is False


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer sk_live_" + "A" * 43, "Basic c2tfbGl2ZV86", "Bearer cps_session_token"],
)
async def test_the_session_endpoint_wants_a_valid_api_key(client: httpx.AsyncClient, authorization: str | None) -> None:
    customer = await make_customer()
    headers = {"Authorization": authorization} if authorization else {}

    response = await client.post(session_path(customer.id), headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_revoked_key_is_refused(client: httpx.AsyncClient) -> None:
    customer = await make_customer()
    secret, api_key = await create_api_key(await Business.get(id=customer.business_id), livemode=True)
    await revoke_api_key(api_key.id)

    response = await client.post(session_path(customer.id), headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 401


async def test_customers_of_another_business_or_mode_look_missing(client: httpx.AsyncClient) -> None:
    ours = await make_customer("Acme")
    theirs = await make_customer("Globex")
    headers = await key_for(ours)
    test_headers = await key_for(ours, livemode=False)

    missing = await client.post(session_path("cus_doesnotexist"), headers=headers)
    other_business = await client.post(session_path(theirs.id), headers=headers)
    other_mode = await client.post(session_path(ours.id), headers=test_headers)

    assert missing.status_code == other_business.status_code == other_mode.status_code == 404
    assert missing.json() == other_business.json() == other_mode.json()
    assert missing.json()["code"] == "CUSTOMER_NOT_FOUND"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"return_url": "acme.example/account"}, "return_url"),
        ({"return_url": "ftp://acme.example/"}, "return_url"),
        ({"return_url": "https://"}, "return_url"),
        ({"send_email": "maybe"}, "send_email"),
    ],
)
async def test_malformed_input_is_a_422(client: httpx.AsyncClient, params: dict, field: str) -> None:
    customer = await make_customer()

    response = await client.post(session_path(customer.id), params=params, headers=await key_for(customer))

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert await EmailMessage.all().count() == 0


# --- POST /merchant/graphql -------------------------------------------------------------------------------------


async def merchant_graphql(
    client: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: object
) -> httpx.Response:
    return await client.post("/merchant/graphql", json={"query": query, "variables": variables}, headers=headers)


async def test_graphql_creates_a_portal_session_with_locale_and_configuration(client: httpx.AsyncClient) -> None:
    customer = await make_customer()
    configuration = await PortalConfiguration.create(business_id=customer.business_id, livemode=True)

    response = await merchant_graphql(
        client,
        await key_for(customer),
        CREATE_PORTAL_SESSION,
        customerId=customer.id,
        sendEmail=True,
        returnUrl="https://acme.example/",
        locale="fr",
        configurationId=configuration.id,
    )

    payload = response.json()["data"]["createPortalSession"]
    assert payload["errors"] == []
    assert payload["link"].startswith(f"{BASE_URL}/session/cpl_") and payload["expiresAt"]
    assert (await EmailMessage.get()).locale == "fr"
    result = await consume_link(payload["link"].rsplit("/", 1)[1], client_ip="203.0.113.7", policy=SessionPolicy())
    assert (result.session.customer_id, result.session.locale) == (customer.id, "fr")
    assert result.session.configuration_id == configuration.id


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"customerId": "cus_doesnotexist"}, "CUSTOMER_NOT_FOUND", "customerId"),
        ({"returnUrl": "javascript:alert(1)"}, "INVALID_RETURN_URL", "returnUrl"),
        ({"configurationId": "bpc_doesnotexist"}, "CONFIGURATION_NOT_FOUND", "configurationId"),
    ],
)
async def test_graphql_reports_expected_failures_as_data(
    client: httpx.AsyncClient, variables: dict, code: str, field: str
) -> None:
    customer = await make_customer()

    response = await merchant_graphql(
        client, await key_for(customer), CREATE_PORTAL_SESSION, **{"customerId": customer.id, **variables}
    )

    assert response.status_code == 200
    payload = response.json()["data"]["createPortalSession"]
    assert payload["link"] is None
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [(code, field)]


async def test_graphql_hides_customers_of_another_business(client: httpx.AsyncClient) -> None:
    ours, theirs = await make_customer("Acme"), await make_customer("Globex")

    response = await merchant_graphql(client, await key_for(ours), CREATE_PORTAL_SESSION, customerId=theirs.id)

    assert response.json()["data"]["createPortalSession"]["errors"][0]["code"] == "CUSTOMER_NOT_FOUND"


async def test_graphql_knows_the_business_and_mode_of_the_key(client: httpx.AsyncClient) -> None:
    customer = await make_customer("Acme", livemode=False)

    response = await merchant_graphql(client, await key_for(customer), "{ business { id name } livemode }")

    assert response.json() == {"data": {"business": {"id": customer.business_id, "name": "Acme"}, "livemode": False}}


async def test_graphql_without_a_valid_key_is_a_401(client: httpx.AsyncClient) -> None:
    response = await merchant_graphql(client, {}, "{ livemode }")

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_graphql_refuses_queries_with_too_many_aliases(client: httpx.AsyncClient) -> None:
    headers = await key_for(await make_customer())
    aliases = "{ " + " ".join(f"a{i}: livemode" for i in range(30)) + " }"

    response = await merchant_graphql(client, headers, aliases)

    assert response.status_code == 200
    assert "aliases" in response.json()["errors"][0]["message"]


# --- portal api-key / portal link -------------------------------------------------------------------------------
# The CLI works on a database of its own, of the test database's kind (tests/support/databases.py).


async def portal(database_url: str, *args: str) -> tuple[int, str, str]:
    """`portal *args` on the database at `database_url`: exit code, stdout, stderr."""
    settings = {"PORTAL_BASE_URL": BASE_URL, "PORTAL_NAME": "Portal", "PORTAL_SECRET_KEY": "test-secret-key"}
    answer = await asyncio.to_thread(run_portal, *args, database_url=database_url, cwd=Path.cwd(), **settings)
    return answer.returncode, answer.stdout, answer.stderr


async def rows(database_url: str, query: str, *parameters: str) -> list[tuple]:
    """What `query` (its placeholders written `?`) reads from the database at `database_url`."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        connection = context.connections.get("default")
        if connection.capabilities.dialect == "postgres":
            numbers = itertools.count(1)
            query = re.sub(r"\?", lambda _: f"${next(numbers)}", query)
        return [tuple(row.values()) for row in await connection.execute_query_dict(query, list(parameters))]


@pytest.fixture
async def cli_ids(migrated_database: str) -> tuple[str, str]:
    """The ids of a business and its live customer in the CLI's database."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        business = await Business.create(name="Acme", support_email="help@acme.example")
        customer = await Customer.create(business=business, email="alice@example.com", livemode=True)
    return business.id, customer.id


async def test_cli_creates_lists_and_revokes_api_keys(migrated_database: str, cli_ids: tuple[str, str]) -> None:
    url, (business_id, _) = migrated_database, cli_ids

    code, created, _ = await portal(url, "api-key", "create", "--business", business_id, "--mode", "test")
    secret = created.strip().splitlines()[-1]
    assert code == 0 and secret.startswith("sk_test_")
    [(key_id, secret_hash, prefix)] = await rows(url, "SELECT id, secret_hash, prefix FROM api_key")
    assert secret_hash == hashlib.sha256(secret.encode()).hexdigest()

    _, listed, _ = await portal(url, "api-key", "list", "--business", business_id)
    assert key_id in listed and prefix in listed and "test" in listed and "active" in listed
    assert secret not in listed

    code, _, _ = await portal(url, "api-key", "revoke", key_id)
    _, listed_again, _ = await portal(url, "api-key", "list", "--business", business_id)
    assert code == 0 and "revoked" in listed_again


async def test_cli_refuses_unknown_businesses_and_keys(migrated_database: str) -> None:
    url = migrated_database

    create = await portal(url, "api-key", "create", "--business", "bus_missing", "--mode", "live")
    revoke = await portal(url, "api-key", "revoke", "key_missing")

    assert create[0] == revoke[0] == 1
    assert "bus_missing" in create[2] and "key_missing" in revoke[2]


async def test_cli_prints_a_magic_link_and_can_email_it(migrated_database: str, cli_ids: tuple[str, str]) -> None:
    url, (_, customer_id) = migrated_database, cli_ids

    code, output, _ = await portal(
        url, "link", "--customer", customer_id, "--send-email", "--return-url", "https://acme.example/"
    )

    link = output.strip().splitlines()[-1]
    assert code == 0 and link.startswith(f"{BASE_URL}/session/cpl_")
    token_hash = hashlib.sha256(link.rsplit("/", 1)[1].encode()).hexdigest()
    stored = await rows(url, "SELECT kind, return_url, used_at FROM login_token WHERE token_hash = ?", token_hash)
    assert stored == [("magic_link", "https://acme.example/", None)]
    [(template, context, sealed)] = await rows(url, "SELECT template, context, sealed_context FROM email_message")
    emailed = opened_context(EmailMessage(context=json.loads(context), sealed_context=sealed), SETTINGS.secret_key)
    assert template == "magic_link" and emailed["link"] == link and link not in context


async def test_cli_link_refuses_unknown_customers_and_bad_return_urls(
    migrated_database: str, cli_ids: tuple[str, str]
) -> None:
    url, (_, customer_id) = migrated_database, cli_ids

    unknown = await portal(url, "link", "--customer", "cus_missing")
    bad_url = await portal(url, "link", "--customer", customer_id, "--return-url", "not-a-url")

    assert unknown[0] == bad_url[0] == 1
    assert "cus_missing" in unknown[2] and "return_url" in bad_url[2]
    assert await rows(url, "SELECT COUNT(*) FROM login_token") == [(0,)]

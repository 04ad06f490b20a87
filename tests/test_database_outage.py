"""While the database cannot be reached, every surface answers 503 with Retry-After instead of a 500: a person gets
the branded error page, an API client the JSON error `UNAVAILABLE`, a GraphQL client GraphQL errors (no `data`),
whether the outage hits before GraphQL runs or inside a resolver. A query the database refused is still a 500."""

import logging
import sqlite3
import tempfile
from collections.abc import Callable, Iterator

import asyncpg
import httpx
import pytest
from tortoise import connections
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from merchants.api_keys import create_api_key
from tests.support import factories

PAGE = {"Accept": "text/html"}


def as_tortoise_raises(driver_error: Exception) -> OperationalError:
    """tortoise's SQLite client wraps sqlite3's error inside its `except`, so the driver's error is the context."""
    try:
        raise driver_error
    except sqlite3.OperationalError as error:
        try:
            raise OperationalError(error)  # noqa: B904 -- as tortoise does
        except OperationalError as wrapped:
            return wrapped


def sqlite_cannot_open() -> OperationalError:
    try:
        sqlite3.connect("/nonexistent/directory/portal.db")
    except sqlite3.OperationalError as error:
        return as_tortoise_raises(error)
    raise AssertionError("opened a database that cannot exist")


def sqlite_locked() -> OperationalError:
    """A real `database is locked`: another connection holds the write lock and this one does not wait."""
    with tempfile.TemporaryDirectory() as folder:
        holder = sqlite3.connect(f"{folder}/portal.db", isolation_level=None)
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN EXCLUSIVE")
        waiter = sqlite3.connect(f"{folder}/portal.db", timeout=0)
        try:
            waiter.execute("SELECT * FROM t")
        except sqlite3.OperationalError as error:
            return as_tortoise_raises(error)
        finally:
            waiter.close()
            holder.close()
    raise AssertionError("read a database another connection holds exclusively")


UNREACHABLE: dict[str, Callable[[], Exception]] = {
    "tortoise-cannot-connect": lambda: DBConnectionError("Can't establish connection to database portal"),
    "connection-refused": lambda: ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    "postgres-starting-up": lambda: asyncpg.CannotConnectNowError("the database system is starting up"),
    "postgres-shut-down": lambda: asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    "postgres-connection-lost": lambda: asyncpg.ConnectionDoesNotExistError("connection was closed in the middle"),
    "postgres-full": lambda: asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    "sqlite-cannot-open": sqlite_cannot_open,
    "sqlite-locked": sqlite_locked,
}


@pytest.fixture
def outage(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`outage(error, table=None)`: from now on, every statement (or every one naming `table`) raises `error`."""
    client_class = type(connections.get("default"))

    def start(make_error: Callable[[], Exception], table: str | None = None) -> None:
        for name in ("execute_query", "execute_query_dict", "execute_insert"):
            statement = getattr(client_class, name)

            async def failing(self, query: str, *args, _statement=statement, **kwargs):  # noqa: ANN001, ANN202
                if table is None or f'"{table}"' in query:
                    raise make_error()
                return await _statement(self, query, *args, **kwargs)

            monkeypatch.setattr(client_class, name, failing)

    yield start


@pytest.fixture
async def world() -> dict[str, str]:
    northwind = await factories.business("Northwind")
    ada = await factories.customer_with_history(northwind, "ada@example.com")
    secret, _ = await create_api_key(northwind, livemode=True)
    token = await factories.business_token(ada.customer)
    return {"business": northwind.id, "subscription": ada.subscriptions[0].id, "token": token, "key": secret}


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit() and int(response.headers["retry-after"]) > 0
    assert response.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("error", UNREACHABLE.values(), ids=UNREACHABLE.keys())
async def test_a_page_answers_the_branded_503_page(client, world, outage, error) -> None:
    outage(error)

    response = await client.get(f"/login/{world['business']}", headers=PAGE)

    assert_unavailable(response)
    assert response.headers["content-type"].startswith("text/html")
    assert "The portal is briefly unavailable" in response.text and response.headers["x-request-id"] in response.text


async def test_a_custom_domain_answers_503_when_its_host_cannot_be_looked_up(client, outage) -> None:
    outage(UNREACHABLE["connection-refused"])

    response = await client.get("/login", headers={**PAGE, "Host": "billing.acme.example"})

    assert_unavailable(response)
    assert "The portal is briefly unavailable" in response.text


@pytest.mark.parametrize("error", UNREACHABLE.values(), ids=UNREACHABLE.keys())
async def test_the_rest_api_answers_503_unavailable(client, world, outage, error) -> None:
    outage(error)

    response = await client.get("/customers", headers={"Authorization": f"Bearer {world['key']}"})

    assert_unavailable(response)
    assert response.json()["code"] == "UNAVAILABLE"


async def test_the_license_api_answers_503_unavailable(client, outage) -> None:
    outage(UNREACHABLE["connection-refused"])

    response = await client.post("/licenses/validate", json={"license_key": "KEY-1"})

    assert_unavailable(response)
    assert response.json()["code"] == "UNAVAILABLE"


@pytest.mark.parametrize("path", ["/graphql", "/merchant/graphql"])
async def test_graphql_answers_503_when_the_request_cannot_even_be_authenticated(
    client, world, outage, path: str
) -> None:
    outage(UNREACHABLE["postgres-starting-up"])
    token = world["token"] if path == "/graphql" else world["key"]

    response = await client.post(path, json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {token}"})

    assert_unavailable(response)
    body = response.json()
    assert "data" not in body and [error["extensions"]["code"] for error in body["errors"]] == ["UNAVAILABLE"]


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_graphql_answers_503_when_a_resolver_loses_the_database(client, world, outage, accept: str) -> None:
    outage(UNREACHABLE["postgres-connection-lost"], table="subscription")

    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { email subscriptions { totalCount } } }"},
        headers={"Authorization": f"Bearer {world['token']}", "Accept": accept},
    )

    assert_unavailable(response)
    body = response.json()
    assert "data" not in body
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UNAVAILABLE"}


async def test_a_signed_in_page_answers_503_when_its_query_loses_the_database(client, world, outage) -> None:
    outage(UNREACHABLE["sqlite-locked"], table="subscription")
    client.cookies.set("portal_session", world["token"])

    response = await client.get(f"/subscriptions/{world['subscription']}", headers=PAGE)

    assert_unavailable(response)
    assert "The portal is briefly unavailable" in response.text


async def test_an_outage_is_logged_as_one_line_without_a_traceback(client, world, outage, caplog) -> None:
    outage(UNREACHABLE["connection-refused"])
    caplog.set_level(logging.INFO)

    response = await client.get("/customers", headers={"Authorization": f"Bearer {world['key']}"})

    [record] = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert response.headers["x-request-id"] in record.getMessage() and "unreachable" in record.getMessage()
    assert record.exc_info is None


@pytest.mark.parametrize(
    "error",
    [lambda: IntegrityError("UNIQUE constraint failed"), lambda: OperationalError("no such table: customer")],
    ids=["integrity-error", "bad-query"],
)
async def test_a_query_the_database_refused_is_still_a_500(client, world, outage, error) -> None:
    outage(error)

    response = await client.get("/customers", headers={"Authorization": f"Bearer {world['key']}"})

    assert response.status_code == 500 and "retry-after" not in response.headers

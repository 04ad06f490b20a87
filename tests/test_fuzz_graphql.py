"""A schema-driven fuzzer over both GraphQL schemas, signed in with a real session or API key.

hypothesis-graphql writes valid queries and mutations (each kind on its own, so neither crowds out the other) from
the schema itself, so every field, argument and mutation that later work adds is fuzzed without touching this test.
Ids are sometimes real (the seeded rows), sometimes junk. An example fails on a 5xx, on `Unexpected error.`, on a
request that hangs, and on an error message that shows the server's insides (a traceback, a file, SQL, an
exception's class name).
"""

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from merchants.api_keys import create_api_key
from schema.customer import schema as customer_schema
from schema.merchant import schema as merchant_schema
from tests.support import factories

EXAMPLES = 120  # per kind of operation and schema: under a minute in all on a two-core machine
REQUEST_SECONDS = 10
INTERNALS = re.compile(
    r"Traceback|File \"|\.py\b|\b(SELECT|INSERT|UPDATE|DELETE FROM)\b|sqlite|asyncpg|psycopg|tortoise"
    r"|\b(Key|Value|Type|Attribute|Index|Lookup|Assertion|Runtime|Validation|Integrity|Operational|Transaction)Error\b"
    r"|DoesNotExist|MultipleObjectsReturned|NoneType"
)
FUZZING = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the seed is made once per test and outlives every example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def id_values(known_ids: list[str]) -> st.SearchStrategy[graphql.StringValueNode]:
    """Ids of the seeded rows; ids that cannot exist (empty, bare prefix, one character too long); well-formed ids
    of nothing; junk."""
    prefixes = sorted({known.split("_", 1)[0] for known in known_ids})
    impossible = [*(f"{prefix}_" for prefix in prefixes), *(f"{known}{'x' * 20}" for known in known_ids[:3])]
    body = st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True)
    shaped = st.builds("{}_{}".format, st.sampled_from(prefixes), body)
    ids = st.sampled_from(known_ids) | st.just("") | st.sampled_from(impossible) | shaped | st.text(max_size=60)
    return ids.map(lambda value: graphql.StringValueNode(value=value))


def custom_scalars(sdl: str, known_ids: list[str]) -> dict[str, st.SearchStrategy]:
    """A strategy for `ID` and for every custom scalar (DateTime, …) the schema has: ISO times and junk text."""
    schema = graphql.build_schema(sdl)
    text = st.datetimes().map(lambda moment: moment.isoformat()) | st.text(max_size=40)
    scalars = {
        name: text.map(lambda value: graphql.StringValueNode(value=value))
        for name, named in schema.type_map.items()
        if isinstance(named, graphql.GraphQLScalarType) and name not in graphql.specified_scalar_types
    }
    return {**scalars, "ID": id_values(known_ids)}


def messages(answer: object) -> Iterator[str]:
    """Every `message` in an answer: top-level errors and the UserErrors of payloads."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key == "message" and isinstance(value, str):
                yield value
            else:
                yield from messages(value)
    elif isinstance(answer, list):
        for item in answer:
            yield from messages(item)


async def assert_well_answered(client: httpx.AsyncClient, path: str, query: str, headers: dict[str, str]) -> None:
    try:
        response = await asyncio.wait_for(
            client.post(path, json={"query": query}, headers=headers), timeout=REQUEST_SECONDS
        )
    except TimeoutError:
        pytest.fail(f"no answer within {REQUEST_SECONDS} s")
    assert response.status_code < 500, response.text
    assert "Unexpected error." not in response.text, response.text
    leaks = [message for message in messages(json.loads(response.text)) if INTERNALS.search(message)]
    assert leaks == [], response.text


@dataclass(frozen=True)
class Target:
    """One schema at its endpoint, the ids of the rows seeded for it, and the secrets that sign in to it."""

    sdl: str
    path: str
    ids: list[str]
    secrets: list[str]


async def customer_target() -> Target:
    """Ada at two businesses with everything a customer can own; her unified and business sessions."""
    northwind, sakura = await factories.business("Northwind"), await factories.business("Sakura")
    owned = [
        await factories.customer_with_history(northwind, "ada@example.com"),
        await factories.customer_with_history(sakura, "ada@example.com", currency="JPY"),
    ]
    ids = [northwind.id, sakura.id]
    for record in owned:
        ids.append(record.customer.id)
        for rows in (record.subscriptions, record.invoices, record.purchases, record.license_keys):
            ids.extend(row.id for row in rows)
        ids.extend(method.id for method in record.payment_methods)
    tokens = [await factories.unified_token("ada@example.com"), await factories.business_token(owned[0].customer)]
    return Target(customer_schema.as_str(), "/graphql", ids, tokens)


async def merchant_target() -> Target:
    """A business with a customer and a live API key."""
    northwind = await factories.business("Northwind")
    ada = await factories.customer_with_history(northwind, "ada@example.com")
    secret, _ = await create_api_key(northwind, livemode=True)
    ids = [northwind.id, ada.customer.id, ada.subscriptions[0].id]
    return Target(merchant_schema.as_str(), "/merchant/graphql", ids, [secret])


@pytest.fixture(params=[customer_target, merchant_target], ids=["customer", "merchant"])
async def target(request: pytest.FixtureRequest) -> Target:
    return await request.param()


@pytest.mark.parametrize("operations", [queries, mutations], ids=["queries", "mutations"])
@FUZZING
@given(data=st.data())
async def test_every_valid_operation_is_answered_without_a_server_error(client, target, operations, data) -> None:
    query = data.draw(operations(target.sdl, custom_scalars=custom_scalars(target.sdl, target.ids)), label="operation")
    secret = data.draw(st.sampled_from(target.secrets), label="credentials")

    await assert_well_answered(client, target.path, query, {"Authorization": f"Bearer {secret}"})

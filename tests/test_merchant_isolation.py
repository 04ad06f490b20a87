"""The merchant isolation matrix: an API key of business A in live mode never reads or changes business B's
objects or A's own test-mode objects, and such an id answers exactly like an id that does not exist.

The matrix is read from the code, not written by hand: every field of the merchant schema that takes an id (as an
argument, or inside an input object) and every merchant REST route with an id in its path is called twice, once
with a foreign id and once with a missing id of the same kind, and the two answers must be the same once the id
itself is blanked out. A field or route added later is covered without touching this file. Afterwards the database
must hold exactly what it held before.
"""

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLType,
)
from starlette.routing import Route
from tortoise import Tortoise

from gateway.app import create_app
from gateway.graphql.merchant import GRAPHQL_PATH
from gateway.settings import Settings
from merchants.api_keys import create_api_key
from models import (
    Business,
    CustomDomain,
    Discount,
    Event,
    Invoice,
    LicenseKeyInstance,
    PortalConfiguration,
    ProductCollection,
    Refund,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.enums import DiscountDuration, DiscountType, RefundStatus
from models.ids import new_id
from schema.merchant import schema as merchant_schema
from tests.support.factories import Owned, customer_with_history

SETTINGS = Settings(base_url="https://portal.example", portal_name="Portal", secret_key="isolation-secret")
# Tables whose rows change on every request whoever asks: the key's last use, rate-limit counters.
_VOLATILE_TABLES = {"api_key", "rate_limit_bucket"}
_ID_ARGUMENT = re.compile(r"^(?:id|[a-z][A-Za-z]*Id)$")
_ID_TEXT = re.compile(r"\b[a-z]{2,4}_[A-Za-z0-9_]{6,}\b")


@dataclass(frozen=True)
class ForeignId:
    """An id the key must not reach, and why."""

    value: str
    owner: str  # "business B" or "test mode"

    @property
    def prefix(self) -> str:
        return self.value.split("_", 1)[0]

    def missing(self) -> str:
        """An id of the same kind that exists nowhere."""
        return new_id(self.prefix)


async def everything_owned_by(business: Business, livemode: bool, email: str) -> list[str]:
    """One of every kind of object a business has, in one mode; their ids."""
    owned: Owned = await customer_with_history(business, email, livemode=livemode)
    scope = {"business": business, "livemode": livemode}
    payment = owned.purchases[0]
    invoice = await Invoice.create(
        **scope,
        customer=owned.customer,
        payment_id=payment.id,
        number=f"ISO-{payment.id[-6:]}",
        status="paid",
        currency="USD",
        subtotal=4900,
        total=4900,
        issued_at=datetime.now(UTC),
    )
    refund = await Refund.create(
        **scope,
        customer=owned.customer,
        payment_id=payment.id,
        invoice=invoice,
        amount=100,
        currency="USD",
        status=RefundStatus.SUCCEEDED,
        credit_note_number=f"ISO-CN-{payment.id[-6:]}",
        issued_at=datetime.now(UTC),
    )
    collection = await ProductCollection.create(**scope, name="Plans")
    discount = await Discount.create(
        **scope,
        code=f"SAVE{int(livemode)}",
        type=DiscountType.PERCENTAGE,
        amount=1000,
        duration=DiscountDuration.FOREVER,
    )
    configuration = await PortalConfiguration.create(**scope, is_default=False, name="Other")
    endpoint = await WebhookEndpoint.create(**scope, url="https://hooks.example/in", secret="whsec_" + "A" * 44)
    event = await Event.create(**scope, type="payment.succeeded", data={"payment_id": payment.id})
    delivery = await WebhookDelivery.create(endpoint=endpoint, event=event, next_attempt_at=datetime.now(UTC))
    attempt = await WebhookAttempt.create(delivery=delivery, duration_ms=12, attempted_at=datetime.now(UTC))
    instance = await LicenseKeyInstance.filter(license_key_id=owned.license_keys[0].id).first()
    return [
        owned.customer.id,
        owned.subscriptions[0].id,
        payment.id,
        invoice.id,
        refund.id,
        owned.license_keys[0].id,
        instance.id,
        owned.payment_methods[0].id,
        owned.subscriptions[0].product_id,
        collection.id,
        discount.id,
        configuration.id,
        endpoint.id,
        event.id,
        delivery.id,
        attempt.id,
    ]


@dataclass
class World:
    client: httpx.AsyncClient
    headers: dict[str, str]
    foreign: list[ForeignId]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    mine = await Business.create(name="Mine", support_email="help@mine.example")
    theirs = await Business.create(name="Theirs", support_email="help@theirs.example")
    await CustomDomain.create(
        business=theirs,
        hostname="billing.theirs.example",
        verification_token="theirs",
        expires_at=datetime.now(UTC) + timedelta(days=7),
    )
    await everything_owned_by(mine, livemode=True, email="own@example.com")
    foreign = [ForeignId(value, "business B") for value in await everything_owned_by(theirs, True, "b@example.com")]
    foreign += [ForeignId(value, "test mode") for value in await everything_owned_by(mine, False, "t@example.com")]
    secret, _ = await create_api_key(mine, livemode=True)
    transport = httpx.ASGITransport(app=create_app(SETTINGS, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield World(client, {"Authorization": f"Bearer {secret}"}, foreign)


async def database_contents() -> dict[str, list]:
    """Every row of every table but the volatile ones, comparable before and after."""
    contents = {}
    for model in Tortoise.apps["portal"].values():
        if model._meta.db_table not in _VOLATILE_TABLES:
            rows = await model.all().order_by(model._meta.pk_attr).values()
            contents[model._meta.db_table] = json.loads(json.dumps(rows, default=str))
    return contents


def blanked(text: str, *ids: str) -> str:
    for value in ids:
        text = text.replace(value, "<ID>")
    return text


# --- GraphQL: every field that takes an id ----------------------------------------------------------------------


class EnumValue(str):
    """An enum value, written bare in a GraphQL document."""


def _named(type_: GraphQLType) -> GraphQLType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def _takes_an_id(type_: GraphQLType, seen: frozenset = frozenset()) -> bool:
    named = _named(type_)
    if isinstance(named, GraphQLScalarType):
        return named.name == "ID"
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        return any(_takes_an_id(field.type, seen | {named.name}) for field in named.fields.values())
    return False


def _value(type_: GraphQLType, name: str, identifier: str) -> object:
    """A value for a required argument: the id under test for ids, something well-formed otherwise."""
    nullable = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(nullable, GraphQLList):
        return [_value(nullable.of_type, name, identifier)]
    if isinstance(nullable, GraphQLInputObjectType):
        return _input_value(nullable, identifier)
    if isinstance(nullable, GraphQLEnumType):
        return EnumValue(next(iter(nullable.values)))
    scalars = {
        "ID": identifier,
        "String": "https://hooks.example/in" if "url" in name.lower() else "isolation",
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "DateTime": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "JSON": {},
    }
    return scalars.get(nullable.name, "isolation")


def _input_value(input_type: GraphQLInputObjectType, identifier: str) -> dict:
    return {
        name: _value(field.type, name, identifier)
        for name, field in input_type.fields.items()
        if isinstance(field.type, GraphQLNonNull) or _takes_an_id(field.type)
    }


def _literal(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, EnumValue):
        return str(value)
    return json.dumps(value)


def _selection(type_: GraphQLType, depth: int = 0) -> str:
    """Every scalar field of an object type, and nested objects two levels down (arguments left out)."""
    named = _named(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts = []
    for name, field in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
            continue
        inner = _named(field.type)
        if isinstance(inner, GraphQLObjectType):
            if depth < 2:
                parts.append(f"{name} {_selection(inner, depth + 1)}")
        else:
            parts.append(name)
    return "{ " + " ".join(parts) + " }" if parts else "{ __typename }"


def _document(operation: str, name: str, field: GraphQLField, identifier: str) -> str:
    arguments = []
    for arg_name, arg in field.args.items():
        if _ID_ARGUMENT.match(arg_name) and _named(arg.type).name == "ID":
            arguments.append(f"{arg_name}: {_literal(identifier)}")
        elif isinstance(arg.type, GraphQLNonNull) or _takes_an_id(arg.type):
            arguments.append(f"{arg_name}: {_literal(_value(arg.type, arg_name, identifier))}")
    call = f"{name}({', '.join(arguments)})" if arguments else name
    return f"{operation} {{ {call} {_selection(field.type)} }}"


def graphql_cases() -> Iterator[tuple[str, str, GraphQLField]]:
    graphql_schema = merchant_schema._schema
    for operation, root in (("query", graphql_schema.query_type), ("mutation", graphql_schema.mutation_type)):
        for name, field in (root.fields if root else {}).items():
            if any(_takes_an_id(arg.type) for arg in field.args.values()):
                yield operation, name, field


def _id_names(field: GraphQLField) -> list[str]:
    """The names of the ids a field takes: its ID arguments, and the ID fields of its input objects."""
    names = []
    for arg_name, arg in field.args.items():
        named = _named(arg.type)
        if isinstance(named, GraphQLInputObjectType):
            names += [name for name, inner in named.fields.items() if _named(inner.type).name == "ID"]
        elif named.name == "ID":
            names.append(arg_name)
    return names


def relevant(field: GraphQLField, foreign: ForeignId) -> bool:
    """Whether the field might take this kind of id: `customerId` takes `cus_` ids, a plain `id` any kind."""
    hints = {
        "customer": "cus",
        "subscription": "sub",
        "payment": "pay",
        "invoice": "inv",
        "refund": "ref",
        "licenseKey": "lic",
        "instance": "lki",
        "paymentMethod": "pm",
        "product": "pdt",
        "collection": "pdc",
        "discount": "dsc",
        "configuration": "bpc",
        "endpoint": "whk",
        "event": "evt",
        "delivery": "whd",
    }
    named = [name for name in _id_names(field) if name != "id" and _ID_ARGUMENT.match(name)]
    if not named:
        return True
    return any(hints.get(arg[: -len("Id")]) in (foreign.prefix, None) for arg in named)


async def test_every_merchant_field_answers_a_foreign_id_like_a_missing_one(world: World) -> None:
    before = await database_contents()
    checked = 0
    for operation, name, field in graphql_cases():
        for foreign in world.foreign:
            if not relevant(field, foreign):
                continue
            missing = foreign.missing()
            answers = []
            for identifier in (foreign.value, missing):
                response = await world.client.post(
                    GRAPHQL_PATH, json={"query": _document(operation, name, field, identifier)}, headers=world.headers
                )
                answers.append((response.status_code, blanked(response.text, foreign.value, missing)))
            assert answers[0] == answers[1], f"{operation} {name} with {foreign.owner}'s {foreign.value}"
            checked += 1
    assert checked > 0
    assert await database_contents() == before


# --- REST: every merchant route with an id in its path ----------------------------------------------------------


def routes_with_ids() -> Iterator[tuple[str, str]]:
    for route in create_app(SETTINGS, manage_database=False).routes:
        if isinstance(route, Route) and "_id}" in route.path:
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield method, route.path


async def merchant_routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """The routes with an id in their path that refuse an unknown API key (a 401 naming the merchant API's realm)."""
    found = []
    unknown_key = {"Authorization": "Bearer sk_live_unknown"}
    for method, path in routes_with_ids():
        response = await client.request(method, fill_path(path, new_id("cus")), headers=unknown_key)
        if response.status_code == 401 and "merchant-api" in response.headers.get("www-authenticate", ""):
            found.append((method, path))
    return found


def fill_path(path: str, identifier: str) -> str:
    return re.sub(r"\{[a-z_]+\}", identifier, path)


async def test_every_merchant_route_answers_a_foreign_id_like_a_missing_one(world: World) -> None:
    before = await database_contents()
    headers = {**world.headers, "Idempotency-Key": "isolation-key"}
    checked = 0
    for method, path in await merchant_routes(world.client):
        for foreign in world.foreign:
            missing = foreign.missing()
            answers = []
            for identifier in (foreign.value, missing):
                body = {"payment_id": identifier, "amount": 100} if method == "POST" else {}
                response = await world.client.request(
                    method, fill_path(path, identifier), headers=headers, json=body if method != "GET" else None
                )
                answers.append((response.status_code, blanked(response.text, foreign.value, missing)))
            assert answers[0] == answers[1], f"{method} {path} with {foreign.owner}'s {foreign.value}"
            assert answers[0][0] in {401, 404, 422, 400}, f"{method} {path} reached {foreign.owner}'s object"
            checked += 1
    assert checked > 0
    assert await database_contents() == before


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/subscriptions", "customer_id"),
        ("/payments", "customer_id"),
        ("/payments", "subscription_id"),
        ("/license_keys", "customer_id"),
        ("/refunds", "payment_id"),
        ("/customers", "email"),
    ],
)
async def test_list_filters_never_reach_another_business_or_mode(world: World, path: str, parameter: str) -> None:
    routes = {route.path for route in create_app(SETTINGS, manage_database=False).routes if isinstance(route, Route)}
    assert path in routes
    values = (
        [(email, "nobody@example.com") for email in ("b@example.com", "t@example.com")] if parameter == "email" else []
    )
    values += [(f.value, f.missing()) for f in world.foreign if parameter.startswith(_kind_of(f.prefix))]
    for foreign_value, missing_value in values:
        foreign = await world.client.get(path, params={parameter: foreign_value}, headers=world.headers)
        missing = await world.client.get(path, params={parameter: missing_value}, headers=world.headers)
        assert foreign.status_code == missing.status_code == 200
        assert foreign.json() == missing.json() == {"items": []}


def _kind_of(prefix: str) -> str:
    return {"cus": "customer", "sub": "subscription", "pay": "payment"}.get(prefix, "-")


@pytest.mark.parametrize(
    ("path", "parameter", "value"),
    [
        ("/customers", "email", "a" * 300 + "@example.com"),
        ("/subscriptions", "customer_id", "cus_" + "x" * 60),
        ("/payments", "subscription_id", "sub_" + "x" * 60),
        ("/license_keys", "customer_id", "cus_"),
        ("/refunds", "payment_id", "pay_../x"),
    ],
)
async def test_a_filter_value_that_cannot_exist_finds_nothing(
    world: World, path: str, parameter: str, value: str
) -> None:
    response = await world.client.get(path, params={parameter: value}, headers=world.headers)
    assert (response.status_code, response.json()) == (200, {"items": []})


async def test_graphql_list_filters_that_cannot_exist_find_nothing(world: World) -> None:
    query = '{ customers(email: "%s") { totalCount } subscriptions(customerId: "%s") { totalCount } }'
    response = await world.client.post(
        GRAPHQL_PATH, json={"query": query % ("a" * 300 + "@example.com", "cus_" + "x" * 60)}, headers=world.headers
    )
    assert response.json() == {"data": {"customers": {"totalCount": 0}, "subscriptions": {"totalCount": 0}}}

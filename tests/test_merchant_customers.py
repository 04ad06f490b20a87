"""Customers through the merchant GraphQL API: created, found, listed and changed inside the key's business and mode,
with the portal's own checks; any id outside that scope answers like a missing one and changes nothing."""

import asyncio

from merchants.customers import CustomerFields, create_customer
from models import Customer
from tests.support.shop import Shop, merchant_graphql, open_shop

FIELDS = "id email emailVerified name phoneNumber taxId metadata billingAddress { country city }"
CREATE = f"""
mutation($input: CreateCustomerInput!) {{
  createCustomer(input: $input) {{ created customer {{ {FIELDS} }} errors {{ code field message }} }}
}}
"""
UPDATE = f"""
mutation($input: UpdateCustomerInput!) {{
  updateCustomer(input: $input) {{ customer {{ {FIELDS} }} errors {{ code field message }} }}
}}
"""
GET = f"query($id: ID!) {{ customer(id: $id) {{ {FIELDS} }} }}"
LIST = """
query($first: Int, $after: String, $email: String) {
  customers(first: $first, after: $after, email: $email) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id email }
  }
}
"""


async def test_a_created_customer_is_normalised_like_a_portal_profile_and_not_yet_verified(client) -> None:
    shop = await open_shop()
    given = {
        "name": "Ada Lovelace",
        "phoneNumber": "030 1234567",
        "billingAddress": {"country": "de", "city": "Berlin"},
        "taxId": "DE136695976",
        "metadata": {"crm_id": "42"},
    }

    answer = (await merchant_graphql(client, shop, CREATE, input={"email": " Ada@Example.COM ", **given}))[
        "createCustomer"
    ]

    assert answer["errors"] == [] and answer["created"] is True
    customer = answer["customer"]
    assert customer["email"] == "ada@example.com"
    assert customer["phoneNumber"] == "+49301234567"
    assert customer["billingAddress"] == {"country": "DE", "city": "Berlin"}
    assert customer["taxId"] == "DE136695976"
    assert customer["metadata"] == {"crm_id": "42"}
    # Only following a sign-in link proves the email is the customer's.
    assert customer["emailVerified"] is False
    row = await Customer.get(id=customer["id"])
    assert (row.business_id, row.livemode) == (shop.business.id, False)


async def test_creating_an_email_the_business_has_answers_that_customer_unchanged(client) -> None:
    shop = await open_shop()
    existing = await shop.customer("ada@example.com")

    answer = (await merchant_graphql(client, shop, CREATE, input={"email": "ADA@example.com", "name": "Someone Else"}))[
        "createCustomer"
    ]

    assert answer["created"] is False
    assert answer["customer"]["id"] == existing.id and answer["customer"]["name"] == "Ada"
    assert await Customer.filter(business_id=shop.business.id).count() == 1


async def test_the_same_email_in_another_business_or_mode_is_another_customer(client) -> None:
    shop = await open_shop()
    other = await open_shop("Other")
    await other.customer("ada@example.com")
    await Customer.create(business=shop.business, livemode=True, email="ada@example.com")

    answer = (await merchant_graphql(client, shop, CREATE, input={"email": "ada@example.com"}))["createCustomer"]

    assert answer["created"] is True
    assert await Customer.filter(email="ada@example.com").count() == 3


async def test_concurrent_creates_of_one_email_make_one_customer() -> None:
    shop = await open_shop()

    creations = await asyncio.gather(
        *(create_customer(shop.business.id, False, "ada@example.com", CustomerFields()) for _ in range(5))
    )

    assert len({creation.customer.id for creation in creations}) == 1
    assert sum(creation.created for creation in creations) == 1
    assert await Customer.filter(business_id=shop.business.id).count() == 1


async def test_bad_input_is_refused_field_by_field_and_writes_nothing(client) -> None:
    shop = await open_shop()
    bad = {
        "phoneNumber": "12",
        "billingAddress": {"country": "XX"},
        "name": "x" * 201,
    }

    answer = (await merchant_graphql(client, shop, CREATE, input={"email": "ada@example.com", **bad}))["createCustomer"]

    assert answer["customer"] is None
    assert {error["field"] for error in answer["errors"]} == {"name", "billingAddress.country", "phoneNumber"}
    assert {error["code"] for error in answer["errors"]} == {"INVALID_INPUT"}
    assert not await Customer.exists()


async def test_an_invalid_tax_id_for_the_country_is_refused(client) -> None:
    shop = await open_shop()
    given = {"billingAddress": {"country": "DE"}, "taxId": "DE123"}

    answer = (await merchant_graphql(client, shop, CREATE, input={"email": "ada@example.com", **given}))[
        "createCustomer"
    ]

    assert [error["field"] for error in answer["errors"]] == ["taxId"]
    assert not await Customer.exists()


async def test_metadata_must_be_a_small_flat_object_of_text(client) -> None:
    shop = await open_shop()
    for metadata in (
        {"nested": {"a": "b"}},
        {"n": 1},
        {"k" * 41: "v"},
        {"k": "v" * 501},
        ["a"],
        {f"k{i}": "v" for i in range(51)},
    ):
        answer = (
            await merchant_graphql(client, shop, CREATE, input={"email": "ada@example.com", "metadata": metadata})
        )["createCustomer"]
        assert [error["field"] for error in answer["errors"]] == ["metadata"], metadata
    assert not await Customer.exists()


async def test_an_email_that_is_not_one_is_refused(client) -> None:
    shop = await open_shop()

    answer = (await merchant_graphql(client, shop, CREATE, input={"email": "not an email"}))["createCustomer"]

    assert [error["field"] for error in answer["errors"]] == ["email"]
    assert not await Customer.exists()


async def test_update_changes_what_it_names_and_nothing_on_a_refusal(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()

    changed = (
        await merchant_graphql(
            client, shop, UPDATE, input={"customerId": customer.id, "name": "Ada L.", "metadata": {"a": "b"}}
        )
    )["updateCustomer"]
    refused = (
        await merchant_graphql(client, shop, UPDATE, input={"customerId": customer.id, "name": "Z", "phoneNumber": "1"})
    )["updateCustomer"]

    assert changed["errors"] == [] and changed["customer"]["name"] == "Ada L."
    assert [error["field"] for error in refused["errors"]] == ["phoneNumber"]
    row = await Customer.get(id=customer.id)
    assert (row.name, row.metadata, row.email) == ("Ada L.", {"a": "b"}, "ada@example.com")


async def test_customers_are_listed_newest_first_in_pages_and_found_by_email(client) -> None:
    shop = await open_shop()
    for n in range(3):
        await shop.customer(f"c{n}@example.com")

    first = (await merchant_graphql(client, shop, LIST, first=2))["customers"]
    rest = (await merchant_graphql(client, shop, LIST, first=2, after=first["pageInfo"]["endCursor"]))["customers"]
    found = (await merchant_graphql(client, shop, LIST, email="C1@Example.com"))["customers"]

    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    assert [node["email"] for node in first["nodes"] + rest["nodes"]] == [
        "c2@example.com",
        "c1@example.com",
        "c0@example.com",
    ]
    assert [node["email"] for node in found["nodes"]] == ["c1@example.com"]


async def foreign_customers(shop: Shop) -> list[Customer]:
    """Business B's customer (same mode), and the same business's customer in the other mode."""
    other = await open_shop("Other")
    return [
        await other.customer("eve@example.com"),
        await Customer.create(business=shop.business, livemode=not shop.livemode, email="eve@example.com", name="Eve"),
    ]


async def test_ids_outside_the_keys_business_and_mode_answer_like_missing_ones_and_change_nothing(client) -> None:
    shop = await open_shop(livemode=True)
    foreign = await foreign_customers(shop)
    missing = [*(customer.id for customer in foreign), "cus_doesnotexist", "not-an-id", "pdt_" + "x" * 60]

    answers = []
    for customer_id in missing:
        assert (await merchant_graphql(client, shop, GET, id=customer_id))["customer"] is None
        answers.append(
            (await merchant_graphql(client, shop, UPDATE, input={"customerId": customer_id, "name": "Mallory"}))[
                "updateCustomer"
            ]
        )

    assert answers[0]["customer"] is None
    assert [error["code"] for error in answers[0]["errors"]] == ["NOT_FOUND"]
    assert all(answer == answers[0] for answer in answers)
    assert {row.name for row in await Customer.filter(id__in=[c.id for c in foreign])} == {"Ada", "Eve"}
    listed = (await merchant_graphql(client, shop, LIST, email="eve@example.com"))["customers"]
    assert listed["totalCount"] == 0

"""The catalog through the merchant API: products, product collections and discounts of one business in one mode,
refused input that writes nothing, ids outside the key's scope answered like missing ones, and a plan change
offering what the catalog says."""

import httpx
import pytest

from billing.plan_changes import plan_options
from merchants.portal_configurations import portal_features
from models import Business, Discount, Product, ProductCollection
from models.enums import PriceType
from tests.support.merchant import (
    CREATE_PRODUCT,
    MONTHLY,
    PRODUCT_FIELDS,
    Merchant,
    call,
    create_plan,
    merchant,
    subscribe,
)

UPDATE_PRODUCT = f"""
mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{ product {{ {PRODUCT_FIELDS} }} errors {{ code field message }} }}
}}
"""
ARCHIVE_PRODUCT = """mutation($id: ID!) {
  archiveProduct(input: {productId: $id}) { product { id archived } errors { code field } } }"""
UNARCHIVE_PRODUCT = """mutation($id: ID!) {
  unarchiveProduct(input: {productId: $id}) { product { id archived } errors { code field } } }"""
PRODUCT = f"query($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}"
PRODUCTS = "query($archived: Boolean) { products(archived: $archived) { totalCount nodes { id name archived } } }"
COLLECTION_FIELDS = "id name products { id collectionId }"
CREATE_COLLECTION = f"""
mutation($name: String!, $productIds: [ID!]!) {{
  createProductCollection(input: {{name: $name, productIds: $productIds}}) {{
    productCollection {{ {COLLECTION_FIELDS} }} errors {{ code field message }}
  }}
}}
"""
UPDATE_COLLECTION = f"""
mutation($id: ID!, $name: String, $productIds: [ID!]) {{
  updateProductCollection(input: {{productCollectionId: $id, name: $name, productIds: $productIds}}) {{
    productCollection {{ {COLLECTION_FIELDS} }} errors {{ code field message }}
  }}
}}
"""
COLLECTION = f"query($id: ID!) {{ productCollection(id: $id) {{ {COLLECTION_FIELDS} }} }}"
COLLECTIONS = f"{{ productCollections {{ totalCount nodes {{ {COLLECTION_FIELDS} }} }} }}"
DISCOUNT_FIELDS = "id code name type amount currency duration durationCycles"
CREATE_DISCOUNT = f"""
mutation($input: CreateDiscountInput!) {{
  createDiscount(input: $input) {{ discount {{ {DISCOUNT_FIELDS} }} errors {{ code field message }} }}
}}
"""
UPDATE_DISCOUNT = f"""
mutation($input: UpdateDiscountInput!) {{
  updateDiscount(input: $input) {{ discount {{ {DISCOUNT_FIELDS} }} errors {{ code field message }} }}
}}
"""
DISCOUNT = f"query($id: ID!) {{ discount(id: $id) {{ {DISCOUNT_FIELDS} }} }}"
DISCOUNTS = f"{{ discounts {{ totalCount nodes {{ {DISCOUNT_FIELDS} }} }} }}"


# --- products -----------------------------------------------------------------------------------------------------


async def test_a_recurring_product_is_created_and_read_back(client: httpx.AsyncClient, acme: Merchant) -> None:
    created = await create_plan(client, acme.live, "Pro", 1200, trialPeriodDays=14)

    assert created["currency"] == "USD"
    assert (created["paymentFrequencyInterval"], created["subscriptionPeriodInterval"]) == ("MONTH", "YEAR")
    assert created["trialPeriodDays"] == 14 and created["archived"] is False
    assert (await call(client, acme.live, PRODUCT, id=created["id"]))["product"] == created
    row = await Product.get(id=created["id"])
    assert (row.business_id, row.livemode, row.price, row.price_type) == (
        acme.business.id,
        True,
        1200,
        PriceType.RECURRING,
    )


async def test_a_one_time_product_with_license_keys(client: httpx.AsyncClient, acme: Merchant) -> None:
    data = await call(
        client,
        acme.test,
        CREATE_PRODUCT,
        input={
            "name": "Font Pack",
            "priceType": "ONE_TIME",
            "price": 4900,
            "currency": "JPY",
            "licenseKeyEnabled": True,
            "licenseKeyActivationsLimit": 3,
            "licenseKeyDurationCount": 1,
            "licenseKeyDurationInterval": "YEAR",
        },
    )

    product = data["createProduct"]["product"]
    assert product["paymentFrequencyInterval"] is None and product["trialPeriodDays"] == 0
    assert (product["licenseKeyActivationsLimit"], product["licenseKeyDurationInterval"]) == (3, "YEAR")
    assert (await Product.get(id=product["id"])).livemode is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Pro\nplan"}, "name"),
        ({"description": "Fonts\x00"}, "description"),
        ({"price": -1}, "price"),
        ({"currency": "XYZ"}, "currency"),
        ({"paymentFrequencyInterval": None}, "paymentFrequencyInterval"),
        ({"subscriptionPeriodCount": 0}, "subscriptionPeriodCount"),
        ({"trialPeriodDays": 731}, "trialPeriodDays"),
        ({"licenseKeyActivationsLimit": 0}, "licenseKeyActivationsLimit"),
        ({"licenseKeyDurationCount": 2}, "licenseKeyDurationInterval"),
        ({"priceType": "ONE_TIME", "trialPeriodDays": 7}, "paymentFrequencyCount"),
    ],
)
async def test_bad_product_input_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, acme: Merchant, changes: dict, field: str
) -> None:
    data = await call(client, acme.live, CREATE_PRODUCT, input={**MONTHLY, "name": "Pro", "price": 1200, **changes})

    payload = data["createProduct"]
    assert payload["product"] is None
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [("INVALID_INPUT", field)]
    assert await Product.all().count() == 0


async def test_a_description_keeps_its_paragraphs(client: httpx.AsyncClient, acme: Merchant) -> None:
    description = "Every font we make.\n\nUpdates included."

    product = await create_plan(client, acme.live, "Pro", 1200, description=description)

    assert (await Product.get(id=product["id"])).description == description


async def test_a_price_change_leaves_existing_subscriptions_alone(client: httpx.AsyncClient, acme: Merchant) -> None:
    plan = await create_plan(client, acme.live, "Pro", 1200)
    subscription = await subscribe(acme.business, plan["id"], 1200)

    data = await call(
        client, acme.live, UPDATE_PRODUCT, input={"productId": plan["id"], "price": 1500, "name": "Pro 2026"}
    )

    assert data["updateProduct"]["errors"] == []
    assert (data["updateProduct"]["product"]["price"], data["updateProduct"]["product"]["name"]) == (1500, "Pro 2026")
    await subscription.refresh_from_db()
    assert subscription.recurring_pre_tax_amount == 1200


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"priceType": "ONE_TIME"}, "priceType"), ({"price": -5}, "price"), ({"trialPeriodDays": -1}, "trialPeriodDays")],
)
async def test_a_refused_update_changes_nothing(
    client: httpx.AsyncClient, acme: Merchant, changes: dict, field: str
) -> None:
    plan = await create_plan(client, acme.live, "Pro", 1200)

    data = await call(client, acme.live, UPDATE_PRODUCT, input={"productId": plan["id"], "name": "Renamed", **changes})

    assert [error["field"] for error in data["updateProduct"]["errors"]] == [field]
    assert (await call(client, acme.live, PRODUCT, id=plan["id"]))["product"] == plan


async def test_archive_and_unarchive(client: httpx.AsyncClient, acme: Merchant) -> None:
    kept = await create_plan(client, acme.live, "Basic", 500)
    plan = await create_plan(client, acme.live, "Pro", 1200)

    archived = await call(client, acme.live, ARCHIVE_PRODUCT, id=plan["id"])
    active = await call(client, acme.live, PRODUCTS, archived=False)
    only_archived = await call(client, acme.live, PRODUCTS, archived=True)
    unarchived = await call(client, acme.live, UNARCHIVE_PRODUCT, id=plan["id"])

    assert archived["archiveProduct"] == {"product": {"id": plan["id"], "archived": True}, "errors": []}
    assert [node["id"] for node in active["products"]["nodes"]] == [kept["id"]]
    assert [node["id"] for node in only_archived["products"]["nodes"]] == [plan["id"]]
    assert unarchived["unarchiveProduct"]["product"]["archived"] is False
    assert (await call(client, acme.live, PRODUCTS))["products"]["totalCount"] == 2


# --- product collections ------------------------------------------------------------------------------------------


async def test_a_collection_keeps_its_products_in_order(client: httpx.AsyncClient, acme: Merchant) -> None:
    basic, pro, team = [
        await create_plan(client, acme.live, name, price)
        for name, price in (("Basic", 500), ("Pro", 1200), ("Team", 3000))
    ]

    created = await call(client, acme.live, CREATE_COLLECTION, name="Plans", productIds=[team["id"], basic["id"]])
    collection = created["createProductCollection"]["productCollection"]
    updated = await call(
        client,
        acme.live,
        UPDATE_COLLECTION,
        id=collection["id"],
        name="All plans",
        productIds=[basic["id"], pro["id"], team["id"]],
    )
    listed = await call(client, acme.live, COLLECTIONS)

    assert [product["id"] for product in collection["products"]] == [team["id"], basic["id"]]
    result = updated["updateProductCollection"]["productCollection"]
    assert result["name"] == "All plans"
    assert [product["id"] for product in result["products"]] == [basic["id"], pro["id"], team["id"]]
    assert {product["collectionId"] for product in result["products"]} == {collection["id"]}
    assert listed["productCollections"]["nodes"] == [result]
    assert (await call(client, acme.live, COLLECTION, id=collection["id"]))["productCollection"] == result


async def test_products_left_out_leave_the_collection(client: httpx.AsyncClient, acme: Merchant) -> None:
    basic, pro = await create_plan(client, acme.live, "Basic", 500), await create_plan(client, acme.live, "Pro", 900)
    created = await call(client, acme.live, CREATE_COLLECTION, name="Plans", productIds=[basic["id"], pro["id"]])
    collection_id = created["createProductCollection"]["productCollection"]["id"]

    await call(client, acme.live, UPDATE_COLLECTION, id=collection_id, productIds=[pro["id"]])

    assert (await Product.get(id=basic["id"])).collection_id is None
    assert (await call(client, acme.live, COLLECTION, id=collection_id))["productCollection"]["products"] == [
        {"id": pro["id"], "collectionId": collection_id}
    ]


async def test_collection_rules_refuse_and_write_nothing(client: httpx.AsyncClient, acme: Merchant) -> None:
    usd = await create_plan(client, acme.live, "Pro", 1200)
    eur = await create_plan(client, acme.live, "Pro EU", 1100, currency="EUR")
    pack = {"name": "Pack", "priceType": "ONE_TIME", "price": 100, "currency": "USD"}
    one_time = (await call(client, acme.live, CREATE_PRODUCT, input=pack))["createProduct"]["product"]
    taken = await call(client, acme.live, CREATE_COLLECTION, name="First", productIds=[usd["id"]])
    first_id = taken["createProductCollection"]["productCollection"]["id"]

    attempts = [
        [usd["id"]],  # in another collection
        [eur["id"], one_time["id"]],
        [eur["id"], eur["id"]],
    ]
    answers = [await call(client, acme.live, CREATE_COLLECTION, name="Second", productIds=ids) for ids in attempts]
    mixed = await call(client, acme.live, UPDATE_COLLECTION, id=first_id, productIds=[usd["id"], eur["id"]])

    codes = [answer["createProductCollection"]["errors"][0]["code"] for answer in answers]
    assert codes == ["PRODUCT_IN_ANOTHER_COLLECTION", "INVALID_INPUT", "INVALID_INPUT"]
    assert mixed["updateProductCollection"]["errors"][0]["field"] == "productIds"
    assert await ProductCollection.all().count() == 1
    assert [row.id for row in await Product.filter(collection_id=first_id)] == [usd["id"]]


# --- discounts ----------------------------------------------------------------------------------------------------


async def test_discounts_are_created_listed_and_updated(client: httpx.AsyncClient, acme: Merchant) -> None:
    percentage = await call(
        client,
        acme.live,
        CREATE_DISCOUNT,
        input={
            "code": "summer-25",
            "name": "Summer",
            "type": "PERCENTAGE",
            "amount": 1250,
            "duration": "REPEATING",
            "durationCycles": 3,
        },
    )
    fixed = await call(
        client,
        acme.live,
        CREATE_DISCOUNT,
        input={"code": "WELCOME_5", "type": "FIXED", "amount": 500, "currency": "usd", "duration": "ONCE"},
    )
    discount_id = percentage["createDiscount"]["discount"]["id"]

    changed = await call(client, acme.live, UPDATE_DISCOUNT, input={"discountId": discount_id, "duration": "FOREVER"})

    assert percentage["createDiscount"]["discount"]["code"] == "SUMMER-25"
    assert fixed["createDiscount"]["discount"]["currency"] == "USD"
    discount = changed["updateDiscount"]["discount"]
    assert (discount["duration"], discount["durationCycles"], discount["amount"]) == ("FOREVER", None, 1250)
    listed = await call(client, acme.live, DISCOUNTS)
    assert [node["code"] for node in listed["discounts"]["nodes"]] == ["WELCOME_5", "SUMMER-25"]
    assert (await call(client, acme.live, DISCOUNT, id=discount_id))["discount"] == discount


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"code": "TAKEN"}, "CODE_TAKEN", "code"),
        ({"code": "NO SPACES"}, "INVALID_INPUT", "code"),
        ({"amount": 10_001}, "INVALID_INPUT", "amount"),
        ({"amount": 0}, "INVALID_INPUT", "amount"),
        ({"currency": "USD"}, "INVALID_INPUT", "currency"),
        ({"type": "FIXED"}, "INVALID_INPUT", "currency"),
        ({"duration": "REPEATING"}, "INVALID_INPUT", "durationCycles"),
        ({"durationCycles": 2}, "INVALID_INPUT", "durationCycles"),
    ],
)
async def test_bad_discount_input_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, acme: Merchant, changes: dict, code: str, field: str
) -> None:
    await Discount.create(
        business=acme.business, livemode=True, code="TAKEN", type="fixed", amount=1, currency="USD", duration="once"
    )

    data = await call(
        client,
        acme.live,
        CREATE_DISCOUNT,
        input={"code": "NEW", "type": "PERCENTAGE", "amount": 1000, "duration": "ONCE", **changes},
    )

    assert data["createDiscount"]["discount"] is None
    assert [(error["code"], error["field"]) for error in data["createDiscount"]["errors"]] == [(code, field)]
    assert await Discount.all().count() == 1


DELETE_DISCOUNT = """mutation($id: ID!) {
  deleteDiscount(input: {discountId: $id}) { deletedId errors { code field message } } }"""


async def test_a_deleted_discount_is_gone_and_a_foreign_one_is_missing(
    client: httpx.AsyncClient, acme: Merchant
) -> None:
    globex = await merchant("Globex")
    ask = {"code": "GONE", "type": "PERCENTAGE", "amount": 1000, "duration": "ONCE"}
    mine = (await call(client, acme.live, CREATE_DISCOUNT, input=ask))["createDiscount"]["discount"]["id"]
    theirs = (await call(client, globex.live, CREATE_DISCOUNT, input=ask))["createDiscount"]["discount"]["id"]

    deleted = await call(client, acme.live, DELETE_DISCOUNT, id=mine)
    again = await call(client, acme.live, DELETE_DISCOUNT, id=mine)
    foreign = await call(client, acme.live, DELETE_DISCOUNT, id=theirs)

    assert deleted["deleteDiscount"] == {"deletedId": mine, "errors": []}
    assert (await call(client, acme.live, DISCOUNT, id=mine))["discount"] is None
    assert again["deleteDiscount"]["deletedId"] is None and again["deleteDiscount"]["errors"][0]["code"] == "NOT_FOUND"
    assert foreign["deleteDiscount"] == again["deleteDiscount"]
    assert await Discount.exists(id=theirs)


async def test_a_code_is_unique_per_business_and_mode_only(client: httpx.AsyncClient, acme: Merchant) -> None:
    globex = await merchant("Globex")
    discount = {"code": "SAME", "type": "PERCENTAGE", "amount": 1000, "duration": "ONCE"}

    answers = [
        await call(client, headers, CREATE_DISCOUNT, input=discount) for headers in (acme.live, acme.test, globex.live)
    ]

    assert [answer["createDiscount"]["errors"] for answer in answers] == [[], [], []]


# --- ids outside the key's scope ----------------------------------------------------------------------------------


@pytest.fixture
async def outsiders(client: httpx.AsyncClient, acme: Merchant) -> dict[str, list[str]]:
    """For each kind, ids the live key of Acme must not reach: Globex's live one, Acme's test one, a missing and a
    malformed one."""
    globex = await merchant("Globex")
    ids: dict[str, list[str]] = {"product": [], "collection": [], "discount": []}
    for headers in (globex.live, acme.test):
        plan = await create_plan(client, headers, "Pro", 1200)
        created = await call(client, headers, CREATE_COLLECTION, name="Plans", productIds=[plan["id"]])
        discount = await call(
            client,
            headers,
            CREATE_DISCOUNT,
            input={"code": "X", "type": "PERCENTAGE", "amount": 100, "duration": "ONCE"},
        )
        ids["product"].append(plan["id"])
        ids["collection"].append(created["createProductCollection"]["productCollection"]["id"])
        ids["discount"].append(discount["createDiscount"]["discount"]["id"])
    for kind, prefix in (("product", "pdt"), ("collection", "pdc"), ("discount", "dsc")):
        ids[kind] += [f"{prefix}_doesnotexist", "not an id"]
    return ids


async def snapshot() -> list:
    return [
        [tuple(row) for row in await model.all().order_by("id").values_list()]
        for model in (Product, ProductCollection, Discount)
    ]


# Each mutation with the variables that ask it about an id, and the input field that names the id.
MUTATIONS = [
    (
        "product",
        UPDATE_PRODUCT,
        "updateProduct",
        lambda id_: {"input": {"productId": id_, "name": "Mine now", "price": 1}},
        "productId",
    ),
    ("product", ARCHIVE_PRODUCT, "archiveProduct", lambda id_: {"id": id_}, "productId"),
    ("product", UNARCHIVE_PRODUCT, "unarchiveProduct", lambda id_: {"id": id_}, "productId"),
    (
        "collection",
        UPDATE_COLLECTION,
        "updateProductCollection",
        lambda id_: {"id": id_, "name": "Mine now", "productIds": []},
        "productCollectionId",
    ),
    (
        "discount",
        UPDATE_DISCOUNT,
        "updateDiscount",
        lambda id_: {"input": {"discountId": id_, "code": "MINE"}},
        "discountId",
    ),
]


@pytest.mark.parametrize(("kind", "mutation", "name", "variables", "field"), MUTATIONS, ids=[m[2] for m in MUTATIONS])
async def test_mutations_answer_outside_ids_like_missing_ones_and_change_nothing(
    client: httpx.AsyncClient, acme: Merchant, outsiders: dict, kind: str, mutation: str, name: str, variables, field
) -> None:
    before = await snapshot()

    answers = [(await call(client, acme.live, mutation, **variables(id_)))[name] for id_ in outsiders[kind]]

    assert all(answer == answers[0] for answer in answers), answers
    assert [(error["code"], error["field"]) for error in answers[0]["errors"]] == [("NOT_FOUND", field)]
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("kind", "query", "name"),
    [
        ("product", PRODUCT, "product"),
        ("collection", COLLECTION, "productCollection"),
        ("discount", DISCOUNT, "discount"),
    ],
)
async def test_queries_answer_outside_ids_with_null(
    client: httpx.AsyncClient, acme: Merchant, outsiders: dict, kind: str, query: str, name: str
) -> None:
    answers = [(await call(client, acme.live, query, id=id_))[name] for id_ in outsiders[kind]]

    assert answers == [None] * len(outsiders[kind])


async def test_lists_hold_only_the_keys_business_and_mode(
    client: httpx.AsyncClient, acme: Merchant, outsiders: dict
) -> None:
    ours = await create_plan(client, acme.live, "Ours", 100)

    lists = [await call(client, acme.live, query) for query in (PRODUCTS, COLLECTIONS, DISCOUNTS)]

    assert [node["id"] for node in lists[0]["products"]["nodes"]] == [ours["id"]]
    assert lists[1]["productCollections"]["totalCount"] == lists[2]["discounts"]["totalCount"] == 0


async def test_a_collection_refuses_outside_products_like_missing_ones(
    client: httpx.AsyncClient, acme: Merchant, outsiders: dict
) -> None:
    answers = [
        (await call(client, acme.live, CREATE_COLLECTION, name="Plans", productIds=[id_]))["createProductCollection"]
        for id_ in outsiders["product"]
    ]

    codes = {(error["code"], error["field"]) for answer in answers for error in answer["errors"]}
    assert codes == {("NOT_FOUND", "productIds")}
    assert await ProductCollection.filter(business_id=acme.business.id, livemode=True).count() == 0


# --- catalog and billing agree ------------------------------------------------------------------------------------


async def test_a_plan_change_offers_the_collection_the_api_built(client: httpx.AsyncClient, acme: Merchant) -> None:
    basic, pro = await create_plan(client, acme.live, "Basic", 500), await create_plan(client, acme.live, "Pro", 1200)
    await call(client, acme.live, CREATE_COLLECTION, name="Plans", productIds=[basic["id"], pro["id"]])
    allowed = await call(
        client, acme.live, "mutation { updateBusiness(input: {allowSubscriptionUpdates: true}) { errors { code } } }"
    )
    assert allowed["updateBusiness"]["errors"] == []
    subscription = await subscribe(acme.business, basic["id"], 500)
    business = await Business.get(id=acme.business.id)
    features = await portal_features(business.id, True)

    offered = await plan_options(subscription, business, features)
    await call(client, acme.live, ARCHIVE_PRODUCT, id=pro["id"])
    after_archive = await plan_options(subscription, business, features)

    assert [(option.product.id, option.direction) for option in offered] == [
        (basic["id"], "current"),
        (pro["id"], "upgrade"),
    ]
    assert [option.product.id for option in after_archive] == [basic["id"]]

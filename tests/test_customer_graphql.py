"""The customer GraphQL read side: what a signed-in customer sees, and what stays out of their reach."""

import pytest

from tests.support import factories
from tests.support.customer_graphql import graphql

SUBSCRIPTIONS = """
query($first: Int, $after: String, $businessId: ID, $status: [SubscriptionStatus!]) {
  viewer {
    email scope livemode
    businesses { id name }
    subscriptions(first: $first, after: $after, businessId: $businessId, status: $status) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id status business { id name } product { name } amount { amount currency formatted }
                     paymentMethod { brand last4 } } }
    }
  }
}
"""


@pytest.fixture
async def world():
    """Ada is a customer of three businesses (live) and of one in test mode; Eve shares one business with her and
    alone owns a fourth."""
    northwind, atelier, sakura, evecorp = [
        await factories.business(name) for name in ("Northwind", "Atelier", "Sakura", "Evecorp")
    ]
    ada = {
        "northwind": await factories.customer_with_history(northwind, "ada@example.com", currency="USD"),
        "atelier": await factories.customer_with_history(atelier, "ada@example.com", currency="EUR"),
        "sakura": await factories.customer_with_history(sakura, "ADA@example.com", currency="JPY"),
        "test": await factories.customer_with_history(northwind, "ada@example.com", livemode=False),
    }
    eve = {
        "northwind": await factories.customer_with_history(northwind, "eve@example.com"),
        "evecorp": await factories.customer_with_history(evecorp, "eve@example.com"),
    }
    return {"ada": ada, "eve": eve, "businesses": [northwind, atelier, sakura, evecorp]}


async def test_unified_session_sees_every_business_of_the_email_in_its_mode(client, world):
    token = await factories.unified_token("ada@example.com")
    result = await graphql(client, token, SUBSCRIPTIONS, {"first": 100})
    viewer = result["data"]["viewer"]
    assert (viewer["email"], viewer["scope"], viewer["livemode"]) == ("ada@example.com", "UNIFIED", True)
    assert [b["name"] for b in viewer["businesses"]] == ["Atelier", "Northwind", "Sakura"]
    live_ids = {s.id for key in ("northwind", "atelier", "sakura") for s in world["ada"][key].subscriptions}
    seen = {edge["node"]["id"] for edge in viewer["subscriptions"]["edges"]}
    assert seen == live_ids
    assert viewer["subscriptions"]["totalCount"] == 6
    assert {edge["node"]["business"]["name"] for edge in viewer["subscriptions"]["edges"]} == {
        "Northwind",
        "Atelier",
        "Sakura",
    }


async def test_test_mode_session_never_sees_live_data(client, world):
    token = await factories.unified_token("ada@example.com", livemode=False)
    viewer = (await graphql(client, token, SUBSCRIPTIONS, {"first": 100}))["data"]["viewer"]
    assert viewer["livemode"] is False
    assert {e["node"]["id"] for e in viewer["subscriptions"]["edges"]} == {
        s.id for s in world["ada"]["test"].subscriptions
    }


async def test_business_session_sees_only_its_customer(client, world):
    token = await factories.business_token(world["ada"]["atelier"].customer)
    query = """{ viewer { scope businesses { name } customer { id email }
                 subscriptions { totalCount edges { node { id } } } invoices { totalCount } } }"""
    viewer = (await graphql(client, token, query))["data"]["viewer"]
    assert viewer["scope"] == "BUSINESS"
    assert viewer["businesses"] == [{"name": "Atelier"}]
    assert viewer["customer"]["id"] == world["ada"]["atelier"].customer.id
    assert {e["node"]["id"] for e in viewer["subscriptions"]["edges"]} == {
        s.id for s in world["ada"]["atelier"].subscriptions
    }
    assert viewer["invoices"]["totalCount"] == 3


async def test_unverified_records_of_the_email_stay_out_of_the_unified_portal(client, world):
    await factories.Customer.filter(id=world["ada"]["sakura"].customer.id).update(email_verified=False)
    token = await factories.unified_token("ada@example.com")
    viewer = (await graphql(client, token, "{ viewer { businesses { name } } }"))["data"]["viewer"]
    assert [b["name"] for b in viewer["businesses"]] == ["Atelier", "Northwind"]


async def test_an_id_outside_the_scope_answers_like_a_missing_one(client, world):
    token = await factories.unified_token("ada@example.com")
    eve = world["eve"]["northwind"]
    node_query = "query($id: ID!) { node(id: $id) { id } }"
    for foreign, missing in [
        (eve.subscriptions[0].id, "sub_doesnotexist000000000000"),
        (eve.invoices[0].id, "inv_doesnotexist000000000000"),
        (eve.license_keys[0].id, "lic_doesnotexist000000000000"),
        (eve.purchases[0].id, "pay_doesnotexist000000000000"),
        (eve.payment_methods[0].id, "pm_doesnotexist000000000000"),
        (eve.customer.id, "cus_doesnotexist000000000000"),
        (world["businesses"][3].id, "bus_doesnotexist000000000000"),
        (world["ada"]["test"].subscriptions[0].id, "sub_doesnotexist000000000001"),
    ]:
        assert await graphql(client, token, node_query, {"id": foreign}) == {"data": {"node": None}}
        assert await graphql(client, token, node_query, {"id": missing}) == {"data": {"node": None}}

    own = world["ada"]["sakura"].invoices[0].id
    assert (await graphql(client, token, node_query, {"id": own}))["data"]["node"] == {"id": own}

    by_business = "query($b: ID) { viewer { subscriptions(businessId: $b) { totalCount edges { node { id } } } } }"
    foreign_business = await graphql(client, token, by_business, {"b": world["businesses"][3].id})
    missing_business = await graphql(client, token, by_business, {"b": "bus_doesnotexist000000000000"})
    assert foreign_business == missing_business
    assert foreign_business["data"]["viewer"]["subscriptions"]["totalCount"] == 0

    shared = world["businesses"][0].id
    in_shared = await graphql(client, token, by_business, {"b": shared})
    ids = {e["node"]["id"] for e in in_shared["data"]["viewer"]["subscriptions"]["edges"]}
    assert ids == {s.id for s in world["ada"]["northwind"].subscriptions}


async def test_nested_lists_stay_inside_the_scope(client, world):
    token = await factories.business_token(world["eve"]["northwind"].customer)
    query = "{ viewer { businesses { name invoices(first: 100) { totalCount edges { node { id } } } } } }"
    (northwind,) = (await graphql(client, token, query))["data"]["viewer"]["businesses"]
    assert {e["node"]["id"] for e in northwind["invoices"]["edges"]} == {
        i.id for i in world["eve"]["northwind"].invoices
    }


async def test_pages_are_newest_first_and_cursors_continue_them(client, world):
    token = await factories.business_token(world["ada"]["northwind"].customer)
    expected = [s.id for s in sorted(world["ada"]["northwind"].subscriptions, key=lambda s: s.created_at)][::-1]
    first = (await graphql(client, token, SUBSCRIPTIONS, {"first": 1}))["data"]["viewer"]["subscriptions"]
    assert [e["node"]["id"] for e in first["edges"]] == expected[:1]
    assert first["pageInfo"]["hasNextPage"] is True
    after = {"first": 1, "after": first["pageInfo"]["endCursor"]}
    second = (await graphql(client, token, SUBSCRIPTIONS, after))["data"]["viewer"]["subscriptions"]
    assert [e["node"]["id"] for e in second["edges"]] == expected[1:2]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["totalCount"] == first["totalCount"] == 2


async def test_status_filter(client, world):
    token = await factories.unified_token("ada@example.com")
    edges = (await graphql(client, token, SUBSCRIPTIONS, {"status": ["PENDING"]}))["data"]["viewer"]
    assert {e["node"]["status"] for e in edges["subscriptions"]["edges"]} == {"PENDING"}
    assert edges["subscriptions"]["totalCount"] == 3


@pytest.mark.parametrize(
    ("language", "business", "expected"),
    [("en-US", "northwind", "$12.00"), ("fr-FR,fr;q=0.9", "atelier", "12,00\u00a0€"), ("en", "sakura", "¥1,200")],
)
async def test_money_is_formatted_for_the_readers_locale(client, world, language, business, expected):
    token = await factories.business_token(world["ada"][business].customer)
    result = await graphql(client, token, SUBSCRIPTIONS, {"first": 1}, **{"Accept-Language": language})
    amount = result["data"]["viewer"]["subscriptions"]["edges"][0]["node"]["amount"]
    assert amount["formatted"] == expected


async def test_large_amounts_use_the_locales_grouping(client, world):
    await factories.Subscription.filter(customer_id=world["ada"]["atelier"].customer.id).update(
        recurring_pre_tax_amount=120000
    )
    token = await factories.business_token(world["ada"]["atelier"].customer)
    result = await graphql(client, token, SUBSCRIPTIONS, {"first": 1}, **{"Accept-Language": "fr-FR"})
    assert (
        result["data"]["viewer"]["subscriptions"]["edges"][0]["node"]["amount"]["formatted"] == "1\u202f200,00\u00a0€"
    )


async def test_queries_work_over_get(client, world):
    token = await factories.unified_token("ada@example.com")
    response = await client.get(
        "/graphql", params={"query": "{ viewer { email } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json() == {"data": {"viewer": {"email": "ada@example.com"}}}


async def test_without_a_session_the_viewer_is_refused(client, world):
    for token in (None, "cps_notarealtoken", "garbage"):
        result = await graphql(client, token, "{ viewer { email } }")
        assert result["data"] == {"viewer": None}
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_revoked_session_opens_nothing(client, world):
    from access.sessions import revoke_session
    from models import PortalSession

    token = await factories.unified_token("ada@example.com")
    await revoke_session(await PortalSession.get(email="ada@example.com"))
    result = await graphql(client, token, "{ viewer { email } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_every_list_filters_by_status(client, world):
    await factories.Invoice.filter(id=world["ada"]["sakura"].invoices[0].id).update(status="refunded")
    await factories.LicenseKey.filter(id=world["ada"]["atelier"].license_keys[0].id).update(status="disabled")
    token = await factories.unified_token("ada@example.com")
    query = """{ viewer {
        refunded: invoices(status: [REFUNDED]) { edges { node { id } } }
        paid: invoices(status: [PAID]) { totalCount }
        disabled: licenseKeys(status: [DISABLED]) { edges { node { id } } }
        failed: purchases(status: [FAILED]) { totalCount }
        succeeded: purchases(status: [SUCCEEDED]) { totalCount } } }"""
    viewer = (await graphql(client, token, query))["data"]["viewer"]
    assert viewer["refunded"]["edges"] == [{"node": {"id": world["ada"]["sakura"].invoices[0].id}}]
    assert viewer["paid"]["totalCount"] == 8
    assert viewer["disabled"]["edges"] == [{"node": {"id": world["ada"]["atelier"].license_keys[0].id}}]
    assert (viewer["failed"]["totalCount"], viewer["succeeded"]["totalCount"]) == (0, 3)


async def test_graphql_over_http_media_types_and_status_codes(client, world):
    token = await factories.unified_token("ada@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    modern = {**auth, "Accept": "application/graphql-response+json"}

    refused = await client.post("/graphql", json={"query": "{ nope }"}, headers=modern)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/graphql-response+json")

    executed = await client.post("/graphql", json={"query": "{ viewer { email } }"}, headers=modern)
    assert executed.status_code == 200
    assert executed.headers["content-type"].startswith("application/graphql-response+json")

    legacy = await client.post("/graphql", json={"query": "{ nope }"}, headers=auth)
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, "application/json")

    get_mutation = await client.get("/graphql", params={"query": "mutation { x }"}, headers=auth)
    assert (get_mutation.status_code, get_mutation.headers["allow"]) == (405, "POST")


async def test_a_cookie_session_needs_the_csrf_token_to_post(client, world, settings):
    from gateway.http.csrf import VISITOR_COOKIE, _token_for

    token = await factories.unified_token("ada@example.com")
    client.cookies.set("portal_session", token)
    client.cookies.set(VISITOR_COOKIE, "v" * 32)
    query = {"query": "{ viewer { email } }"}

    forged = await client.post("/graphql", json=query)
    assert forged.status_code == 403
    assert forged.json()["errors"][0]["extensions"]["code"] == "CSRF_TOKEN_INVALID"

    wrong = await client.post("/graphql", json=query, headers={"X-CSRF-Token": _token_for("w" * 32, settings)})
    assert wrong.status_code == 403

    honest = await client.post("/graphql", json=query, headers={"X-CSRF-Token": _token_for("v" * 32, settings)})
    assert honest.json() == {"data": {"viewer": {"email": "ada@example.com"}}}

    read_only = await client.get("/graphql", params=query)
    assert read_only.json() == {"data": {"viewer": {"email": "ada@example.com"}}}


async def test_the_return_url_is_the_sessions_else_the_business_default(client, world):
    from models import PortalSession

    atelier = world["ada"]["atelier"].customer
    await factories.Business.filter(id=atelier.business_id).update(default_return_url="https://atelier.test/account")
    token = await factories.business_token(atelier)
    query = "{ viewer { returnUrl } }"
    assert (await graphql(client, token, query))["data"]["viewer"]["returnUrl"] == "https://atelier.test/account"

    await PortalSession.filter(customer_id=atelier.id).update(return_url="https://atelier.test/after")
    assert (await graphql(client, token, query))["data"]["viewer"]["returnUrl"] == "https://atelier.test/after"

    unified = await factories.unified_token("ada@example.com")
    assert (await graphql(client, unified, query))["data"]["viewer"]["returnUrl"] is None

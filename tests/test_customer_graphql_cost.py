"""The dashboard costs a fixed number of SQL statements, and the limits keep any one request bounded."""

import pytest

from schema.common.limits import MAX_ALIASES, MAX_DEPTH, MAX_PAGE_SIZE
from tests.support import factories
from tests.support.customer_graphql import graphql

DASHBOARD = """
{
  viewer {
    email scope
    businesses {
      id name supportEmail branding { logoUrl primaryColor accentColor }
      customer { id name }
      subscriptions(first: 100) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { id status quantity product { id name } amount { formatted } nextBillingDate
                       cancelAtNextBillingDate paymentMethod { id brand last4 expMonth expYear } } }
      }
      invoices(first: 100) {
        totalCount edges { node { id number issuedAt status total { formatted }
                                  lines { description quantity amount { formatted } } } }
      }
      licenseKeys(first: 100) {
        totalCount edges { node { id key status activationsLimit instancesCount product { name }
                                  instances { id name createdAt } } }
      }
      purchases(first: 100) {
        totalCount edges { node { id total { formatted } items { product { name } quantity }
                                  licenseKeys { key } } }
      }
      paymentMethods { id brand last4 isDefault }
    }
  }
}
"""


async def build(scale: int) -> str:
    for name in ("Northwind", "Atelier", "Sakura"):
        await factories.customer_with_history(await factories.business(name), "ada@example.com", scale=scale)
    return await factories.unified_token("ada@example.com")


async def dashboard_statements(client, count_statements, token: str) -> tuple[int, dict]:
    with count_statements() as counter:
        result = await graphql(client, token, DASHBOARD)
    assert "errors" not in result, result
    return counter.count, result


@pytest.mark.parametrize("scale", [20])
async def test_the_dashboard_costs_the_same_statements_for_twenty_times_the_data(client, count_statements, scale):
    small_count, small = await dashboard_statements(client, count_statements, await build(1))
    await factories.Business.all().delete()
    big_count, big = await dashboard_statements(client, count_statements, await build(scale))

    assert len(big["data"]["viewer"]["businesses"]) == 3
    for business in big["data"]["viewer"]["businesses"]:
        assert business["invoices"]["totalCount"] == 3 * scale
        assert business["subscriptions"]["totalCount"] == 2 * scale
        assert all(len(e["node"]["lines"]) == 2 for e in business["invoices"]["edges"])
        assert all(e["node"]["instancesCount"] == 2 for e in business["licenseKeys"]["edges"])
    print(f"dashboard statements: {small_count} (x1) and {big_count} (x{scale})")
    assert small_count == big_count <= 16


async def test_page_size_is_capped(client):
    token = await build(1)
    query = "query($first: Int) { viewer { invoices(first: $first) { totalCount } } }"
    result = await graphql(client, token, query, {"first": MAX_PAGE_SIZE + 1})
    assert result["errors"][0]["message"] == f"`first` must be between 0 and {MAX_PAGE_SIZE}."


async def test_a_foreign_cursor_is_refused_plainly(client):
    token = await build(1)
    result = await graphql(client, token, '{ viewer { invoices(after: "bm9wZQ==") { totalCount } } }')
    assert result["errors"][0]["message"] == "`after` is not a cursor this API handed out."


async def test_depth_is_limited(client):
    token = await build(1)
    hop = "subscriptions { edges { node { business { "
    deep = "{ viewer { businesses { " + hop * 3 + "id" + " } } } }" * 3 + " } } }"
    result = await graphql(client, token, deep)
    assert result["data"] is None
    assert f"exceeds maximum operation depth of {MAX_DEPTH}" in result["errors"][0]["message"]


async def test_aliases_are_limited(client):
    token = await build(1)
    many = " ".join(f"a{i}: email" for i in range(MAX_ALIASES + 1))
    result = await graphql(client, token, f"{{ viewer {{ {many} }} }}")
    assert result["data"] is None
    assert "aliases found" in result["errors"][0]["message"]


async def test_tokens_are_limited(client):
    token = await build(1)
    result = await graphql(client, token, "{ viewer { " + "email " * 2500 + "} }")
    assert result["data"] is None
    assert "token" in result["errors"][0]["message"].lower()


async def test_an_expensive_query_is_refused_before_it_runs(client, count_statements):
    token = await build(1)
    expensive = """{ viewer { businesses { invoices(first: 100) { edges { node { lines { description } } } }
      subscriptions(first: 100) { edges { node { business { invoices(first: 100) { edges { node { id number
      lines { description quantity } } } } } } } } } } }"""
    with count_statements() as counter:
        result = await graphql(client, token, expensive)
    assert result["data"] is None
    assert "exceeds the maximum cost" in result["errors"][0]["message"]
    assert not [statement for statement in counter.statements if 'FROM "invoice' in statement]


async def test_unexpected_errors_are_masked(client, monkeypatch):
    token = await build(1)

    async def broken(self, keys):
        raise RuntimeError("connection string postgres://secret@db")

    monkeypatch.setattr("schema.customer.loaders.CustomerLoaders._load_pages", broken)
    result = await graphql(client, token, "{ viewer { invoices { totalCount } } }")
    assert result["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in str(result)

"""Every page and the customer mutations cost a fixed number of SQL statements, whatever the data: a customer with
six times the history (subscriptions, invoices with their lines, purchases, license keys) in two businesses costs
exactly the statements one with a single history costs. The dashboard query has its own test
(tests/test_customer_graphql_cost.py), as do the billing history and subscription pages."""

from collections.abc import Awaitable, Callable

import httpx
import pytest

from models.enums import SubscriptionStatus
from tests.support.factories import (
    Owned,
    business,
    business_token,
    customer_with_history,
    unified_token,
    with_problems,
)

FEW, MANY = 1, 6
PAGES = ["/", "/purchases", "/payment-methods?business={business}", "/profile", "/license-keys/{license_key}"]
SUBSCRIPTION = (
    "subscription { id status product { name } paymentMethod { last4 } "
    "invoices(first: 5) { nodes { number lines { description } } } }"
)
MUTATIONS = {
    "cancelSubscription": (
        "mutation($id: ID!) { cancelSubscription(input: {subscriptionId: $id}) "
        f"{{ {SUBSCRIPTION} errors {{ code }} }} }}",
        lambda owned: {"id": active(owned).id},
    ),
    "updateSubscriptionPaymentMethod": (
        "mutation($id: ID!, $method: ID!) { updateSubscriptionPaymentMethod(input: {subscriptionId: $id, "
        f"paymentMethodId: $method}}) {{ {SUBSCRIPTION} errors {{ code }} }} }}",
        lambda owned: {"id": active(owned).id, "method": owned.payment_methods[0].id},
    ),
    "setDefaultPaymentMethod": (
        "mutation($method: ID!) { setDefaultPaymentMethod(input: {paymentMethodId: $method}) { paymentMethod { id "
        "last4 isDefault } errors { code } } }",
        lambda owned: {"method": owned.payment_methods[0].id},
    ),
    "deactivateLicenseKeyInstance": (
        "mutation($instance: ID!) { deactivateLicenseKeyInstance(input: {instanceId: $instance}) { licenseKey { id "
        "instancesCount instances { name } product { name } } errors { code } } }",
        lambda owned: {"instance": owned.license_key_instances[0].id},
    ),
}


def active(owned: Owned):
    return next(s for s in owned.subscriptions if s.status == SubscriptionStatus.ACTIVE)


async def histories(email: str, scale: int) -> list[Owned]:
    """The same email at two businesses, each with `scale` times the history and, whatever the scale, what the
    homes put first (a subscription on hold and one whose first payment failed), so both scales ask for it."""
    owners = [await customer_with_history(await business(f"{name} {email}"), email, scale=scale) for name in "AB"]
    for owned in owners:
        await with_problems(owned)
    return owners


async def costs(http: httpx.AsyncClient, count_statements, send: Callable[[list[Owned], str], Awaitable]) -> dict:
    """The statements `send` costs for a customer with a few rows and for one with many, in both scopes; each on
    histories of its own, as a mutation changes them."""
    found = {}
    for scale in (FEW, MANY):
        for scope in ("unified", "business"):
            email = f"{scope}-{scale}@example.com"
            owners = await histories(email, scale)
            token = await (unified_token(email) if scope == "unified" else business_token(owners[0].customer))
            with count_statements() as counter:
                await send(owners, token)
            found[scope, scale] = counter.count
    return found


@pytest.mark.parametrize("path", PAGES)
async def test_a_page_costs_the_same_statements_for_six_times_the_history(http, count_statements, path) -> None:
    async def get(owners: list[Owned], token: str) -> None:
        http.cookies.set("portal_session", token)
        first = owners[0]
        page = await http.get(path.format(license_key=first.license_keys[0].id, business=first.customer.business_id))
        assert page.status_code == 200, page.text[:300]

    found = await costs(http, count_statements, get)
    assert found["unified", FEW] == found["unified", MANY], found
    assert found["business", FEW] == found["business", MANY], found


@pytest.mark.parametrize("name", MUTATIONS)
async def test_a_mutation_costs_the_same_statements_for_six_times_the_history(http, count_statements, name) -> None:
    query, variables_of = MUTATIONS[name]

    async def mutate(owners: list[Owned], token: str) -> None:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables_of(owners[0])},
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        assert "errors" not in body, body
        assert not body["data"][name]["errors"], body

    found = await costs(http, count_statements, mutate)
    assert found["unified", FEW] == found["unified", MANY], found
    assert found["business", FEW] == found["business", MANY], found

"""Asking the customer schema as a test does: `run` executes it directly as the bearer of a session, `graphql`
posts to /graphql through an app client; `REACTIVATE` pays an on-hold subscription with a saved card, answering the
`PAYMENT_FIELDS`."""

import httpx

from access.sessions import viewer_for_token
from schema.customer import build_context, schema
from tests.support.billing import billing_context
from tests.support.factories import POLICY

PAYMENT_FIELDS = """
  subscription { id status nextBillingDate }
  payment { id status errorCode errorMessage }
  invoice { id number }
  nextAction { url }
  errors { code field message }
"""
REACTIVATE = f"""
mutation Reactivate($subscription: ID!, $method: ID!, $key: String!) {{
  reactivateSubscription(input: {{subscriptionId: $subscription, paymentMethodId: $method, idempotencyKey: $key}}) {{
    {PAYMENT_FIELDS}
  }}
}}"""


async def run(session: str, query: str, locale: str = "en", **variables) -> dict:
    """The `data` of `query` asked as the bearer of `session`, which must not fail as a whole."""
    viewer = await viewer_for_token(session, POLICY)
    result = await schema.execute(
        query, variable_values=variables, context_value=build_context(viewer, locale, "req_test", billing_context())
    )
    assert result.errors is None, result.errors
    return result.data


async def graphql(
    client: httpx.AsyncClient, token: str | None, query: str, variables: dict | None = None, **headers: str
) -> dict:
    """The answer of POST /graphql, with `token` as the bearer when given."""
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()

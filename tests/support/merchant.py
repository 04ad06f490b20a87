"""What the merchant API tests share: a business with an API key per mode, and one call of the merchant schema."""

from dataclasses import dataclass

import httpx

from merchants.api_keys import create_api_key
from merchants.businesses import BusinessChanges, create_business
from models import Business


@dataclass
class Merchant:
    """A business (made as an operator makes one, default portal configurations included) and its keys."""

    business: Business
    live: dict[str, str]
    test: dict[str, str]

    def headers(self, livemode: bool) -> dict[str, str]:
        return self.live if livemode else self.test


async def merchant(name: str = "Acme") -> Merchant:
    business = await create_business(BusinessChanges(name=name, support_email=f"help@{name.lower()}.example"))
    keys = {}
    for livemode in (True, False):
        secret, _ = await create_api_key(business, livemode=livemode)
        keys[livemode] = {"Authorization": f"Bearer {secret}"}
    return Merchant(business=business, live=keys[True], test=keys[False])


async def call(client: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: object) -> dict:
    """The `data` of a merchant GraphQL request that must not fail as a whole."""
    response = await client.post("/merchant/graphql", json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]

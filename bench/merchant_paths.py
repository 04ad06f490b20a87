"""The merchant API's list endpoints on the bench data set, as a merchant's integration calls them: REST
`GET /customers`, `/subscriptions` and `/payments` with `page_size` and `page_number` (Dodo's list parameters, as its
SDK sends them), and the merchant GraphQL schema's `customers`, `subscriptions` and `payments` connections.

`prepare` picks the business with the most live customers, counts its live customers, subscriptions and payments,
and creates a live API key for it (merchants.api_keys); `revoke` revokes that key after the run. A REST path goes
round the first pages in turn; an answer counts only with status 200 and exactly the number of items that page holds
(a GraphQL answer: its first page's edges and the total count).
"""

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from tortoise.functions import Count

from bench.paths import HotPath, Request
from merchants.api_keys import create_api_key, revoke_api_key
from models import Business, Customer, Payment, Subscription

PAGE_SIZE = 100
# The pages a REST path goes round: enough that the answers are not one page's rows over and over.
REST_PAGES = 10
RESOURCES = ("customers", "subscriptions", "payments")
_MODELS = {"customers": Customer, "subscriptions": Subscription, "payments": Payment}
_NODE_FIELDS = {
    "customers": "id email name phoneNumber billingAddress { country } taxId locale metadata createdAt",
    "subscriptions": """id customerId productId status quantity recurringPreTaxAmount currency nextBillingDate
        previousBillingDate cancelAtNextBillingDate paymentMethodId metadata createdAt""",
    "payments": """id customerId subscriptionId totalAmount tax currency status cardLastFour cardNetwork errorCode
        createdAt invoiceNumber""",
}
MERCHANT_GRAPHQL_PATH = "/merchant/graphql"


@dataclass(frozen=True)
class MerchantFixtures:
    business_name: str
    api_key_id: str
    secret: str
    totals: dict[str, int]  # live rows of the business per resource


async def prepare() -> MerchantFixtures:
    """A live API key of the business with the most live customers, and its row counts (the database is
    connected)."""
    busiest = (
        await Customer.filter(livemode=True)
        .annotate(customers=Count("id"))
        .group_by("business_id")
        .order_by("-customers")
        .first()
        .values("business_id")
    )
    assert busiest is not None, "the bench data set has customers"
    business = await Business.get(id=busiest["business_id"])
    totals = {
        resource: await model.filter(business_id=business.id, livemode=True).count()
        for resource, model in _MODELS.items()
    }
    secret, api_key = await create_api_key(business, livemode=True, name="bench.run")
    return MerchantFixtures(business.name, api_key.id, secret, totals)


async def revoke(fixtures: MerchantFixtures) -> None:
    await revoke_api_key(fixtures.api_key_id)


def _items_on_page(total: int, page: int) -> int:
    return max(0, min(PAGE_SIZE, total - page * PAGE_SIZE))


def rest_list(fixtures: MerchantFixtures, resource: str) -> HotPath:
    """`GET /{resource}?page_size=100&page_number=N`, N going round the first pages."""
    total = fixtures.totals[resource]
    pages = itertools.cycle(range(min(REST_PAGES, max(1, math.ceil(total / PAGE_SIZE)))))
    headers = {"Authorization": f"Bearer {fixtures.secret}"}

    def complete(response: httpx.Response) -> bool:
        page = int(response.request.url.params["page_number"])
        return len(response.json()["items"]) == _items_on_page(total, page)

    return HotPath(
        f"REST GET /{resource}",
        lambda: Request("GET", f"/{resource}?page_size={PAGE_SIZE}&page_number={next(pages)}", headers),
        200,
        "application/json",
        check=complete,
    )


def graphql_list(fixtures: MerchantFixtures, resource: str) -> HotPath:
    """The merchant schema's `{resource}(first: 100)` connection: the Dodo fields of each node and the total."""
    query = f"{{ {resource}(first: {PAGE_SIZE}) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ "
    query += f"{_NODE_FIELDS[resource]} }} }} }} }}"
    request = Request(
        "POST", MERCHANT_GRAPHQL_PATH, {"Authorization": f"Bearer {fixtures.secret}"}, json={"query": query}
    )
    total = fixtures.totals[resource]
    return HotPath(
        f"merchant GraphQL {resource}",
        lambda: request,
        200,
        "application/json",
        check=_complete_connection(resource, total),
    )


def _complete_connection(resource: str, total: int) -> Callable[[httpx.Response], bool]:
    def complete(response: httpx.Response) -> bool:
        payload = response.json()
        if "errors" in payload:
            return False
        connection = payload["data"][resource]
        return connection["totalCount"] == total and len(connection["edges"]) == _items_on_page(total, 0)

    return complete

"""What the merchant API tests share: a business with an API key per mode (`bearer` makes one), one call of the
merchant schema, a monthly plan created through it (`create_plan`) and a customer subscribed to a product
(`subscribe`). tests/conftest.py loads it as a plugin, for its fixture `acme` (the business Acme, made as an operator
makes one)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from merchants.api_keys import create_api_key
from merchants.businesses import BusinessChanges, create_business
from models import Business, Customer, Subscription
from models.enums import Interval, SubscriptionStatus

PRODUCT_FIELDS = """
  id name priceType price currency trialPeriodDays paymentFrequencyCount paymentFrequencyInterval
  subscriptionPeriodCount subscriptionPeriodInterval licenseKeyEnabled licenseKeyActivationsLimit
  licenseKeyDurationCount licenseKeyDurationInterval collectionId archived
"""
CREATE_PRODUCT = f"""
mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{ product {{ {PRODUCT_FIELDS} }} errors {{ code field message }} }}
}}
"""
MONTHLY = {
    "priceType": "RECURRING",
    "currency": "usd",
    "paymentFrequencyCount": 1,
    "paymentFrequencyInterval": "MONTH",
    "subscriptionPeriodCount": 1,
    "subscriptionPeriodInterval": "YEAR",
}


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
    return Merchant(business=business, live=await bearer(business, True), test=await bearer(business, False))


async def bearer(business: Business, livemode: bool = True) -> dict[str, str]:
    """The Authorization header of a new API key of the business in the mode."""
    secret, _ = await create_api_key(business, livemode=livemode)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def acme() -> Merchant:
    return await merchant("Acme")


async def call(client: httpx.AsyncClient, headers: dict[str, str], query: str, **variables: object) -> dict:
    """The `data` of a merchant GraphQL request that must not fail as a whole."""
    response = await client.post("/merchant/graphql", json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


async def create_plan(client: httpx.AsyncClient, headers: dict, name: str, price: int, **extra: object) -> dict:
    data = await call(client, headers, CREATE_PRODUCT, input={**MONTHLY, "name": name, "price": price, **extra})
    assert data["createProduct"]["errors"] == []
    return data["createProduct"]["product"]


async def subscribe(business: Business, product_id: str, amount: int) -> Subscription:
    customer = await Customer.create(business=business, livemode=True, email="ada@example.com")
    now = datetime.now(UTC)
    return await Subscription.create(
        business=business,
        livemode=True,
        customer=customer,
        product_id=product_id,
        status=SubscriptionStatus.ACTIVE,
        recurring_pre_tax_amount=amount,
        currency="USD",
        payment_frequency_interval=Interval.MONTH,
        previous_billing_date=now - timedelta(days=10),
        next_billing_date=now + timedelta(days=20),
    )

"""What the merchant customer and subscription tests share: a shop (a business with an API key in one mode and a
recurring product), and calls to the merchant GraphQL API."""

from dataclasses import dataclass

import httpx

from merchants.api_keys import create_api_key
from models import Business, Customer, Product
from models.enums import Interval, PriceType


@dataclass
class Shop:
    business: Business
    livemode: bool
    headers: dict[str, str]
    product: Product

    async def customer(self, email: str = "ada@example.com") -> Customer:
        return await Customer.create(business=self.business, livemode=self.livemode, email=email, name="Ada")

    async def product_at(self, price: int, **fields) -> Product:
        return await Product.create(
            business=self.business,
            livemode=self.livemode,
            name=f"Plan {price}",
            price=price,
            price_type=PriceType.RECURRING,
            payment_frequency_interval=Interval.MONTH,
            payment_frequency_count=1,
            **{"currency": "USD", **fields},
        )

    async def one_time_product(self, price: int, **fields) -> Product:
        """A product sold once (a download, a license), in USD unless `fields` say otherwise."""
        return await Product.create(
            business=self.business,
            livemode=self.livemode,
            price=price,
            price_type=PriceType.ONE_TIME,
            **{"name": f"Download {price}", "currency": "USD", **fields},
        )


async def open_shop(
    name: str = "Acme", livemode: bool = False, business: Business | None = None, **product_fields
) -> Shop:
    """A business taxing 10 % (or `business`), its API key for the mode and a monthly product at $12.00."""
    business = business or await Business.create(name=name, support_email="help@acme.example", tax_rate_bp=1000)
    secret, _ = await create_api_key(business, livemode=livemode)
    shop = Shop(business, livemode, {"Authorization": f"Bearer {secret}"}, None)  # type: ignore[arg-type]
    shop.product = await shop.product_at(1200, **product_fields)
    return shop


async def merchant_graphql(client: httpx.AsyncClient, shop: Shop, query: str, **variables) -> dict:
    response = await client.post(
        "/merchant/graphql", json={"query": query, "variables": variables}, headers=shop.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]

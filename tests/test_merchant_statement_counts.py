"""Every list of the merchant schema and of the REST API, with the fields its items show from other rows, costs a
fixed number of SQL statements whatever the data: a business with six times the rows costs exactly the statements one
with a single set costs. The business is seeded with `scale` customers, each with the history of
tests.support.factories and one of everything the merchant API lists."""

from datetime import UTC, datetime, timedelta

import pytest

from access.access_tokens import mint_access_token
from merchants.api_keys import create_api_key
from models import (
    CustomDomain,
    Discount,
    Event,
    Invoice,
    Payment,
    PortalConfiguration,
    Product,
    ProductCollection,
    Refund,
    Subscription,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.enums import (
    DeliveryStatus,
    DiscountDuration,
    DiscountType,
    PaymentPurpose,
    PaymentStatus,
    RefundStatus,
)
from tests.support.factories import business, customer_with_history

FEW, MANY = 1, 6
LISTS = {
    "customers": "{ customers(first: 50) { totalCount nodes { id email billingAddress { country } } } }",
    "subscriptions": (
        "{ subscriptions(first: 50) { totalCount nodes { id status paymentFrequencyInterval cancellationFeedback } } }"
    ),
    "products": "{ products(first: 50) { totalCount nodes { id name priceType paymentFrequencyInterval } } }",
    "productCollections": "{ productCollections(first: 50) { totalCount nodes { id name products { id } } } }",
    "discounts": "{ discounts(first: 50) { totalCount nodes { id code type duration } } }",
    "portalConfigurations": (
        "{ portalConfigurations(first: 50) { totalCount nodes { id name features { subscriptionCancel { mode } } } } }"
    ),
    "payments": (
        "{ payments(first: 50) { totalCount nodes { id status invoiceNumber "
        "refunds(first: 5) { totalCount nodes { id status } } } } }"
    ),
    "refunds": "{ refunds(first: 50) { totalCount nodes { id status amount } } }",
    "licenseKeys": (
        "{ licenseKeys(first: 50) { totalCount nodes { id status instancesCount "
        "instances(first: 5) { totalCount nodes { name } } } } }"
    ),
    "webhookEndpoints": (
        "{ webhookEndpoints(first: 50) { totalCount nodes { id eventTypes deliveries(first: 5) { totalCount "
        "nodes { id eventType status attempts(first: 5) { totalCount nodes { statusCode } } } } } } }"
    ),
    "customerAccessTokens": "{ customerAccessTokens(first: 50) { totalCount nodes { tokenId customerId scope } } }",
    "customDomains": "{ business { customDomains(first: 50) { totalCount nodes { id hostname status } } } }",
}


async def seeded_key(scale: int) -> dict[str, str]:
    """The headers of a live key of a business holding `scale` times every kind of row."""
    shop = await business(f"Shop {scale}")
    secret, api_key = await create_api_key(shop, livemode=True)
    common = {"business": shop, "livemode": True}
    for n in range(scale):
        owned = await customer_with_history(shop, f"buyer{n}@example.com")
        [purchase] = owned.purchases
        await Invoice.filter(id=owned.invoices[0].id).update(payment_id=purchase.id)
        await Refund.create(
            **common,
            customer=owned.customer,
            payment_id=purchase.id,
            amount=100,
            currency="USD",
            status=RefundStatus.SUCCEEDED,
        )
        # A renewal has no items: its product cart is its subscription's plan.
        plan = owned.subscriptions[0]
        await Payment.create(
            **common,
            customer=owned.customer,
            subscription_id=plan.id,
            total_amount=1200,
            currency="USD",
            status=PaymentStatus.SUCCEEDED,
            purpose=PaymentPurpose.RENEWAL,
            idempotency_key=f"{plan.id}-renewal",
        )
        collection = await ProductCollection.create(**common, name=f"Plans {n}")
        await Product.filter(id=plan.product_id).update(collection_id=collection.id)
        discount = await Discount.create(
            **common, code=f"SAVE{n}", type=DiscountType.PERCENTAGE, amount=1000, duration=DiscountDuration.ONCE
        )
        await Subscription.filter(id=plan.id).update(discount_id=discount.id)
        await PortalConfiguration.create(**common, name=f"Portal {n}", is_default=n == 0)
        endpoint = await WebhookEndpoint.create(**common, url=f"https://hooks{n}.example/in", secret="whsec_x")
        event = await Event.create(**common, type="payment.succeeded", data={})
        delivery = await WebhookDelivery.create(
            endpoint=endpoint, event=event, status=DeliveryStatus.FAILED, next_attempt_at=datetime.now(UTC)
        )
        await WebhookAttempt.create(delivery=delivery, status_code=500, duration_ms=12, attempted_at=datetime.now(UTC))
        await CustomDomain.create(
            business=shop,
            hostname=f"billing{n}.shop{scale}.example",
            verification_token=f"token-{n}",
            expires_at=datetime.now(UTC) + timedelta(days=7),
        )
        await mint_access_token(
            api_key=api_key, customer_id=owned.customer.id, expires_in_seconds=None, default_seconds=3600
        )
    return {"Authorization": f"Bearer {secret}"}


def total_count(data: dict) -> int:
    """The list's totalCount, however deep its connection sits."""
    found = data.get("totalCount")
    if found is not None:
        return found
    return next(total_count(value) for value in data.values() if isinstance(value, dict))


@pytest.mark.parametrize("name", sorted(LISTS))
async def test_a_merchant_list_costs_the_same_statements_for_six_times_the_rows(http, count_statements, name) -> None:
    counts, totals = {}, {}
    for scale in (FEW, MANY):
        headers = await seeded_key(scale)
        with count_statements() as counter:
            response = await http.post("/merchant/graphql", json={"query": LISTS[name]}, headers=headers)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        counts[scale], totals[scale] = counter.count, total_count(body["data"])

    assert counts[FEW] == counts[MANY], counts
    assert totals[FEW] < totals[MANY], totals


# A page of a REST list costs at most this many statements: the key and its last use, the page, and one for each
# relation its items show (the most, a payment's: refunds, invoice, items, the plan of one without items, license key).
REST_STATEMENTS = 8


REST_LISTS = (
    "/customers",
    "/subscriptions",
    "/payments",
    "/refunds",
    "/license_keys",
    "/license_key_instances",
    "/products",
    "/product-collections",
    "/discounts",
)


@pytest.mark.parametrize("path", REST_LISTS)
async def test_a_rest_list_costs_the_same_few_statements_for_six_times_the_rows(http, count_statements, path) -> None:
    counts, sizes = {}, {}
    for scale in (FEW, MANY):
        headers = await seeded_key(scale)
        with count_statements() as counter:
            response = await http.get(path, params={"page_size": 100}, headers=headers)
        assert response.status_code == 200, response.json()
        counts[scale], sizes[scale] = counter.count, len(response.json()["items"])

    assert counts[FEW] == counts[MANY] <= REST_STATEMENTS, counts
    assert sizes[FEW] < sizes[MANY], sizes

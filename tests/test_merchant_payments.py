"""The merchant GraphQL API over payments, refunds, license keys and webhook endpoints, as an integration calls it
with its API key: what it reads, what its mutations change, and that every id outside the key's business and mode
answers exactly like a missing one and changes nothing."""

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from gateway.worker.webhook_delivery import process_due_webhooks
from merchants.webhooks import create_endpoint
from models import LicenseKey, LicenseKeyInstance, Refund, WebhookDelivery, WebhookEndpoint
from models.enums import DeliveryStatus, LicenseKeyStatus
from tests.support.merchant import call
from tests.support.sales import Sale, key_for_foreign, key_of, paid_sale
from tests.support.webhooks import Receiver

# The shops are live-mode ones, refunded through the sandbox as in the demo.
WEBHOOK_SETTINGS = Settings(
    secret_key="test", run_worker_in_web=False, webhooks_allow_private=True, sandbox_in_live_mode=True
)


@pytest.fixture
async def private_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The merchant API as a deployment with PORTAL_WEBHOOKS_ALLOW_PRIVATE runs it, so a local receiver is allowed."""
    private = dataclasses.replace(settings, webhooks_allow_private=True)
    transport = httpx.ASGITransport(app=create_app(private, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url=private.base_url) as http:
        yield http


@pytest.fixture
async def foreign() -> dict[str, Sale]:
    """What an API key must never reach: another business's sale, and a test-mode sale of a live key's business."""
    return {"other business": await paid_sale("Other Shop"), "test mode": await paid_sale("Test Shop", livemode=False)}


PAYMENT = """query($id: ID!) { payment(id: $id) {
  id totalAmount tax currency status cardLastFour cardNetwork errorCode subscriptionId customerId invoiceNumber
  refunds(first: 5) { totalCount nodes { id amount status creditNoteNumber } }
} }"""
CREATE_REFUND = """mutation($paymentId: ID!, $key: String!, $amount: Int, $reason: String) {
  createRefund(input: {paymentId: $paymentId, idempotencyKey: $key, amount: $amount, reason: $reason}) {
    refund { id paymentId amount currency status reason creditNoteNumber }
    errors { code field message }
  }
}"""


async def test_a_payment_reads_with_dodos_names_its_invoice_and_refunds(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)
    created = await call(
        client, headers, CREATE_REFUND, paymentId=sale.payment.id, key="k1", amount=1000, reason="Late"
    )

    payment = (await call(client, headers, PAYMENT, id=sale.payment.id))["payment"]

    refund = created["createRefund"]["refund"]
    assert created["createRefund"]["errors"] == []
    assert refund["amount"] == 1000 and refund["status"] == "SUCCEEDED" and refund["creditNoteNumber"] == "SF-CN-0001"
    assert payment["id"] == sale.payment.id and payment["totalAmount"] == sale.payment.total_amount
    assert (payment["currency"], payment["status"], payment["cardLastFour"], payment["cardNetwork"]) == (
        "USD",
        "SUCCEEDED",
        "4242",
        "visa",
    )
    assert payment["subscriptionId"] == sale.shop.subscription.id and payment["customerId"] == sale.shop.customer.id
    assert payment["invoiceNumber"] == "SF-0001" and payment["errorCode"] is None
    assert payment["refunds"] == {
        "totalCount": 1,
        "nodes": [{k: refund[k] for k in ("id", "amount", "status", "creditNoteNumber")}],
    }


async def test_payments_filter_by_customer_subscription_and_status(client, sale: Sale, foreign) -> None:
    headers = await key_of(sale.shop.business.id)
    query = """query($customer: ID, $subscription: ID, $status: PaymentStatus) {
      payments(first: 10, customerId: $customer, subscriptionId: $subscription, status: $status) {
        totalCount nodes { id } } }"""

    def ids(data: dict) -> list[str]:
        return [node["id"] for node in data["payments"]["nodes"]]

    assert ids(await call(client, headers, query)) == [sale.payment.id]
    assert ids(await call(client, headers, query, customer=sale.shop.customer.id)) == [sale.payment.id]
    assert ids(await call(client, headers, query, subscription=sale.shop.subscription.id)) == [sale.payment.id]
    assert ids(await call(client, headers, query, status="FAILED")) == []
    other = foreign["other business"]
    assert ids(await call(client, headers, query, customer=other.shop.customer.id)) == []
    assert ids(await call(client, headers, query, customer="cus_" + "x" * 60)) == []


async def test_a_refund_retried_answers_the_first_and_an_over_refund_is_refused(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)
    total = sale.payment.total_amount

    first = await call(client, headers, CREATE_REFUND, paymentId=sale.payment.id, key="whole")
    retry = await call(client, headers, CREATE_REFUND, paymentId=sale.payment.id, key="whole")
    over = await call(client, headers, CREATE_REFUND, paymentId=sale.payment.id, key="again", amount=1)
    reused = await call(client, headers, CREATE_REFUND, paymentId=sale.payment.id, key="whole", amount=5)

    assert first["createRefund"]["refund"]["amount"] == total
    assert retry["createRefund"]["refund"]["id"] == first["createRefund"]["refund"]["id"]
    assert over["createRefund"] == {
        "refund": None,
        "errors": [
            {
                "code": "PAYMENT_NOT_REFUNDABLE",
                "field": "paymentId",
                "message": "Only a succeeded payment with money left to refund can be refunded.",
            }
        ],
    }
    assert reused["createRefund"]["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await Refund.all().count() == 1
    assert (await LicenseKey.get(id=sale.key.id)).status == LicenseKeyStatus.DISABLED


async def test_a_refund_above_what_is_left_names_the_maximum(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)

    data = await call(client, headers, CREATE_REFUND, paymentId=sale.payment.id, key="k", amount=10**6)

    [error] = data["createRefund"]["errors"]
    assert (error["code"], error["field"]) == ("REFUND_AMOUNT_INVALID", "amount")
    assert str(sale.payment.total_amount) in error["message"]
    assert await Refund.all().count() == 0


async def test_foreign_payments_and_refunds_answer_like_missing_ones_and_change_nothing(
    client, sale: Sale, foreign
) -> None:
    for name, theirs in foreign.items():
        headers = await key_of(key_for_foreign(sale, name, theirs))
        their_refund = await Refund.create(
            business=theirs.shop.business,
            livemode=theirs.payment.livemode,
            customer=theirs.shop.customer,
            payment=theirs.payment,
            amount=1,
            currency="USD",
            status="failed",
        )
        answers = []
        for payment_id in (theirs.payment.id, "pay_missing", "x" * 80):
            refund = await call(client, headers, CREATE_REFUND, paymentId=payment_id, key=f"k-{name}")
            read = await call(client, headers, PAYMENT, id=payment_id)
            answers.append((refund, read))
        assert answers[0] == answers[1] == answers[2], name
        assert answers[0][0]["createRefund"]["errors"][0]["code"] == "NOT_FOUND"
        assert answers[0][1] == {"payment": None}
        refund_query = (
            "query($id: ID!, $pay: ID) { refund(id: $id) { id } refunds(first: 5, paymentId: $pay) { totalCount } }"
        )
        seen = await call(client, headers, refund_query, id=their_refund.id, pay=theirs.payment.id)
        assert seen == {"refund": None, "refunds": {"totalCount": 0}}, name
        assert await Refund.filter(payment_id=theirs.payment.id).count() == 1, name


LICENSE_KEY = """query($id: ID!) { licenseKey(id: $id) {
  id key status activationsLimit instancesCount expiresAt paymentId productId customerId
  instances(first: 10) { totalCount nodes { name } }
} }"""
UPDATE_KEY = """mutation($id: ID!, $status: LicenseKeyStatus, $limit: Int, $expires: DateTime) {
  updateLicenseKey(input: {licenseKeyId: $id, status: $status, activationsLimit: $limit, expiresAt: $expires}) {
    licenseKey { status activationsLimit expiresAt } errors { code field message }
  }
}"""


async def test_license_keys_list_read_and_update(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)
    for name in ("Laptop", "Desktop"):
        await LicenseKeyInstance.create(license_key=sale.key, name=name)
    listed = await call(
        client,
        headers,
        "query($c: ID) { licenseKeys(first: 5, customerId: $c, status: ACTIVE) { totalCount } }",
        c=sale.shop.customer.id,
    )
    read = (await call(client, headers, LICENSE_KEY, id=sale.key.id))["licenseKey"]
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)

    updated = await call(
        client, headers, UPDATE_KEY, id=sale.key.id, status="DISABLED", limit=2, expires=expires.isoformat()
    )
    unlimited = await call(client, headers, UPDATE_KEY, id=sale.key.id, limit=None)

    assert listed["licenseKeys"]["totalCount"] == 2  # the payment's key and the subscription's
    assert (read["key"], read["status"], read["instancesCount"], read["paymentId"]) == (
        sale.key.key,
        "ACTIVE",
        2,
        sale.payment.id,
    )
    assert sorted(node["name"] for node in read["instances"]["nodes"]) == ["Desktop", "Laptop"]
    assert updated["updateLicenseKey"] == {
        "licenseKey": {"status": "DISABLED", "activationsLimit": 2, "expiresAt": expires.isoformat()},
        "errors": [],
    }
    assert unlimited["updateLicenseKey"]["licenseKey"]["activationsLimit"] is None
    stored = await LicenseKey.get(id=sale.key.id)
    assert stored.status == LicenseKeyStatus.DISABLED and stored.activations_limit is None
    assert stored.expires_at == expires


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"limit": 1}, "activationsLimit"),
        ({"limit": 0}, "activationsLimit"),
        ({"expires": "2020-01-01T00:00:00+00:00"}, "expiresAt"),
        ({"status": "EXPIRED"}, "status"),
    ],
)
async def test_a_bad_license_key_update_is_refused_and_changes_nothing(client, sale: Sale, arguments, field) -> None:
    headers = await key_of(sale.shop.business.id)
    for name in ("Laptop", "Desktop"):
        await LicenseKeyInstance.create(license_key=sale.key, name=name)

    data = await call(client, headers, UPDATE_KEY, id=sale.key.id, **arguments)

    [error] = data["updateLicenseKey"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", field)
    stored = await LicenseKey.get(id=sale.key.id)
    assert (stored.status, stored.activations_limit, stored.expires_at) == (LicenseKeyStatus.ACTIVE, None, None)


async def test_foreign_license_keys_answer_like_missing_ones_and_change_nothing(client, sale: Sale, foreign) -> None:
    for name, theirs in foreign.items():
        headers = await key_of(key_for_foreign(sale, name, theirs))
        answers = [
            (
                await call(client, headers, LICENSE_KEY, id=key_id),
                await call(client, headers, UPDATE_KEY, id=key_id, status="DISABLED"),
            )
            for key_id in (theirs.key.id, "lic_missing", "")
        ]
        assert answers[0] == answers[1] == answers[2], name
        assert answers[0][0] == {"licenseKey": None}
        assert answers[0][1]["updateLicenseKey"]["errors"][0]["code"] == "NOT_FOUND"
        assert (await LicenseKey.get(id=theirs.key.id)).status == LicenseKeyStatus.ACTIVE


ENDPOINT_FIELDS = "webhookEndpoint { id url eventTypes disabled failingSince }"
CREATE_ENDPOINT = f"""mutation($url: String!, $types: [WebhookEventType!]) {{
  createWebhookEndpoint(input: {{url: $url, eventTypes: $types}}) {{
    {ENDPOINT_FIELDS} secret errors {{ code field message }}
  }}
}}"""
ROTATE = "mutation($id: ID!) { rotateWebhookSecret(input: {webhookEndpointId: $id}) { secret errors { code } } }"
DELETE = "mutation($id: ID!) { deleteWebhookEndpoint(input: {webhookEndpointId: $id}) { deletedId errors { code } } }"
DISABLE = """mutation($id: ID!) {
  updateWebhookEndpoint(input: {webhookEndpointId: $id, disabled: true}) { errors { code } } }"""
DELIVERIES = """query($id: ID!) { webhookEndpoint(id: $id) { deliveries(first: 5) { totalCount nodes {
  id eventType status attemptCount nextAttemptAt
  attempts(first: 5) { nodes { statusCode durationMs responseSnippet error attemptedAt } }
} } } }"""


async def test_a_live_endpoint_on_a_private_address_is_refused(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)

    data = await call(client, headers, CREATE_ENDPOINT, url="https://127.0.0.1/hooks")

    assert data["createWebhookEndpoint"]["webhookEndpoint"] is None
    [error] = data["createWebhookEndpoint"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_URL", "url") and "non-public" in error["message"]
    assert await WebhookEndpoint.all().count() == 0


async def test_endpoints_are_created_inspected_replayed_rotated_and_deleted(
    private_client: httpx.AsyncClient, sale: Sale, receiver: Receiver
) -> None:
    client = private_client
    headers = await key_of(sale.shop.business.id)
    created = (await call(client, headers, CREATE_ENDPOINT, url=receiver.url, types=["REFUND_SUCCEEDED"]))[
        "createWebhookEndpoint"
    ]
    endpoint_id = created["webhookEndpoint"]["id"]
    assert created["secret"].startswith("whsec_") and created["errors"] == []
    assert created["webhookEndpoint"]["eventTypes"] == ["REFUND_SUCCEEDED"]
    unknown = await client.post(
        "/merchant/graphql",
        json={"query": CREATE_ENDPOINT, "variables": {"url": receiver.url, "types": ["REFUND_MAYBE"]}},
        headers=headers,
    )
    assert "REFUND_MAYBE" in unknown.json()["errors"][0]["message"] and unknown.json().get("data") is None
    assert await WebhookEndpoint.all().count() == 1

    await call(client, headers, CREATE_REFUND, paymentId=sale.payment.id, key="k", amount=100)
    await process_due_webhooks(WEBHOOK_SETTINGS)
    [request] = receiver.requests
    assert request.verified_with(created["secret"])["type"] == "refund.succeeded"

    deliveries = (await call(client, headers, DELIVERIES, id=endpoint_id))["webhookEndpoint"]["deliveries"]
    [delivery] = deliveries["nodes"]
    assert (delivery["eventType"], delivery["status"], delivery["attemptCount"]) == ("REFUND_SUCCEEDED", "SENT", 1)
    assert delivery["nextAttemptAt"] is None and delivery["id"] == request.headers["webhook-id"]
    [attempt] = delivery["attempts"]["nodes"]
    # The receiver is on 127.0.0.1: what a private address answers is not kept.
    assert (attempt["statusCode"], attempt["responseSnippet"], attempt["error"]) == (200, "", None)

    replay = """mutation($id: ID!) {
      replayWebhookDelivery(input: {webhookDeliveryId: $id}) {
        webhookDelivery { status attemptCount } errors { code } } }"""
    replayed = await call(client, headers, replay, id=delivery["id"])
    assert replayed["replayWebhookDelivery"] == {
        "webhookDelivery": {"status": "PENDING", "attemptCount": 0},
        "errors": [],
    }
    await process_due_webhooks(WEBHOOK_SETTINGS)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery["id"]] * 2

    new_secret = (await call(client, headers, ROTATE, id=endpoint_id))["rotateWebhookSecret"]["secret"]
    assert new_secret.startswith("whsec_") and new_secret != created["secret"]
    assert (await WebhookEndpoint.get(id=endpoint_id)).secret == new_secret

    assert (await call(client, headers, DELETE, id=endpoint_id))["deleteWebhookEndpoint"]["deletedId"] == endpoint_id
    assert await WebhookEndpoint.all().count() == 0 and await WebhookDelivery.all().count() == 0


async def test_an_update_rechecks_the_url_and_re_enabling_clears_the_failure_streak(
    private_client: httpx.AsyncClient, sale: Sale
) -> None:
    client = private_client
    headers = await key_of(sale.shop.business.id)
    endpoint, _ = await create_endpoint(
        sale.shop.business, livemode=True, url="https://example.com/hooks", event_types=[], allow_private=True
    )
    await WebhookEndpoint.filter(id=endpoint.id).update(
        disabled=True, disabled_at=datetime.now(UTC), failing_since=datetime.now(UTC) - timedelta(days=6)
    )
    update = f"""mutation($id: ID!, $url: String, $disabled: Boolean, $types: [WebhookEventType!]) {{
      updateWebhookEndpoint(input: {{webhookEndpointId: $id, url: $url, disabled: $disabled, eventTypes: $types}}) {{
        {ENDPOINT_FIELDS} errors {{ code field }} }} }}"""

    bad = await call(client, headers, update, id=endpoint.id, url="ftp://example.com/hooks", disabled=False)
    enabled = await call(client, headers, update, id=endpoint.id, disabled=False, types=["PAYMENT_FAILED"])

    assert bad["updateWebhookEndpoint"] == {
        "webhookEndpoint": None,
        "errors": [{"code": "INVALID_URL", "field": "url"}],
    }
    assert enabled["updateWebhookEndpoint"]["webhookEndpoint"] == {
        "id": endpoint.id,
        "url": "https://example.com/hooks",
        "eventTypes": ["PAYMENT_FAILED"],
        "disabled": False,
        "failingSince": None,
    }
    stored = await WebhookEndpoint.get(id=endpoint.id)
    assert not stored.disabled and stored.failing_since is None and stored.disabled_at is None


async def test_foreign_endpoints_and_deliveries_answer_like_missing_ones_and_change_nothing(
    client, sale: Sale, foreign
) -> None:
    for name, theirs in foreign.items():
        headers = await key_of(key_for_foreign(sale, name, theirs))
        endpoint, secret = await create_endpoint(
            theirs.shop.business,
            livemode=theirs.payment.livemode,
            url="https://example.com/hooks",
            event_types=[],
            allow_private=True,
        )
        event = await theirs.shop.business.events.all().first()
        delivery = await WebhookDelivery.create(
            endpoint=endpoint, event=event, status=DeliveryStatus.FAILED, next_attempt_at=datetime.now(UTC)
        )
        answers = []
        for endpoint_id, delivery_id in ((endpoint.id, delivery.id), ("whk_missing", "whd_missing"), ("x", "")):
            calls = (
                ("query($id: ID!) { webhookEndpoint(id: $id) { id } }", endpoint_id),
                (DISABLE, endpoint_id),
                (ROTATE, endpoint_id),
                (DELETE, endpoint_id),
                (
                    "mutation($id: ID!) { replayWebhookDelivery(input: {webhookDeliveryId: $id}) { errors { code } } }",
                    delivery_id,
                ),
            )
            answers.append([await call(client, headers, query, id=asked) for query, asked in calls])
        assert answers[0] == answers[1] == answers[2], name
        listed = await call(client, headers, "{ webhookEndpoints(first: 5) { totalCount } }")
        assert listed == {"webhookEndpoints": {"totalCount": 0}}
        stored = await WebhookEndpoint.get(id=endpoint.id)
        assert (stored.secret, stored.disabled) == (secret, False)
        assert (await WebhookDelivery.get(id=delivery.id)).status == DeliveryStatus.FAILED

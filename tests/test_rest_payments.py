"""The Dodo-compatible REST subset over payments, refunds, license keys and invoice PDFs: Dodo's field names, list
shape and status codes, the Idempotency-Key rule, and ids outside the key's scope answering like missing ones."""

import httpx
from dodopayments._models import validate_type
from dodopayments.types import LicenseKey, Payment, PaymentListResponse
from dodopayments.types import Refund as DodoRefund

from models import Customer, LicenseKeyInstance, Refund, SandboxCharge
from tests.support.sales import Sale, key_for_foreign, key_of, paid_sale


def answer(response: httpx.Response) -> tuple[int, dict]:
    return response.status_code, response.json()


async def test_payments_list_and_read_in_dodos_shape(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)
    await Customer.filter(id=sale.shop.customer.id).update(billing_country="US")  # Dodo's payments always have one

    listed = await client.get("/payments", params={"customer_id": sale.shop.customer.id}, headers=headers)
    read = await client.get(f"/payments/{sale.payment.id}", headers=headers)
    failed_only = await client.get("/payments", params={"status": "failed"}, headers=headers)
    bad_status = await client.get("/payments", params={"status": "lost"}, headers=headers)

    assert listed.status_code == 200 and list(listed.json()) == ["items"]
    [item] = listed.json()["items"]
    validate_type(type_=PaymentListResponse, value=item)
    assert (item["payment_id"], item["status"], item["currency"]) == (sale.payment.id, "succeeded", "USD")
    assert item["customer"] == {
        "customer_id": sale.shop.customer.id,
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "phone_number": None,
        "metadata": {},
    }
    assert (item["card_last_four"], item["card_network"], item["total_amount"]) == (
        "4242",
        "visa",
        sale.payment.total_amount,
    )
    body = read.json()
    validate_type(type_=Payment, value=body)
    assert (
        body["refunds"] == []
        and body["invoice_id"].startswith("inv_")
        and body == item | {"invoice_id": body["invoice_id"]}
    )
    assert failed_only.json() == {"items": []}
    assert (bad_status.status_code, bad_status.json()["field"]) == (422, "status")


async def test_a_refund_is_created_once_per_idempotency_key(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)
    body = {"payment_id": sale.payment.id, "amount": 1500, "reason": "Duplicate order"}

    first = await client.post("/refunds", json=body, headers={**headers, "Idempotency-Key": "r-1"})
    retry = await client.post("/refunds", json=body, headers={**headers, "Idempotency-Key": "r-1"})
    reused = await client.post("/refunds", json={**body, "amount": 10}, headers={**headers, "Idempotency-Key": "r-1"})
    too_much = await client.post(
        "/refunds", json={**body, "amount": 10**7}, headers={**headers, "Idempotency-Key": "r-2"}
    )
    items = await client.post(
        "/refunds", json={"payment_id": sale.payment.id, "items": []}, headers={**headers, "Idempotency-Key": "r-3"}
    )

    assert first.status_code == 200
    validate_type(type_=DodoRefund, value=first.json())
    refund = first.json()
    assert (refund["amount"], refund["status"], refund["is_partial"], refund["reason"]) == (
        1500,
        "succeeded",
        True,
        "Duplicate order",
    )
    assert retry.json() == refund
    assert (reused.status_code, reused.json()["code"], reused.json()["field"]) == (
        409,
        "IDEMPOTENCY_KEY_REUSED",
        "Idempotency-Key",
    )
    assert (too_much.status_code, too_much.json()["code"], too_much.json()["field"]) == (
        422,
        "REFUND_AMOUNT_INVALID",
        "amount",
    )
    assert (items.status_code, items.json()["field"]) == (422, "items")
    assert await Refund.all().count() == 1
    assert (await SandboxCharge.get(id=sale.payment.processor_reference)).refunded_amount == 1500
    listed = await client.get("/refunds", params={"payment_id": sale.payment.id}, headers=headers)
    assert listed.json() == {"items": [refund]}
    read = await client.get(f"/payments/{sale.payment.id}", headers=headers)
    [listed_refund] = read.json()["refunds"]
    assert listed_refund == {
        key: value for key, value in refund.items() if key not in ("customer", "brand_id", "metadata")
    }


async def test_without_an_idempotency_key_each_refund_runs_once_as_sent(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)
    body = {"payment_id": sale.payment.id, "amount": 100}

    first = await client.post("/refunds", json=body, headers=headers)
    second = await client.post("/refunds", json=body, headers=headers)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["refund_id"] != second.json()["refund_id"]
    assert (await SandboxCharge.get(id=sale.payment.processor_reference)).refunded_amount == 200


async def test_a_partial_refund_by_dodos_items(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)
    product_id = (await client.get(f"/payments/{sale.payment.id}", headers=headers)).json()["product_cart"][0][
        "product_id"
    ]

    by_item = await client.post(
        "/refunds",
        json={"payment_id": sale.payment.id, "items": [{"item_id": product_id, "amount": 300}]},
        headers=headers,
    )
    unknown = await client.post(
        "/refunds",
        json={"payment_id": sale.payment.id, "items": [{"item_id": "pdt_nope", "amount": 1}]},
        headers=headers,
    )

    assert (by_item.status_code, by_item.json()["amount"], by_item.json()["is_partial"]) == (200, 300, True)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "items.0.item_id")


async def test_license_keys_list_in_dodos_shape(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)
    await LicenseKeyInstance.create(license_key=sale.key, name="Laptop")

    listed = await client.get(
        "/license_keys", params={"customer_id": sale.shop.customer.id, "status": "active"}, headers=headers
    )

    keys = {item["id"]: item for item in listed.json()["items"]}
    validate_type(type_=LicenseKey, value=keys[sale.key.id])
    assert (keys[sale.key.id]["instances_count"], keys[sale.key.id]["payment_id"]) == (1, sale.payment.id)
    assert len(keys) == 2  # the payment's key and the subscription's


async def test_the_invoice_pdf_comes_with_the_api_key_only(client, sale: Sale) -> None:
    headers = await key_of(sale.shop.business.id)

    pdf = await client.get(f"/invoices/payments/{sale.payment.id}", headers=headers)
    anonymous = await client.get(f"/invoices/payments/{sale.payment.id}")

    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"] == 'attachment; filename="SF-0001.pdf"'
    assert pdf.headers["cache-control"] == "private, no-store"
    assert anonymous.status_code == 401


async def test_foreign_ids_answer_like_missing_ones_and_change_nothing(client, sale: Sale) -> None:
    foreign = {"other business": await paid_sale("Other Shop"), "test mode": await paid_sale("Test", livemode=False)}
    for name, theirs in foreign.items():
        headers = await key_of(key_for_foreign(sale, name, theirs))
        refund_headers = {**headers, "Idempotency-Key": "k"}
        answers = [
            [
                answer(await client.get(f"/payments/{payment_id}", headers=headers)),
                answer(await client.get(f"/invoices/payments/{payment_id}", headers=headers)),
                answer(await client.post("/refunds", json={"payment_id": payment_id}, headers=refund_headers)),
            ]
            for payment_id in (theirs.payment.id, "pay_missing", "x" * 80)
        ]
        assert answers[0] == answers[1] == answers[2], name
        assert answers[0][0] == (404, {"code": "NOT_FOUND", "message": "No payment with that id.", "field": None})
        for path in ("/payments", "/refunds", "/license_keys"):
            assert (
                await client.get(path, params={"customer_id": theirs.shop.customer.id}, headers=headers)
            ).json() == {"items": []}, (name, path)
        assert await Refund.filter(payment_id=theirs.payment.id).count() == 0

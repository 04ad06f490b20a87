""" "Download my data" (`/profile/export`): a JSON attachment no cache keeps, holding every row the session may see —
one business's in BUSINESS scope, every business's of the email in UNIFIED scope, never another customer's or the
other mode's — with payment methods' public details only, and no internal secret."""

import json

import httpx

from models import PaymentMethod
from tests.support.factories import Owned, business, business_token, customer_with_history, unified_token

SECRETS = ("processor_token", "fingerprint", "idempotency_key", "request_fingerprint", "processor_reference")


async def download(client: httpx.AsyncClient, token: str) -> httpx.Response:
    client.cookies.set("portal_session", token)
    return await client.get("/profile/export")


def ids(owned: list[Owned]) -> dict[str, set[str]]:
    """The ids of everything the given records own, by the export's keys."""
    return {
        "profiles": {each.customer.id for each in owned},
        "subscriptions": {row.id for each in owned for row in each.subscriptions},
        "invoices": {row.id for each in owned for row in each.invoices},
        "purchases": {row.id for each in owned for row in each.purchases},
        "licenseKeys": {row.id for each in owned for row in each.license_keys},
        "paymentMethods": {row.id for each in owned for row in each.payment_methods},
    }


def exported_ids(data: dict) -> dict[str, set[str]]:
    return {kind: {row["id"] for row in data[kind]} for kind in ids([])}


async def world() -> tuple[Owned, Owned, Owned, Owned]:
    """Ada at Acme and at Globex; Grace at Acme; Ada's test-mode record at Acme."""
    acme, globex = await business("Acme"), await business("Globex")
    ada_acme = await customer_with_history(acme, "ada@example.com")
    ada_globex = await customer_with_history(globex, "ada@example.com", currency="EUR")
    grace = await customer_with_history(acme, "grace@example.com")
    ada_test = await customer_with_history(acme, "ada@example.com", livemode=False)
    for owned in (ada_acme, ada_globex, grace, ada_test):
        await PaymentMethod.filter(customer_id=owned.customer.id).update(
            processor_token=f"tok_secret_{owned.customer.id}", fingerprint=f"fp_secret_{owned.customer.id}"
        )
    return ada_acme, ada_globex, grace, ada_test


async def test_a_business_session_downloads_its_one_record(client) -> None:
    ada_acme, _, _, _ = await world()

    answer = await download(client, await business_token(ada_acme.customer))
    data = answer.json()

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"] == 'attachment; filename="customer-data.json"'
    assert answer.headers["cache-control"] == "private, no-store"
    assert (data["scope"], data["email"], data["livemode"]) == ("business", "ada@example.com", True)
    assert exported_ids(data) == ids([ada_acme])


async def test_a_unified_session_downloads_every_business_of_its_email_in_its_mode(client) -> None:
    ada_acme, ada_globex, grace, ada_test = await world()

    data = (await download(client, await unified_token("ada@example.com"))).json()

    assert exported_ids(data) == ids([ada_acme, ada_globex])
    assert {profile["business"]["name"] for profile in data["profiles"]} == {"Acme", "Globex"}
    text = json.dumps(data)
    for other in (grace, ada_test):
        assert other.customer.id not in text
        assert not any(row.id in text for row in other.invoices + other.subscriptions + other.license_keys)


async def test_the_export_holds_lines_items_and_instances_but_no_secret(client) -> None:
    ada_acme, *_ = await world()

    answer = await download(client, await business_token(ada_acme.customer))
    data = answer.json()

    [method] = data["paymentMethods"]
    assert set(method) == {
        "id",
        "businessId",
        "type",
        "brand",
        "last4",
        "expMonth",
        "expYear",
        "isDefault",
        "createdAt",
        "removedAt",
    }
    assert (method["brand"], method["last4"], method["expMonth"], method["expYear"]) == ("visa", "4242", 12, 2030)
    assert all(len(invoice["lines"]) == 2 for invoice in data["invoices"])
    assert [item["amount"] for purchase in data["purchases"] for item in purchase["items"]] == [4900]
    assert [len(key["instances"]) for key in data["licenseKeys"]] == [2]
    assert "tok_secret" not in answer.text and "fp_secret" not in answer.text
    assert not any(secret in answer.text for secret in SECRETS)
    assert not any(purchase.idempotency_key in answer.text for purchase in ada_acme.purchases)


async def test_the_export_costs_the_same_statements_for_more_data(client, count_statements) -> None:
    small = await customer_with_history(await business("Acme"), "ada@example.com")
    large = await customer_with_history(await business("Globex"), "grace@example.com", scale=4)
    counts = []
    for owned in (small, large):
        token = await business_token(owned.customer)
        with count_statements() as counter:
            answer = await download(client, token)
        assert answer.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


async def test_the_export_asks_a_visitor_to_sign_in(client) -> None:
    answer = await client.get("/profile/export")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"

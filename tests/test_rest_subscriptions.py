"""The Dodo-compatible REST routes for customers and subscriptions: Dodo's field names and types, the list shape,
status codes, the Idempotency-Key of the charging POSTs, and ids outside the key's business and mode answering
exactly like missing ones on every route, changing nothing."""

from models import Customer, Event, Payment, SandboxCharge, Subscription
from tests.support.shop import Shop, open_shop

CUSTOMER_FIELDS = {"customer_id", "business_id", "created_at", "email", "name", "phone_number", "metadata"}
SUBSCRIPTION_FIELDS = {
    "subscription_id",
    "business_id",
    "customer",
    "product_id",
    "status",
    "quantity",
    "recurring_pre_tax_amount",
    "currency",
    "tax_inclusive",
    "created_at",
    "previous_billing_date",
    "next_billing_date",
    "cancel_at_next_billing_date",
    "payment_frequency_count",
    "payment_frequency_interval",
    "subscription_period_count",
    "subscription_period_interval",
    "trial_period_days",
    "cancelled_at",
    "expires_at",
    "discount_id",
    "metadata",
    "payment_method_id",
}


async def post_subscription(client, shop: Shop, customer: Customer, key: str | None = "key-1", **body):
    headers = {**shop.headers, **({"Idempotency-Key": key} if key else {})}
    body = {
        "customer": {"customer_id": customer.id},
        "billing": {"country": "US"},
        "product_id": shop.product.id,
        "processor_token": "pm_card_visa",
    } | body
    return await client.post("/subscriptions", json=body, headers=headers)


async def test_customers_have_dodos_shape_and_an_existing_email_answers_that_customer(client) -> None:
    shop = await open_shop()

    created = await client.post(
        "/customers", json={"email": "Ada@Example.com", "name": "Ada", "metadata": {"k": "v"}}, headers=shop.headers
    )
    again = await client.post("/customers", json={"email": "ada@example.com", "name": "X"}, headers=shop.headers)
    fetched = await client.get(f"/customers/{created.json()['customer_id']}", headers=shop.headers)
    patched = await client.patch(
        f"/customers/{created.json()['customer_id']}", json={"phone_number": "+44 20 7946 0958"}, headers=shop.headers
    )
    listed = await client.get("/customers", params={"email": "ada@example.com"}, headers=shop.headers)

    assert created.status_code == 200 and set(created.json()) >= CUSTOMER_FIELDS
    body = created.json()
    assert (body["email"], body["name"], body["metadata"], body["phone_number"]) == (
        "ada@example.com",
        "Ada",
        {"k": "v"},
        None,
    )
    assert body["business_id"] == shop.business.id and body["customer_id"].startswith("cus_")
    assert again.json() == body == fetched.json() | {"created_at": body["created_at"]}
    assert patched.json()["phone_number"] == "+442079460958"
    assert [item["customer_id"] for item in listed.json()["items"]] == [body["customer_id"]]


async def test_a_merchant_changed_email_is_unverified_and_may_not_be_another_customers(client) -> None:
    shop = await open_shop()
    ada = await shop.customer()
    await Customer.filter(id=ada.id).update(email_verified=True)
    await shop.customer("bob@example.com")

    same = await client.patch(f"/customers/{ada.id}", json={"email": "ADA@example.com"}, headers=shop.headers)
    changed = await client.patch(f"/customers/{ada.id}", json={"email": "Ada@New.example"}, headers=shop.headers)
    taken = await client.patch(f"/customers/{ada.id}", json={"email": "bob@example.com"}, headers=shop.headers)
    ignored = await client.patch(f"/customers/{ada.id}", json={"blocked": True}, headers=shop.headers)

    assert same.json()["email_verified"] is True
    assert (changed.json()["email"], changed.json()["email_verified"]) == ("ada@new.example", False)
    assert (taken.status_code, taken.json()["field"]) == (422, "email")
    assert (ignored.status_code, ignored.json()["field"]) == (422, "blocked")
    assert (await Customer.get(id=ada.id)).email == "ada@new.example"


async def test_customer_input_errors_are_422_naming_the_field(client) -> None:
    shop = await open_shop()

    no_email = await client.post("/customers", json={"name": "Ada"}, headers=shop.headers)
    bad_phone = await client.post(
        "/customers", json={"email": "a@example.com", "phone_number": "1"}, headers=shop.headers
    )
    bad_metadata = await client.post(
        "/customers", json={"email": "a@example.com", "metadata": {"a": 1}}, headers=shop.headers
    )
    not_json = await client.post("/customers", content=b"[", headers=shop.headers)

    assert [r.status_code for r in (no_email, bad_phone, bad_metadata, not_json)] == [422] * 4
    assert [r.json()["field"] for r in (no_email, bad_phone, bad_metadata)] == ["email", "phone_number", "metadata"]
    assert not await Customer.exists()


async def test_without_a_key_every_route_answers_401(client) -> None:
    for method, path in [
        ("GET", "/customers"),
        ("POST", "/customers"),
        ("GET", "/customers/cus_x"),
        ("PATCH", "/customers/cus_x"),
        ("GET", "/subscriptions"),
        ("POST", "/subscriptions"),
        ("GET", "/subscriptions/sub_x"),
        ("PATCH", "/subscriptions/sub_x"),
        ("POST", "/subscriptions/sub_x/change-plan"),
    ]:
        response = await client.request(method, path, json={}, headers={"Authorization": "Bearer sk_test_nope"})
        assert response.status_code == 401, path
        assert response.json()["code"] == "UNAUTHENTICATED"


async def test_a_subscription_is_created_once_per_idempotency_key_in_dodos_shape(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()

    first = await post_subscription(client, shop, customer, metadata={"plan": "pro"})
    retry = await post_subscription(client, shop, customer, metadata={"plan": "pro"})
    other_body = await post_subscription(client, shop, customer, quantity=2)
    amex = {"processor_token": "pm_card_amex"}
    other_card = await post_subscription(client, shop, customer, metadata={"plan": "pro"}, **amex)
    fetched = await client.get(f"/subscriptions/{first.json()['subscription_id']}", headers=shop.headers)

    assert first.status_code == 200 and set(first.json()) >= SUBSCRIPTION_FIELDS
    body = first.json()
    assert body["status"] == "active" and body["payment_id"].startswith("pay_") and body["payment_link"] is None
    assert (body["recurring_pre_tax_amount"], body["currency"], body["quantity"]) == (1200, "USD", 1)
    expected_customer = {"customer_id": customer.id, "email": "ada@example.com", "name": "Ada"}
    assert body["customer"] == expected_customer | {"phone_number": None, "metadata": {}}
    assert body["payment_frequency_interval"] == "Month" and isinstance(body["next_billing_date"], str)
    assert retry.json() == body
    assert (other_body.status_code, other_body.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert (other_card.status_code, other_card.headers["x-should-retry"]) == (409, "false")
    assert fetched.json() == {
        key: value
        for key, value in body.items()
        if key not in ("payment_id", "payment_link", "payment_method_required")
    }
    assert await SandboxCharge.all().count() == 1 and await Subscription.all().count() == 1


async def test_without_an_idempotency_key_a_create_runs_once_as_sent(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()

    created = await post_subscription(client, shop, customer, key=None)
    again = await post_subscription(client, shop, customer, key=None)

    assert created.status_code == 200 and created.json()["status"] == "active"
    assert (again.status_code, again.json()["code"]) == (409, "DUPLICATE_SUBSCRIPTION")
    assert again.headers["x-should-retry"] == "false"
    assert await SandboxCharge.all().count() == 1 and await Subscription.all().count() == 1


async def test_one_key_rule_and_one_trial_limit_as_for_products(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()

    longest = await post_subscription(client, shop, customer, key="k" * 255, trial_period_days=730)
    too_long = await post_subscription(client, shop, customer, key="l" * 256)
    spaced = await post_subscription(client, shop, customer, key="a key")
    long_trial = await post_subscription(client, shop, customer, key="m", trial_period_days=731)

    assert longest.status_code == 200 and longest.json()["trial_period_days"] == 730
    refused = [(r.status_code, r.json()["code"], r.json()["field"]) for r in (too_long, spaced, long_trial)]
    assert refused == [(422, "INVALID_INPUT", "Idempotency-Key")] * 2 + [(422, "INVALID_INPUT", "trial_period_days")]
    assert await Subscription.all().count() == 1


async def test_a_declined_first_charge_is_402_and_3d_secure_answers_the_payment_link(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()

    declined = await post_subscription(client, shop, customer, key="a", processor_token="pm_card_chargeDeclined")
    secure = await post_subscription(client, shop, customer, key="b", processor_token="pm_card_authenticationRequired")

    assert (declined.status_code, declined.json()["code"]) == (402, "CARD_DECLINED")
    assert secure.status_code == 200 and secure.json()["status"] == "pending"
    assert "/sandbox/authenticate/" in secure.json()["payment_link"]
    statuses = sorted(str(row.status) for row in await Subscription.all())
    assert statuses == ["failed", "pending"]


async def test_bad_subscription_input_is_422_and_writes_nothing(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()

    for body, field in [
        ({"quantity": 0}, "quantity"),
        ({"quantity": "2"}, "quantity"),
        ({"trial_period_days": -1}, "trial_period_days"),
        ({"product_id": None}, "product_id"),
        ({"metadata": {"a": ["b"]}}, "metadata"),
    ]:
        response = await post_subscription(client, shop, customer, **body)
        assert (response.status_code, response.json()["field"]) == (422, field), body
    assert not await Subscription.exists() and not await Payment.exists()


async def test_subscriptions_are_listed_in_pages_filtered_by_customer_and_status(client) -> None:
    shop = await open_shop()
    ada, bob = await shop.customer("ada@example.com"), await shop.customer("bob@example.com")
    await post_subscription(client, shop, ada, key="a")
    await post_subscription(client, shop, bob, key="b", processor_token="pm_card_chargeDeclined")

    page = await client.get("/subscriptions", params={"page_size": 1, "page_number": 1}, headers=shop.headers)
    by_customer = await client.get("/subscriptions", params={"customer_id": ada.id}, headers=shop.headers)
    failed = await client.get("/subscriptions", params={"status": "failed"}, headers=shop.headers)
    bad = await client.get("/subscriptions", params={"status": "nope"}, headers=shop.headers)

    assert list(page.json()) == ["items"] and len(page.json()["items"]) == 1
    assert page.json()["items"][0]["customer"]["customer_id"] == ada.id
    assert [item["status"] for item in by_customer.json()["items"]] == ["active"]
    assert [item["customer"]["customer_id"] for item in failed.json()["items"]] == [bob.id]
    assert bad.status_code == 422


async def test_patch_and_change_plan_with_preview(client) -> None:
    shop = await open_shop()
    created = (await post_subscription(client, shop, await shop.customer())).json()
    path = f"/subscriptions/{created['subscription_id']}"
    bigger = await shop.product_at(3000)
    plan = {"product_id": bigger.id, "quantity": 1, "proration_billing_mode": "full_immediately"}

    patched = await client.patch(
        path, json={"metadata": {"a": "b"}, "cancel_at_next_billing_date": True}, headers=shop.headers
    )
    preview = await client.post(f"{path}/change-plan/preview", json=plan, headers=shop.headers)
    changed = await client.post(f"{path}/change-plan", json=plan, headers=shop.headers)
    bad_mode = await client.post(
        f"{path}/change-plan",
        json=plan | {"proration_billing_mode": "never"},
        headers={**shop.headers, "Idempotency-Key": "c2"},
    )
    cancelled = await client.patch(path, json={"status": "cancelled"}, headers=shop.headers)

    assert patched.json()["metadata"] == {"a": "b"} and patched.json()["cancel_at_next_billing_date"] is True
    summary = preview.json()["immediate_charge"]["summary"]
    assert (summary["total_amount"], summary["tax"], summary["currency"]) == (3300, 300, "USD")
    assert preview.json()["new_plan"]["product_id"] == bigger.id
    assert changed.status_code == 200 and changed.json()["product_id"] == bigger.id
    assert (bad_mode.status_code, bad_mode.json()["field"]) == (422, "proration_billing_mode")
    assert cancelled.json()["status"] == "cancelled"


async def test_foreign_ids_answer_404_exactly_like_missing_ones_on_every_route_and_change_nothing(client) -> None:
    shop = await open_shop(livemode=True)
    other = await open_shop("Other", livemode=True)
    test_mode = await open_shop(livemode=False, business=shop.business)
    foreign_customers = [await other.customer("eve@example.com"), await test_mode.customer("tess@example.com")]
    foreign_subscriptions = [
        (await post_subscription(client, other, foreign_customers[0])).json()["subscription_id"],
        (await post_subscription(client, test_mode, foreign_customers[1])).json()["subscription_id"],
    ]
    events, charges = await Event.all().count(), await SandboxCharge.all().count()
    keyed = {**shop.headers, "Idempotency-Key": "k"}
    plan = {"product_id": shop.product.id, "proration_billing_mode": "full_immediately"}

    answers = []
    for customer_id in [customer.id for customer in foreign_customers] + ["cus_missing", "x" * 50]:
        answers.append(
            [
                await client.get(f"/customers/{customer_id}", headers=shop.headers),
                await client.patch(f"/customers/{customer_id}", json={"name": "Mallory"}, headers=shop.headers),
            ]
        )
    for subscription_id in foreign_subscriptions + ["sub_missing", "nope"]:
        path = f"/subscriptions/{subscription_id}"
        answers.append(
            [
                await client.get(path, headers=shop.headers),
                await client.patch(path, json={"status": "cancelled"}, headers=shop.headers),
                await client.post(f"{path}/change-plan", json=plan, headers=keyed),
                await client.post(f"{path}/change-plan/preview", json=plan, headers=shop.headers),
            ]
        )

    shapes = {(r.status_code, r.text.replace("customer", "X").replace("subscription", "X")) for a in answers for r in a}
    assert len(shapes) == 1 and next(iter(shapes))[0] == 404
    created = await post_subscription(client, shop, foreign_customers[0], key="foreign")
    assert created.status_code == 404
    assert {row.name for row in await Customer.filter(id__in=[c.id for c in foreign_customers])} == {"Ada"}
    assert {str(row.status) for row in await Subscription.filter(id__in=foreign_subscriptions)} == {"active"}
    assert (await Event.all().count(), await SandboxCharge.all().count()) == (events, charges)
    listed = await client.get("/subscriptions", params={"customer_id": foreign_customers[0].id}, headers=shop.headers)
    assert listed.json() == {"items": []}


async def test_a_browser_without_an_api_key_keeps_the_portals_subscription_page(client) -> None:
    shop = await open_shop()
    created = (await post_subscription(client, shop, await shop.customer())).json()

    page = await client.get(f"/subscriptions/{created['subscription_id']}")

    # Not the API's JSON refusal: the portal's page, which sends a signed-out visitor to sign in.
    assert "application/json" not in page.headers.get("content-type", "")
    assert page.status_code != 401

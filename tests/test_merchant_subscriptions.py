"""Subscriptions through the merchant API: started with a trial or a first charge (declined, 3-D Secure), once per
idempotency key whatever the retries, concurrency and crashes; cancelled, resumed, changed and updated by the
merchant whatever its customers may do; seen and managed by the customer in the portal; and never reachable by a key
of another business or mode."""

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from billing.billing_run import run_billing
from billing.errors import BillingError
from billing.payments import complete_payment
from billing.subscription_start import StartRequest, start_subscription
from models import Event, Invoice, LicenseKey, Payment, PaymentMethod, ProductCollection, SandboxCharge, Subscription
from models.enums import Interval, PaymentStatus, SubscriptionStatus
from tests.support import factories
from tests.support.billing import billing_context
from tests.support.shop import Shop, merchant_graphql, open_shop

SUBSCRIPTION_FIELDS = """
id customerId productId status quantity recurringPreTaxAmount currency trialPeriodDays trialEndsAt
previousBillingDate nextBillingDate cancelAtNextBillingDate cancelledAt paymentMethodId discountId metadata
scheduledChange cancellationFeedback
"""
PAYMENT_FIELDS = "id status totalAmount tax currency errorCode nextActionUrl"
CREATE = f"""
mutation($input: CreateSubscriptionInput!) {{
  createSubscription(input: $input) {{
    subscription {{ {SUBSCRIPTION_FIELDS} }} payment {{ {PAYMENT_FIELDS} }} errors {{ code field message }}
  }}
}}
"""
GET = f"query($id: ID!) {{ subscription(id: $id) {{ {SUBSCRIPTION_FIELDS} }} }}"
LIST = """
query($customerId: ID, $status: [SubscriptionStatus!]) {
  subscriptions(customerId: $customerId, status: $status) { totalCount nodes { id status } }
}
"""
CANCEL = f"""
mutation($id: ID!, $immediately: Boolean!, $reason: CancellationReason) {{
  cancelSubscription(input: {{subscriptionId: $id, immediately: $immediately, reason: $reason}}) {{
    subscription {{ {SUBSCRIPTION_FIELDS} }} errors {{ code field message }}
  }}
}}
"""
RESUME = f"""
mutation($id: ID!) {{
  resumeSubscription(input: {{subscriptionId: $id}}) {{
    subscription {{ {SUBSCRIPTION_FIELDS} }} errors {{ code field message }}
  }}
}}
"""
CHANGE = f"""
mutation($input: ChangePlanInput!) {{
  changePlan(input: $input) {{
    subscription {{ {SUBSCRIPTION_FIELDS} }} payment {{ {PAYMENT_FIELDS} }} errors {{ code field message }}
  }}
}}
"""
PREVIEW = f"""
query($input: PlanChangeInput!) {{
  planChangePreview(input: $input) {{
    preview {{
      immediateCharge {{ totalAmount tax customerCredits currency lines {{ description amount }} }}
      newPlan {{ {SUBSCRIPTION_FIELDS} }} effectiveAt scheduled
    }}
    errors {{ code field message }}
  }}
}}
"""
UPDATE = f"""
mutation($input: UpdateSubscriptionInput!) {{
  updateSubscription(input: $input) {{
    subscription {{ {SUBSCRIPTION_FIELDS} }} errors {{ code field message }}
  }}
}}
"""


def subscription_input(customer_id: str, shop: Shop, **fields) -> dict:
    return {"customerId": customer_id, "productId": shop.product.id, "processorToken": "pm_card_visa", **fields}


async def create(client, shop: Shop, key: str = "create-1", **fields) -> dict:
    customer = fields.pop("customer", None) or await shop.customer()
    variables = {"input": subscription_input(customer.id, shop, idempotencyKey=key, **fields)}
    return (await merchant_graphql(client, shop, CREATE, **variables))["createSubscription"]


async def event_types() -> list[str]:
    return [event.type for event in await Event.all().order_by("created_at", "id")]


# --- starting a subscription ------------------------------------------------------------------------------------


async def test_without_a_trial_the_first_period_is_charged_invoiced_and_licensed(client) -> None:
    shop = await open_shop(
        license_key_enabled=True,
        license_key_activations_limit=3,
        license_key_duration_count=1,
        license_key_duration_interval=Interval.YEAR,
    )

    answer = await create(client, shop, quantity=2, metadata={"order": "A-1"})

    assert answer["errors"] == []
    subscription, payment = answer["subscription"], answer["payment"]
    assert subscription["status"] == "ACTIVE" and subscription["quantity"] == 2
    assert subscription["recurringPreTaxAmount"] == 2400 and subscription["metadata"] == {"order": "A-1"}
    # $24.00 and 10 % tax on top.
    assert (payment["status"], payment["totalAmount"], payment["tax"]) == ("SUCCEEDED", 2640, 240)
    invoice = await Invoice.get(payment_id=payment["id"])
    assert (invoice.total, invoice.subscription_id) == (2640, subscription["id"])
    key = await LicenseKey.get(subscription_id=subscription["id"])
    assert key.activations_limit == 3 and key.payment_id == payment["id"]
    assert key.expires_at.year == key.created_at.year + 1
    assert await event_types() == ["payment.succeeded", "subscription.active", "license_key.created"]
    method = await PaymentMethod.get(id=subscription["paymentMethodId"])
    assert (method.customer_id, method.last4) == (subscription["customerId"], "4242")


async def test_a_trial_starts_active_without_a_charge_and_the_billing_run_charges_at_its_end(client) -> None:
    shop = await open_shop()

    answer = await create(client, shop, trialPeriodDays=14)

    subscription = answer["subscription"]
    assert answer["payment"] is None and subscription["status"] == "ACTIVE"
    assert subscription["trialPeriodDays"] == 14 and subscription["trialEndsAt"] == subscription["nextBillingDate"]
    assert not await Payment.exists()
    row = await Subscription.get(id=subscription["id"])
    assert row.next_billing_date - row.previous_billing_date == timedelta(days=14)

    await run_billing(billing_context(), now=row.next_billing_date + timedelta(minutes=1))

    renewal = await Payment.get(subscription_id=row.id)
    assert (renewal.status, renewal.total_amount) == (PaymentStatus.SUCCEEDED, 1320)


async def test_the_products_trial_applies_unless_the_request_overrides_it(client) -> None:
    shop = await open_shop(trial_period_days=7)

    with_products = (await create(client, shop, key="a"))["subscription"]
    overridden = (await create(client, shop, key="b", trialPeriodDays=0))["subscription"]

    assert with_products["trialPeriodDays"] == 7 and with_products["trialEndsAt"] is not None
    assert overridden["trialPeriodDays"] == 0 and overridden["trialEndsAt"] is None
    assert await Payment.filter(subscription_id=overridden["id"], status=PaymentStatus.SUCCEEDED).count() == 1


async def test_a_declined_first_charge_fails_the_subscription_for_good(client) -> None:
    shop = await open_shop(license_key_enabled=True)

    answer = await create(client, shop, processorToken="pm_card_chargeDeclined")

    assert [(error["code"], error["field"]) for error in answer["errors"]] == [("CARD_DECLINED", None)]
    assert answer["subscription"]["status"] == "FAILED"
    assert (answer["payment"]["status"], answer["payment"]["errorCode"]) == ("FAILED", "card_declined")
    assert not await Invoice.exists() and not await LicenseKey.exists()
    assert await event_types() == ["payment.failed", "subscription.failed"]


async def test_a_card_asking_for_3d_secure_waits_pending_then_starts_when_the_customer_confirms(client) -> None:
    shop = await open_shop()
    context = billing_context()

    answer = await create(client, shop, processorToken="pm_card_authenticationRequired")

    assert answer["subscription"]["status"] == "PENDING" and answer["errors"] == []
    assert answer["payment"]["status"] == "REQUIRES_CUSTOMER_ACTION"
    assert "/sandbox/authenticate/" in answer["payment"]["nextActionUrl"]
    payment = await Payment.get(id=answer["payment"]["id"])
    charge = await context.processor.challenge(payment.processor_reference)
    await context.processor.answer_challenge(charge, approve=True)

    completed = await complete_payment(payment, context)

    assert completed.status == PaymentStatus.SUCCEEDED
    assert (await Subscription.get(id=answer["subscription"]["id"])).status == SubscriptionStatus.ACTIVE
    assert await event_types() == ["payment.processing", "payment.succeeded", "subscription.active"]


async def test_a_token_the_processor_refuses_leaves_no_subscription(client) -> None:
    shop = await open_shop()

    answer = await create(client, shop, processorToken="card_unknown")

    assert answer["subscription"] is None
    assert [error["code"] for error in answer["errors"]] == ["INVALID_PAYMENT_METHOD"]
    assert not await Subscription.exists() and not await Payment.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"trialPeriodDays": -1}, "trialPeriodDays"),
        ({"metadata": {"a": 1}}, "metadata"),
        ({"discountCode": "NOPE"}, "discountCode"),
        ({"productId": "pdt_unknown"}, "productId"),
        ({"paymentMethodId": "pm_unknown", "processorToken": None}, "paymentMethodId"),
        ({"paymentMethodId": "pm_unknown"}, "paymentMethodId"),
        ({"processorToken": None}, "paymentMethodId"),
    ],
)
async def test_bad_input_is_refused_before_anything_is_written(client, fields: dict, field: str) -> None:
    shop = await open_shop()

    answer = await create(client, shop, **fields)

    assert answer["subscription"] is None
    assert [error["field"] for error in answer["errors"]] == [field]
    assert not await Subscription.exists() and not await PaymentMethod.exists()


async def test_a_one_time_or_archived_product_cannot_be_subscribed_to(client) -> None:
    shop = await open_shop()
    archived = await shop.product_at(900, archived=True)

    answer = await create(client, shop, productId=archived.id)

    assert [(error["code"], error["field"]) for error in answer["errors"]] == [("NOT_FOUND", "productId")]


# --- idempotency ------------------------------------------------------------------------------------------------


async def test_a_retry_with_the_same_key_answers_the_first_subscription_and_charges_once(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()

    first = await create(client, shop, customer=customer)
    again = await create(client, shop, customer=customer)

    assert again == first
    assert await Subscription.all().count() == 1
    assert await Payment.all().count() == 1 and await SandboxCharge.all().count() == 1
    assert await PaymentMethod.all().count() == 1


async def test_the_same_key_with_another_request_is_refused_and_changes_nothing(client) -> None:
    shop = await open_shop()
    customer = await shop.customer()
    await create(client, shop, customer=customer)

    answer = await create(client, shop, customer=customer, quantity=3)

    assert [error["code"] for error in answer["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await Subscription.all().count() == 1 and await SandboxCharge.all().count() == 1


class CrashAfterCharge:
    """A processor that charges, then dies before its answer is recorded (the process crashed)."""

    def __init__(self, processor) -> None:
        self.processor = processor

    async def attach(self, token: str, *, customer_reference: str):
        return await self.processor.attach(token, customer_reference=customer_reference)

    async def charge(self, request):
        await self.processor.charge(request)
        raise ConnectionResetError("died after the charge")


async def test_a_retry_after_a_crash_between_charge_and_commit_finishes_without_charging_again() -> None:
    shop = await open_shop()
    customer = await shop.customer()
    context = billing_context()
    crashing = dataclasses.replace(context, processor=CrashAfterCharge(context.processor))
    request = StartRequest(
        customer=customer, product_id=shop.product.id, client_key="k", processor_token="pm_card_visa"
    )

    with pytest.raises(ConnectionResetError):
        await start_subscription(request, crashing)
    assert (await Subscription.get()).status == SubscriptionStatus.PENDING
    start = await start_subscription(request, context)

    assert start.subscription.status == SubscriptionStatus.ACTIVE
    assert start.payment.status == PaymentStatus.SUCCEEDED
    assert await SandboxCharge.all().count() == 1 and await Payment.all().count() == 1


async def test_concurrent_identical_creates_make_one_subscription_and_one_charge() -> None:
    shop = await open_shop()
    customer = await shop.customer()
    context = billing_context()
    request = StartRequest(
        customer=customer, product_id=shop.product.id, client_key="k", processor_token="pm_card_visa"
    )

    starts = await asyncio.gather(*(start_subscription(request, context) for _ in range(4)))

    assert len({start.subscription.id for start in starts}) == 1
    assert {start.payment.id for start in starts} == {starts[0].payment.id}
    assert await Subscription.all().count() == 1 and await SandboxCharge.all().count() == 1
    assert await PaymentMethod.all().count() == 1
    assert [event.type for event in await Event.all()].count("subscription.active") == 1


async def test_a_malformed_idempotency_key_is_refused() -> None:
    shop = await open_shop()
    customer = await shop.customer()
    request = StartRequest(
        customer=customer, product_id=shop.product.id, client_key="a b", processor_token="pm_card_visa"
    )

    with pytest.raises(BillingError):
        await start_subscription(request, billing_context())
    assert not await Subscription.exists()


# --- what the merchant may do -----------------------------------------------------------------------------------


async def active_subscription(client, shop: Shop, **fields) -> dict:
    return (await create(client, shop, **fields))["subscription"]


async def test_the_merchant_cancels_now_even_where_customers_may_not(client) -> None:
    shop = await open_shop()
    shop.business.allow_subscription_cancellation = False
    await shop.business.save()
    subscription = await active_subscription(client, shop)

    answer = (await merchant_graphql(client, shop, CANCEL, id=subscription["id"], immediately=True, reason="UNUSED"))[
        "cancelSubscription"
    ]

    assert answer["errors"] == []
    assert answer["subscription"]["status"] == "CANCELLED" and answer["subscription"]["cancelledAt"]
    assert answer["subscription"]["cancellationFeedback"] == "UNUSED"
    assert (await event_types())[-1] == "subscription.cancelled"


async def test_the_merchant_cancels_at_the_next_billing_date_and_resumes(client) -> None:
    shop = await open_shop()
    subscription = await active_subscription(client, shop)

    cancelled = (await merchant_graphql(client, shop, CANCEL, id=subscription["id"], immediately=False))[
        "cancelSubscription"
    ]["subscription"]
    resumed = (await merchant_graphql(client, shop, RESUME, id=subscription["id"]))["resumeSubscription"]
    again = (await merchant_graphql(client, shop, RESUME, id=subscription["id"]))["resumeSubscription"]

    assert cancelled["status"] == "ACTIVE" and cancelled["cancelAtNextBillingDate"] is True
    assert resumed["subscription"]["cancelAtNextBillingDate"] is False
    assert [error["code"] for error in again["errors"]] == ["NOT_ALLOWED"]


async def test_the_merchant_changes_to_any_recurring_plan_of_the_business_and_the_preview_is_the_charge(client) -> None:
    shop = await open_shop()
    subscription = await active_subscription(client, shop)
    bigger = await shop.product_at(3000)
    plan = {"productId": bigger.id, "prorationBillingMode": "FULL_IMMEDIATELY"}

    preview = (await merchant_graphql(client, shop, PREVIEW, input={"subscriptionId": subscription["id"], **plan}))[
        "planChangePreview"
    ]["preview"]
    changed = (
        await merchant_graphql(
            client, shop, CHANGE, input={"subscriptionId": subscription["id"], **plan, "idempotencyKey": "change-1"}
        )
    )["changePlan"]
    replay = (
        await merchant_graphql(
            client, shop, CHANGE, input={"subscriptionId": subscription["id"], **plan, "idempotencyKey": "change-1"}
        )
    )["changePlan"]

    # Plan changes are off for this business's customers; the merchant is not bound by that.
    assert shop.business.allow_subscription_updates is False
    assert preview["immediateCharge"]["totalAmount"] == 3300 == changed["payment"]["totalAmount"]
    assert preview["newPlan"]["productId"] == bigger.id and preview["newPlan"]["recurringPreTaxAmount"] == 3000
    assert changed["errors"] == [] and changed["subscription"]["productId"] == bigger.id
    assert replay["payment"]["id"] == changed["payment"]["id"]
    assert await Payment.filter(subscription_id=subscription["id"]).count() == 2
    assert (await event_types())[-1] == "subscription.plan_changed"


async def test_a_change_at_the_next_billing_date_is_scheduled_and_charges_nothing_now(client) -> None:
    shop = await open_shop()
    subscription = await active_subscription(client, shop)
    bigger = await shop.product_at(3000)
    plan = {"productId": bigger.id, "effectiveAt": "NEXT_BILLING_DATE"}

    changed = (
        await merchant_graphql(
            client, shop, CHANGE, input={"subscriptionId": subscription["id"], **plan, "idempotencyKey": "later"}
        )
    )["changePlan"]

    assert changed["payment"] is None and changed["subscription"]["productId"] == shop.product.id
    assert changed["subscription"]["scheduledChange"]["product_id"] == bigger.id


async def test_a_declined_plan_change_is_an_error_and_leaves_the_plan(client) -> None:
    shop = await open_shop()
    subscription = await active_subscription(client, shop)
    row = await Subscription.get(id=subscription["id"])
    # The card starts failing after the first charge, as a card does when its account is emptied.
    card = await billing_context().processor.attach("pm_card_chargeDeclined", customer_reference=row.customer_id)
    await PaymentMethod.filter(id=row.payment_method_id).update(processor_token=card.token)
    plan = {"productId": (await shop.product_at(3000)).id, "prorationBillingMode": "FULL_IMMEDIATELY"}

    changed = (
        await merchant_graphql(client, shop, CHANGE, input={"subscriptionId": row.id, **plan, "idempotencyKey": "k"})
    )["changePlan"]

    assert [error["code"] for error in changed["errors"]] == ["CARD_DECLINED"]
    assert (await Subscription.get(id=row.id)).product_id == shop.product.id


async def test_plans_in_another_currency_or_of_another_business_are_not_offered(client) -> None:
    shop = await open_shop()
    subscription = await active_subscription(client, shop)
    euro = await shop.product_at(1000, currency="EUR")
    other = await open_shop("Other")
    for product_id in [euro.id, other.product.id, "pdt_unknown", "bad"]:
        plan = {"productId": product_id}
        answer = (
            await merchant_graphql(
                client, shop, CHANGE, input={"subscriptionId": subscription["id"], **plan, "idempotencyKey": "k"}
            )
        )["changePlan"]
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [("NOT_FOUND", "productId")]


async def test_update_sets_metadata_and_the_cancellation_and_cancels_now(client) -> None:
    shop = await open_shop()
    subscription = await active_subscription(client, shop)

    updated = (
        await merchant_graphql(
            client,
            shop,
            UPDATE,
            input={"subscriptionId": subscription["id"], "metadata": {"a": "b"}, "cancelAtNextBillingDate": True},
        )
    )["updateSubscription"]["subscription"]
    undone = (
        await merchant_graphql(
            client, shop, UPDATE, input={"subscriptionId": subscription["id"], "cancelAtNextBillingDate": False}
        )
    )["updateSubscription"]["subscription"]
    ended = (
        await merchant_graphql(
            client, shop, UPDATE, input={"subscriptionId": subscription["id"], "status": "CANCELLED"}
        )
    )["updateSubscription"]["subscription"]

    assert updated["metadata"] == {"a": "b"} and updated["cancelAtNextBillingDate"] is True
    assert undone["cancelAtNextBillingDate"] is False
    assert ended["status"] == "CANCELLED"
    assert (await event_types())[-4:] == [
        "subscription.updated",
        "subscription.updated",
        "subscription.updated",
        "subscription.cancelled",
    ]


async def test_an_update_with_one_bad_part_changes_nothing(client) -> None:
    shop = await open_shop()
    subscription = await active_subscription(client, shop)
    events = await Event.all().count()

    answer = (
        await merchant_graphql(
            client,
            shop,
            UPDATE,
            input={"subscriptionId": subscription["id"], "metadata": {"a": "b"}, "status": "ACTIVE"},
        )
    )["updateSubscription"]

    assert [error["field"] for error in answer["errors"]] == ["status"]
    assert (await Subscription.get(id=subscription["id"])).metadata == {}
    assert await Event.all().count() == events


async def test_the_list_filters_by_customer_and_status(client) -> None:
    shop = await open_shop()
    ada, bob = await shop.customer("ada@example.com"), await shop.customer("bob@example.com")
    await create(client, shop, key="a", customer=ada)
    await create(client, shop, key="b", customer=bob, processorToken="pm_card_chargeDeclined")

    by_customer = (await merchant_graphql(client, shop, LIST, customerId=ada.id))["subscriptions"]
    failed = (await merchant_graphql(client, shop, LIST, status=["FAILED"]))["subscriptions"]
    both = (await merchant_graphql(client, shop, LIST, status=["FAILED", "ACTIVE"]))["subscriptions"]

    assert [node["status"] for node in by_customer["nodes"]] == ["ACTIVE"]
    assert [node["status"] for node in failed["nodes"]] == ["FAILED"]
    assert both["totalCount"] == 2


# --- isolation --------------------------------------------------------------------------------------------------


async def test_foreign_ids_answer_like_missing_ones_for_every_query_and_mutation_and_change_nothing(client) -> None:
    shop = await open_shop(livemode=True)
    other = await open_shop("Other", livemode=True)
    test_mode = await open_shop(livemode=False, business=shop.business)
    foreign = [
        await active_subscription(client, other),
        await active_subscription(client, test_mode),
    ]
    before = [await Subscription.get(id=row["id"]) for row in foreign]
    events = await Event.all().count()
    ids = [row["id"] for row in foreign] + ["sub_doesnotexist", "nope"]
    plan = {"productId": shop.product.id}
    cancel_now = {"status": "CANCELLED", "metadata": {"x": "y"}}

    answers = []
    for subscription_id in ids:
        assert (await merchant_graphql(client, shop, GET, id=subscription_id))["subscription"] is None
        calls = [
            (CANCEL, {"id": subscription_id, "immediately": True}, "cancelSubscription"),
            (RESUME, {"id": subscription_id}, "resumeSubscription"),
            (CHANGE, {"input": {"subscriptionId": subscription_id, **plan, "idempotencyKey": "k"}}, "changePlan"),
            (PREVIEW, {"input": {"subscriptionId": subscription_id, **plan}}, "planChangePreview"),
            (UPDATE, {"input": {"subscriptionId": subscription_id, **cancel_now}}, "updateSubscription"),
        ]
        answers.append(
            [(await merchant_graphql(client, shop, query, **variables))[name] for query, variables, name in calls]
        )

    assert all(answer == answers[-1] for answer in answers)
    assert all(error["code"] == "NOT_FOUND" for answer in answers[0] for error in answer["errors"])
    for row in before:
        fresh = await Subscription.get(id=row.id)
        assert (fresh.status, fresh.metadata, fresh.updated_at) == (row.status, row.metadata, row.updated_at)
    assert await Event.all().count() == events
    listed = (await merchant_graphql(client, shop, LIST, customerId=foreign[0]["customerId"]))["subscriptions"]
    assert listed["totalCount"] == 0


async def test_a_subscription_cannot_be_created_for_a_foreign_customer_product_or_card(client) -> None:
    shop = await open_shop(livemode=True)
    other = await open_shop("Other", livemode=True)
    own = await shop.customer()
    theirs = await other.customer("eve@example.com")
    their_card = (await active_subscription(client, other, customer=theirs))["paymentMethodId"]
    test_customer = await Shop(shop.business, False, shop.headers, shop.product).customer("tess@example.com")
    attempts = [
        ({"customerId": theirs.id}, "customerId"),
        ({"customerId": test_customer.id}, "customerId"),
        ({"productId": other.product.id}, "productId"),
        ({"paymentMethodId": their_card, "processorToken": None}, "paymentMethodId"),
    ]
    subscriptions = await Subscription.all().count()

    for fields, field in attempts:
        variables = {"input": subscription_input(own.id, shop, idempotencyKey=f"k-{field}", **fields)}
        answer = (await merchant_graphql(client, shop, CREATE, **variables))["createSubscription"]
        assert [(error["code"], error["field"]) for error in answer["errors"]] == [("NOT_FOUND", field)]
    assert await Subscription.all().count() == subscriptions


# --- the customer's side ----------------------------------------------------------------------------------------

PORTAL_SUBSCRIPTIONS = "{ viewer { subscriptions { nodes { id status product { name } } } } }"
PORTAL_CHANGE = """
mutation($input: ChangePlanInput!) { changePlan(input: $input) { subscription { id } errors { code } } }
"""
PORTAL_CANCEL = """
mutation($input: CancelSubscriptionInput!) {
  cancelSubscription(input: $input) { subscription { id status } errors { code } }
}
"""


async def portal(client, token: str, query: str, **variables) -> dict:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


async def test_a_subscription_created_through_the_api_is_seen_changed_and_cancelled_in_the_portal(client) -> None:
    shop = await open_shop(livemode=True)
    customer = await shop.customer()
    bigger = await shop.product_at(3000)
    plans = await ProductCollection.create(business=shop.business, livemode=True, name="Plans")
    for position, product in enumerate((shop.product, bigger)):
        product.collection_id, product.collection_position = plans.id, position
        await product.save()
    shop.business.allow_subscription_updates = True
    await shop.business.save()
    created = await active_subscription(client, shop, customer=customer)
    token = await factories.business_token(customer)

    seen = (await portal(client, token, PORTAL_SUBSCRIPTIONS))["viewer"]["subscriptions"]["nodes"]
    changed = (
        await portal(
            client,
            token,
            PORTAL_CHANGE,
            input={"subscriptionId": created["id"], "productId": bigger.id, "idempotencyKey": "portal-1"},
        )
    )["changePlan"]
    cancelled = (await portal(client, token, PORTAL_CANCEL, input={"subscriptionId": created["id"]}))[
        "cancelSubscription"
    ]

    assert [(node["id"], node["status"]) for node in seen] == [(created["id"], "ACTIVE")]
    assert changed["errors"] == [] and cancelled["errors"] == []
    row = await Subscription.get(id=created["id"])
    assert row.product_id == bigger.id and row.cancel_at_next_billing_date is True
    assert await event_types() == [
        "payment.succeeded",
        "subscription.active",
        "payment.succeeded",
        "subscription.plan_changed",
        "subscription.updated",
    ]
    events = await Event.filter(business_id=shop.business.id, livemode=True).count()
    assert events == 5

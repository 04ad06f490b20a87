"""Dodo Payments' own Python SDK (`dodopayments`) against the merchant API, in-process, with strict response
validation: each method the portal covers answers Dodo's object (a required field missing from a shape fails here),
and every webhook event the portal sends unwraps into the SDK's typed event."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dodopayments import APIStatusError, AsyncDodoPayments, NotFoundError, UnprocessableEntityError
from dodopayments._models import validate_type
from dodopayments.types import Customer as DodoCustomer
from dodopayments.types import LicenseKeyInstance as DodoInstance
from dodopayments.types import UnwrapWebhookEvent

from billing.checkout import find_checkout, pay_checkout
from billing.events import record_dispute_event, record_payment_event, record_refund_event, record_subscription_event
from core.event_types import EventType
from gateway.app import create_app
from gateway.settings import Settings
from gateway.worker.webhook_delivery import process_due_webhooks
from merchants.webhooks import create_endpoint
from models import CheckoutSession, Discount, Event, LicenseKey, Payment, Refund, Subscription
from models.enums import DiscountDuration, DiscountType, PaymentStatus, RefundStatus
from tests.support.billing import billing_context
from tests.support.shop import Shop, open_shop
from tests.support.webhooks import Receiver

SETTINGS = Settings(
    base_url="http://portal.test", secret_key="test-secret-key", run_worker_in_web=False, webhooks_allow_private=True
)
# The SDK marks subscriptions.create and license_keys.* deprecated (for checkout sessions); Dodo still serves them.
pytestmark = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
BILLING = {"country": "US", "city": "Springfield", "state": "IL", "street": "1 Main St", "zipcode": "62701"}


@pytest.fixture
async def shop() -> Shop:
    return await open_shop(license_key_enabled=True, license_key_activations_limit=3)


@pytest.fixture
async def dodo(shop: Shop) -> AsyncIterator[AsyncDodoPayments]:
    app = create_app(SETTINGS, manage_database=False)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    bearer = shop.headers["Authorization"].removeprefix("Bearer ")
    async with AsyncDodoPayments(
        bearer_token=bearer,
        base_url="http://portal.test",
        http_client=http,
        max_retries=0,
        _strict_response_validation=True,
    ) as client:
        yield client


async def _subscribe(dodo: AsyncDodoPayments, shop: Shop, email: str = "ada@example.com"):
    customer = await dodo.customers.create(email=email, name="Ada")
    created = await dodo.subscriptions.create(
        customer={"customer_id": customer.customer_id},
        billing=BILLING,
        product_id=shop.product.id,
        quantity=1,
        extra_body={"processor_token": "pm_card_visa"},
    )
    return customer, created


async def test_customers(dodo: AsyncDodoPayments) -> None:
    created = await dodo.customers.create(email="ada@example.com", name="Ada", preferred_locale="ja")
    await dodo.customers.create(email="bob@example.com", name="Bob")

    fetched = await dodo.customers.retrieve(created.customer_id)
    updated = await dodo.customers.update(created.customer_id, email="ada@lovelace.example", name="Ada L.")
    by_email = [c.customer_id async for c in dodo.customers.list(email="ada@lovelace.example")]
    by_name = [c.name for c in (await dodo.customers.list(name="Bob")).items]
    none_before = (await dodo.customers.list(created_at_lte=datetime.now(UTC) - timedelta(days=1))).items
    portal = await dodo.customers.customer_portal.create(created.customer_id)

    assert isinstance(fetched, DodoCustomer) and fetched.preferred_locale == "ja"
    assert (updated.email, updated.name) == ("ada@lovelace.example", "Ada L.")
    assert updated.model_extra and updated.model_extra["email_verified"] is False
    assert by_email == [created.customer_id] and by_name == ["Bob"] and none_before == []
    assert portal.link.startswith("http://portal.test/")
    with pytest.raises(UnprocessableEntityError, match="tax_id"):
        await dodo.customers.list(extra_query={"tax_id": "x"})


async def test_subscriptions(dodo: AsyncDodoPayments, shop: Shop) -> None:
    bigger = await shop.product_at(3000)
    customer, created = await _subscribe(dodo, shop)
    subscription_id = created.subscription_id

    fetched = await dodo.subscriptions.retrieve(subscription_id)
    listed = [s.subscription_id async for s in dodo.subscriptions.list(customer_id=customer.customer_id)]
    by_product = (await dodo.subscriptions.list(product_id=bigger.id)).items
    preview = await dodo.subscriptions.preview_change_plan(
        subscription_id, product_id=bigger.id, quantity=1, proration_billing_mode="full_immediately"
    )
    changed = await dodo.subscriptions.change_plan(
        subscription_id, product_id=bigger.id, quantity=1, proration_billing_mode="full_immediately"
    )
    updated = await dodo.subscriptions.update(
        subscription_id,
        cancel_at_next_billing_date=True,
        cancellation_feedback="too_expensive",
        cancellation_comment="Over budget",
        cancel_reason="cancelled_by_customer",
        metadata={"team": "blue"},
    )

    assert created.payment_id.startswith("pay_") and created.customer.customer_id == customer.customer_id
    assert (fetched.status, fetched.billing.country, fetched.brand_id) == ("active", "US", shop.business.id)
    assert listed == [subscription_id] and by_product == []
    assert preview.new_plan.product_id == bigger.id and preview.immediate_charge.summary.total_amount == 3300
    assert changed.payment_id and changed.payment_id.startswith("pay_")
    assert (updated.cancel_at_next_billing_date, updated.cancellation_feedback) == (True, "too_expensive")
    assert (updated.cancellation_comment, updated.metadata) == ("Over budget", {"team": "blue"})
    with pytest.raises(UnprocessableEntityError, match="next_billing_date"):
        await dodo.subscriptions.update(subscription_id, next_billing_date=datetime.now(UTC) + timedelta(days=90))


async def test_a_trial_is_created_without_a_payment_and_says_so_in_dodos_shape(
    dodo: AsyncDodoPayments, shop: Shop
) -> None:
    customer = await dodo.customers.create(email="ada@example.com", name="Ada")

    created = await dodo.subscriptions.create(
        customer={"customer_id": customer.customer_id},
        billing=BILLING,
        product_id=shop.product.id,
        quantity=1,
        trial_period_days=14,
        extra_body={"processor_token": "pm_card_visa"},
    )

    assert created.payment_id == "" and created.payment_link is None
    assert (await dodo.subscriptions.retrieve(created.subscription_id)).status == "active"
    assert not await Payment.exists()


async def test_subscriptions_create_with_a_payment_link_for_a_new_customer(dodo: AsyncDodoPayments, shop: Shop) -> None:
    created = await dodo.subscriptions.create(
        customer={"email": "nia@example.com", "name": "Nia"},
        billing=BILLING,
        product_id=shop.product.id,
        quantity=1,
        payment_link=True,
        return_url="https://merchant.example/thanks",
    )

    assert created.payment_link and created.payment_link.startswith("http://portal.test/checkout/cpc_")
    assert created.customer.email == "nia@example.com" and created.customer.name == "Nia"
    assert created.payment_id == "" and created.payment_method_required and created.expires_on
    assert (await dodo.subscriptions.retrieve(created.subscription_id)).status == "pending"


async def test_a_create_needs_a_billing_country_as_every_dodo_object_has_one(
    dodo: AsyncDodoPayments, shop: Shop
) -> None:
    customer = await dodo.customers.create(email="ada@example.com", name="Ada")  # Dodo's customers have no address

    for billing in ({"city": "Springfield"}, None):
        with pytest.raises(UnprocessableEntityError, match="billing.country"):
            await dodo.subscriptions.create(
                customer={"customer_id": customer.customer_id},
                product_id=shop.product.id,
                quantity=1,
                billing=billing,  # what the SDK's types would not let through, sent anyway
                extra_body={"processor_token": "pm_card_visa"},
            )
    with pytest.raises(UnprocessableEntityError, match="billing.country"):
        await dodo.subscriptions.create(
            customer={"email": "nia@example.com", "name": "Nia"},
            product_id=shop.product.id,
            quantity=1,
            billing={},
            payment_link=True,
        )
    with pytest.raises(UnprocessableEntityError, match="billing"):
        await dodo.subscriptions.create(
            customer={"email": "nia@example.com", "name": "Nia"},
            billing={"country": "ZZ"},
            product_id=shop.product.id,
            quantity=1,
            payment_link=True,
        )
    assert not await Subscription.exists() and [c.email async for c in dodo.customers.list()] == ["ada@example.com"]

    await _subscribe(dodo, shop, email="ada@example.com")  # gives the country; then it is known
    again = await dodo.subscriptions.create(
        customer={"customer_id": customer.customer_id},
        product_id=(await shop.product_at(3000)).id,
        billing=None,
        quantity=1,
        extra_body={"processor_token": "pm_card_visa"},
    )
    assert (await dodo.subscriptions.retrieve(again.subscription_id)).billing.country == "US"


async def test_payments_create_answers_a_link_to_pay_one_time_products_and_the_paid_payment_is_dodos(
    dodo: AsyncDodoPayments, shop: Shop, receiver: Receiver
) -> None:
    _, secret = await create_endpoint(
        shop.business, livemode=False, url=receiver.url, event_types=["payment.succeeded"], allow_private=True
    )
    guide = await shop.one_time_product(1500, name="Guide", license_key_enabled=True)
    fonts = await shop.one_time_product(500, name="Fonts")

    created = await dodo.payments.create(
        customer={"email": "nia@example.com", "name": "Nia"},
        billing=BILLING,
        product_cart=[{"product_id": guide.id, "quantity": 2}, {"product_id": fonts.id, "quantity": 1}],
        payment_link=True,
        return_url="https://merchant.example/thanks",
    )
    checkout = await find_checkout(created.payment_link.rsplit("/", 1)[-1])
    paid = await pay_checkout(checkout, "pm_card_visa", billing_context())
    payment = await dodo.payments.retrieve(paid.id)
    await process_due_webhooks(SETTINGS)
    [delivery] = receiver.requests
    event = dodo.webhooks.unwrap(delivery.body.decode(), headers=delivery.headers, key=secret)
    validate_type(type_=UnwrapWebhookEvent, value=json.loads(delivery.body))

    assert created.payment_link.startswith("http://portal.test/checkout/cpc_") and created.expires_on
    assert (created.payment_id, created.total_amount, created.customer.email) == ("", 3850, "nia@example.com")
    assert [(line.product_id, line.quantity) for line in created.product_cart] == [(guide.id, 2), (fonts.id, 1)]
    assert (payment.status, payment.total_amount, payment.subscription_id) == ("succeeded", 3850, None)
    assert payment.has_license_key and payment.billing.country == "US" and payment.invoice_id
    assert {(line.product_id, line.quantity) for line in payment.product_cart} == {(guide.id, 2), (fonts.id, 1)}
    assert (event.type, event.data.payment_id) == ("payment.succeeded", paid.id)
    assert [p.payment_id async for p in dodo.payments.list(product_id=fonts.id)] == [paid.id]


async def test_payments_create_refuses_what_it_cannot_sell_and_writes_nothing(
    dodo: AsyncDodoPayments, shop: Shop
) -> None:
    guide = await shop.one_time_product(1500)
    other = await open_shop("Globex")
    foreign = await other.one_time_product(1500)
    ask = {"customer": {"email": "nia@example.com", "name": "Nia"}, "billing": BILLING, "payment_link": True}

    with pytest.raises(UnprocessableEntityError, match="payment_link"):
        await dodo.payments.create(
            **{**ask, "payment_link": False}, product_cart=[{"product_id": guide.id, "quantity": 1}]
        )
    with pytest.raises(NotFoundError, match="product_cart.0.product_id") as missing:
        await dodo.payments.create(**ask, product_cart=[{"product_id": "pdt_missing", "quantity": 1}])
    with pytest.raises(NotFoundError) as of_another_business:
        await dodo.payments.create(**ask, product_cart=[{"product_id": foreign.id, "quantity": 1}])
    with pytest.raises(NotFoundError):  # a recurring product is bought through subscriptions.create
        await dodo.payments.create(**ask, product_cart=[{"product_id": shop.product.id, "quantity": 1}])
    with pytest.raises(UnprocessableEntityError, match="product_cart.0.quantity"):
        await dodo.payments.create(**ask, product_cart=[{"product_id": guide.id, "quantity": 0}])
    with pytest.raises(UnprocessableEntityError, match="discount_code"):
        await dodo.payments.create(
            **ask, product_cart=[{"product_id": guide.id, "quantity": 1}], discount_code="LAUNCH"
        )

    cart = [{"product_id": guide.id, "quantity": 1}]
    with pytest.raises(NotFoundError) as foreign_customer:
        await dodo.payments.create(
            **{**ask, "customer": {"customer_id": (await other.customer()).id}}, product_cart=cart
        )
    with pytest.raises(NotFoundError) as missing_customer:
        await dodo.payments.create(**{**ask, "customer": {"customer_id": "cus_missing"}}, product_cart=cart)

    assert of_another_business.value.body == missing.value.body
    assert foreign_customer.value.body == missing_customer.value.body
    assert not await CheckoutSession.exists() and [c async for c in dodo.customers.list()] == []


async def test_payments_refunds_and_invoices(dodo: AsyncDodoPayments, shop: Shop) -> None:
    customer, created = await _subscribe(dodo, shop)

    payments = [p async for p in dodo.payments.list(customer_id=customer.customer_id)]
    of_product = [p.payment_id async for p in dodo.payments.list(product_id=shop.product.id)]
    of_other = (await dodo.payments.list(product_id=(await shop.product_at(1)).id)).items
    payment = await dodo.payments.retrieve(created.payment_id)
    refund = await dodo.refunds.create(
        payment_id=payment.payment_id, items=[{"item_id": shop.product.id, "amount": 500, "tax_inclusive": True}]
    )
    fetched_refund = await dodo.refunds.retrieve(refund.refund_id)
    refunds = [r.refund_id async for r in dodo.refunds.list(customer_id=customer.customer_id)]
    pdf = await dodo.invoices.payments.retrieve(payment.payment_id)
    credit_note = await dodo.invoices.payments.retrieve_refund(refund.refund_id)

    assert [p.payment_id for p in payments] == [payment.payment_id] == of_product and of_other == []
    assert payments[0].has_license_key
    assert (payment.status, payment.total_amount, payment.billing.country) == ("succeeded", 1320, "US")
    assert (refund.amount, refund.is_partial, refund.status) == (500, True, "succeeded")
    assert fetched_refund == refund and refunds == [refund.refund_id]
    assert (await pdf.read()).startswith(b"%PDF") and (await credit_note.read()).startswith(b"%PDF")
    after = await dodo.payments.retrieve(payment.payment_id)
    assert [r.refund_id for r in after.refunds] == [refund.refund_id] and after.refund_status == "partial"


async def test_license_keys_instances_and_licenses(dodo: AsyncDodoPayments, shop: Shop) -> None:
    customer, _ = await _subscribe(dodo, shop)

    [key] = [k async for k in dodo.license_keys.list(customer_id=customer.customer_id)]
    activation = await dodo.licenses.with_raw_response.activate(license_key=key.key, name="Laptop")
    instance = validate_type(type_=DodoInstance, value=await activation.json())
    valid = await dodo.licenses.validate(license_key=key.key, license_key_instance_id=instance.id)
    renamed = await dodo.license_key_instances.update(instance.id, name="Work laptop")
    instances = [i.name async for i in dodo.license_key_instances.list(license_key_id=key.id)]
    fetched_instance = await dodo.license_key_instances.retrieve(instance.id)
    fetched = await dodo.license_keys.retrieve(key.id)
    limited = await dodo.license_keys.update(key.id, activations_limit=5)
    await dodo.licenses.deactivate(license_key=key.key, license_key_instance_id=instance.id)
    disabled = await dodo.license_keys.update(key.id, disabled=True)

    assert (key.status, key.source, key.activations_limit) == ("active", "auto", 3)
    assert activation.status_code == 201 and valid.valid is True
    assert renamed.name == "Work laptop" == fetched_instance.name and instances == ["Work laptop"]
    assert fetched.instances_count == 1 and limited.activations_limit == 5
    assert (disabled.status, disabled.instances_count) == ("disabled", 0)


async def test_every_webhook_event_unwraps_into_the_sdks_typed_event(
    dodo: AsyncDodoPayments, shop: Shop, receiver: Receiver
) -> None:
    _, secret = await create_endpoint(
        shop.business, livemode=False, url=receiver.url, event_types=[], allow_private=True
    )
    _, created = await _subscribe(dodo, shop)
    await dodo.refunds.create(payment_id=created.payment_id, items=[{"item_id": shop.product.id, "amount": 100}])
    subscription = await Subscription.get(id=created.subscription_id)
    sent = {str(event.type) for event in await Event.all()}
    for event_type in EventType:  # every type the portal sends, on the rows it sends them about
        if event_type.startswith("subscription.") and event_type not in sent:
            await record_subscription_event(event_type, subscription)
    declined = await dodo.customers.create(email="bob@example.com", name="Bob")
    with pytest.raises(Exception, match="402"):
        await dodo.subscriptions.create(
            customer={"customer_id": declined.customer_id},
            billing=BILLING,
            product_id=shop.product.id,
            quantity=1,
            extra_body={"processor_token": "pm_card_chargeDeclined"},
        )
    paid = await Payment.get(id=created.payment_id)
    failed = await Refund.create(
        business=shop.business,
        livemode=False,
        customer_id=paid.customer_id,
        payment=paid,
        amount=1,
        currency="USD",
        status=RefundStatus.FAILED,
    )
    await record_refund_event(failed)
    paid.status = PaymentStatus.REQUIRES_CUSTOMER_ACTION  # as a 3-D Secure charge waits: payment.processing
    await record_payment_event(paid)
    paid.disputed_at = paid.created_at  # as a processor's dispute marks it
    await record_dispute_event(paid, "dp_1", paid.total_amount, paid.currency, "fraudulent")

    await process_due_webhooks(SETTINGS)

    types = set()
    for request in receiver.requests:
        body = request.body.decode()
        event = dodo.webhooks.unwrap(body, headers=request.headers, key=secret)
        validate_type(type_=UnwrapWebhookEvent, value=json.loads(body))  # unwrap itself does not validate
        assert event.business_id == shop.business.id
        types.add(event.type)
    assert types == {str(event_type) for event_type in EventType}
    assert await LicenseKey.exists(subscription_id=created.subscription_id)


async def test_webhook_endpoints(dodo: AsyncDodoPayments) -> None:
    created = await dodo.webhooks.create(url="https://hooks.example/dodo", filter_types=["payment.succeeded"])

    fetched = await dodo.webhooks.retrieve(created.id)
    updated = await dodo.webhooks.update(created.id, disabled=True, filter_types=[])
    listed = [endpoint.id async for endpoint in dodo.webhooks.list()]
    secret = await dodo.webhooks.retrieve_secret(created.id)
    await dodo.webhooks.delete(created.id)

    assert fetched == created and created.filter_types == ["payment.succeeded"]
    assert (updated.disabled, updated.filter_types) == (True, [])
    assert listed == [created.id] and secret.secret.startswith("whsec_")
    assert [endpoint async for endpoint in dodo.webhooks.list()] == []
    with pytest.raises(UnprocessableEntityError, match="description"):
        await dodo.webhooks.create(url="https://hooks.example/other", description="Orders")


async def test_a_method_the_portal_does_not_have_is_a_json_404_or_405(dodo: AsyncDodoPayments, shop: Shop) -> None:
    customer, created = await _subscribe(dodo, shop)

    with pytest.raises(APIStatusError, match="405") as not_allowed:
        await dodo.license_keys.create(customer_id=customer.customer_id, key="MY-KEY", product_id=shop.product.id)
    with pytest.raises(NotFoundError):
        await dodo.subscriptions.charge(created.subscription_id, product_price=100)
    with pytest.raises(NotFoundError):
        await dodo.brands.list()

    assert not_allowed.value.body == {"code": "METHOD_NOT_ALLOWED", "message": "Method Not Allowed", "field": None}


async def test_discounts(dodo: AsyncDodoPayments, shop: Shop) -> None:
    created = await dodo.discounts.create(
        amount=1500, type="percentage", code="launch", name="Launch", preserve_on_plan_change=True
    )
    await dodo.discounts.create(
        amount=300,
        type="flat",
        code="WELCOME",
        subscription_cycles=3,
        preserve_on_plan_change=True,
        extra_body={"currency": "USD"},
    )

    fetched = await dodo.discounts.retrieve(created.discount_id)
    by_code = await dodo.discounts.retrieve_by_code("LAUNCH")
    updated = await dodo.discounts.update(created.discount_id, amount=2000, subscription_cycles=6)
    flat = [d.code async for d in dodo.discounts.list(discount_type="flat")]
    listed = [d.code async for d in dodo.discounts.list()]

    assert (created.code, created.type, created.subscription_cycles, created.times_used) == (
        "LAUNCH",
        "percentage",
        None,
        0,
    )
    assert fetched == created == by_code
    assert (updated.amount, updated.subscription_cycles) == (2000, 6)
    assert flat == ["WELCOME"] and listed == ["WELCOME", "LAUNCH"]
    with pytest.raises(UnprocessableEntityError, match="restricted_to"):
        await dodo.discounts.create(
            amount=5, type="percentage", code="X", preserve_on_plan_change=True, restricted_to=[shop.product.id]
        )

    customer = await dodo.customers.create(email="ada@example.com", name="Ada")
    subscribed = await dodo.subscriptions.create(
        customer={"customer_id": customer.customer_id},
        billing=BILLING,
        product_id=shop.product.id,
        quantity=1,
        discount_code="LAUNCH",
        extra_body={"processor_token": "pm_card_visa"},
    )
    subscription = await dodo.subscriptions.retrieve(subscribed.subscription_id)
    assert subscription.discounts and subscription.discounts[0].code == "LAUNCH"
    assert (subscription.discount_id, subscription.discount_cycles_remaining) == (created.discount_id, 5)
    assert (await dodo.discounts.retrieve(created.discount_id)).times_used == 1

    await dodo.discounts.delete(created.discount_id)  # a subscription carries it: it keeps it

    kept = await dodo.subscriptions.retrieve(subscribed.subscription_id)
    assert (kept.discount_id, kept.discount_cycles_remaining) == (created.discount_id, 5)
    assert [d.code async for d in dodo.discounts.list()] == ["WELCOME"]
    with pytest.raises(NotFoundError):
        await dodo.discounts.retrieve(created.discount_id)
    with pytest.raises(NotFoundError):
        await dodo.discounts.retrieve_by_code("LAUNCH")
    with pytest.raises(NotFoundError):
        await dodo.discounts.update(created.discount_id, amount=100)
    with pytest.raises(NotFoundError):
        await dodo.discounts.delete(created.discount_id)
    with pytest.raises(NotFoundError, match="discount_code"):
        await dodo.subscriptions.create(
            customer={"customer_id": customer.customer_id},
            billing=BILLING,
            product_id=shop.product.id,
            quantity=1,
            discount_code="LAUNCH",
            extra_body={"processor_token": "pm_card_visa"},
        )


async def test_a_deleted_discount_nothing_carries_is_gone_and_a_foreign_one_is_missing(
    dodo: AsyncDodoPayments, shop: Shop
) -> None:
    unused = await dodo.discounts.create(amount=500, type="percentage", code="SPRING", preserve_on_plan_change=True)
    other = await open_shop("Globex")
    foreign = await Discount.create(
        business=other.business,
        livemode=False,
        code="SPRING",
        type=DiscountType.PERCENTAGE,
        amount=500,
        duration=DiscountDuration.FOREVER,
    )

    await dodo.discounts.delete(unused.discount_id)

    assert not await Discount.exists(id=unused.discount_id)
    assert [d async for d in dodo.discounts.list()] == []
    with pytest.raises(NotFoundError) as missing:
        await dodo.discounts.delete("dsc_missing")
    with pytest.raises(NotFoundError) as foreign_answer:
        await dodo.discounts.delete(foreign.id)
    assert foreign_answer.value.body == missing.value.body
    assert await Discount.exists(id=foreign.id)


MONTHLY = {
    "type": "recurring_price",
    "currency": "USD",
    "price": 900,
    "payment_frequency_count": 1,
    "payment_frequency_interval": "Month",
    "subscription_period_count": 20,
    "subscription_period_interval": "Year",
    "trial_period_days": 7,
}


async def test_products(dodo: AsyncDodoPayments, shop: Shop) -> None:
    plan = await dodo.products.create(
        name="Pro", price=MONTHLY, tax_category="saas", metadata={"tier": "pro"}, description="For teams"
    )
    ebook = await dodo.products.create(
        name="Guide",
        price={"type": "one_time_price", "currency": "EUR", "price": 1500, "tax_inclusive": True},
        tax_category="e_book",
        license_key_enabled=True,
        license_key_activations_limit=2,
        license_key_duration={"count": 1, "interval": "Year"},
    )

    fetched = await dodo.products.retrieve(plan.product_id)
    await dodo.products.update(plan.product_id, name="Pro+", price={**MONTHLY, "price": 1900}, metadata={})
    updated = await dodo.products.retrieve(plan.product_id)
    recurring = [p.product_id async for p in dodo.products.list(recurring=True)]
    one_time = [p.name async for p in dodo.products.list(recurring=False, locale="fr")]
    await dodo.products.archive(ebook.product_id)
    archived = [p.product_id async for p in dodo.products.list(archived=True)]
    listed = [p.product_id async for p in dodo.products.list()]
    await dodo.products.unarchive(ebook.product_id)

    assert fetched == plan and (plan.is_recurring, plan.tax_category, plan.metadata) == (True, "saas", {"tier": "pro"})
    assert plan.price.type == "recurring_price" and plan.price.trial_period_days == 7
    assert (plan.brand_id, plan.description) == (shop.business.id, "For teams")
    assert (updated.name, updated.price.price, updated.metadata) == ("Pro+", 1900, {})
    assert updated.updated_at >= updated.created_at
    assert (ebook.price.type, ebook.price.currency, ebook.is_recurring) == ("one_time_price", "EUR", False)
    assert ebook.license_key_duration and (ebook.license_key_duration.count, ebook.license_key_activations_limit) == (
        1,
        2,
    )
    assert recurring == [plan.product_id, shop.product.id] and one_time == ["Guide"]
    assert archived == [ebook.product_id] and ebook.product_id not in listed
    assert (await dodo.products.retrieve(ebook.product_id)).model_extra == {"archived": False}
    with pytest.raises(UnprocessableEntityError, match="price.discount_bps"):
        await dodo.products.create(name="Off", price={**MONTHLY, "discount_bps": 500}, tax_category="saas")
    with pytest.raises(UnprocessableEntityError, match="trial period days"):
        await dodo.products.update(plan.product_id, price={**MONTHLY, "trial_period_days": 10_000})
    with pytest.raises(UnprocessableEntityError, match="price.type"):
        await dodo.products.update(plan.product_id, price={"type": "one_time_price", "currency": "USD", "price": 1})
    with pytest.raises(NotFoundError):
        await dodo.products.retrieve("pdt_missing")
    with pytest.raises(NotFoundError):
        await dodo.products.update_files(plan.product_id, file_name="manual.pdf")


async def test_product_collections(dodo: AsyncDodoPayments, shop: Shop) -> None:
    bigger = await shop.product_at(3000)
    created = await dodo.product_collections.create(
        name="Plans",
        groups=[{"products": [{"product_id": shop.product.id}, {"product_id": bigger.id}]}],
    )

    fetched = await dodo.product_collections.retrieve(created.id)
    await dodo.product_collections.update(created.id, name="All plans")
    listed = [(c.id, c.name, c.products_count) async for c in dodo.product_collections.list()]
    product = await dodo.products.retrieve(bigger.id)

    assert fetched == created and created.brand_id == shop.business.id
    [group] = created.groups
    assert [p.product_id for p in group.products] == [shop.product.id, bigger.id]
    assert group.products[1].price_detail and group.products[1].price_detail.price == 3000
    assert listed == [(created.id, "All plans", 2)] and product.product_collection_id == created.id
    with pytest.raises(UnprocessableEntityError, match="groups"):
        await dodo.product_collections.create(
            name="Two", groups=[{"products": [{"product_id": bigger.id}]}, {"products": []}]
        )
    with pytest.raises(UnprocessableEntityError, match="another collection"):
        await dodo.product_collections.create(name="Again", groups=[{"products": [{"product_id": bigger.id}]}])
    with pytest.raises(APIStatusError, match="405"):
        await dodo.product_collections.delete(created.id)
    with pytest.raises(NotFoundError):
        await dodo.product_collections.groups.create(created.id, products=[{"product_id": bigger.id}])

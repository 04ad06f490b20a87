"""No due amount is charged twice, whatever the idempotency keys: two tabs, an app that retries with a new key, the
business's portal beside the unified one, the billing run beside the customer, or a merchant's integration creating
one subscription many times over. Each path is driven by twenty concurrent requests with twenty keys and must end
with exactly one processor charge and one invoice (on PostgreSQL as on SQLite)."""

import asyncio
from datetime import timedelta

import pytest

from billing.billing_run import run_billing
from billing.errors import BillingError
from billing.payment_methods import remove_payment_method
from billing.payments import complete_payment, recover_stale_payments
from billing.plan_changes import change_plan
from billing.processors.protocol import ChargeStatus
from billing.reactivation import reactivate
from billing.subscription_start import StartRequest, start_subscription
from core.clock import utcnow
from models import Invoice, Payment, PaymentMethod, SandboxCharge, Subscription
from models.enums import PaymentPurpose, PaymentStatus, SubscriptionStatus
from tests.support.billing import FEATURES, add_card, billing_context, subscriber, with_plans
from tests.support.customer_graphql import REACTIVATE, run
from tests.support.factories import business_token, unified_token
from tests.support.plans import UPDATES
from tests.support.shop import open_shop

TWENTY = range(20)


async def charged_once() -> None:
    """One processor charge, one succeeded payment, one invoice."""
    assert await SandboxCharge.filter(status=ChargeStatus.SUCCEEDED).count() == 1
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 1
    assert await Invoice.all().count() == 1


async def reactivating(subscription_id: str, method: PaymentMethod, key: str, context) -> Payment:
    """One tab's reactivation, with the subscription as that request loads it."""
    subscription = await Subscription.get(id=subscription_id)
    return await reactivate(subscription, method, client_key=key, features=FEATURES, context=context)


async def changing_plan(subscription_id: str, product_id: str, key: str, context):
    subscription = await Subscription.get(id=subscription_id)
    return await change_plan(
        subscription, product_id, None, client_key=key, method=None, features=UPDATES, context=context
    )


async def outcomes(attempts) -> list:
    """Each attempt's payment, or the BillingError that refused it."""
    results = await asyncio.gather(*attempts, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, BillingError):
            raise result
    return results


async def test_twenty_tabs_reactivating_with_twenty_keys_charge_once(context) -> None:
    shop = await subscriber(context)
    token = await business_token(shop.customer)
    visa = shop.cards["pm_card_visa"]

    answers = await asyncio.gather(
        *(run(token, REACTIVATE, subscription=shop.subscription.id, method=visa.id, key=f"tab-{n}") for n in TWENTY)
    )

    await charged_once()
    paid = [a["reactivateSubscription"] for a in answers if a["reactivateSubscription"]["payment"]]
    refused = [a["reactivateSubscription"]["errors"] for a in answers if not a["reactivateSubscription"]["payment"]]
    assert [answer["payment"]["status"] for answer in paid] == ["SUCCEEDED"]
    assert {error["code"] for errors in refused for error in errors} == {"NOT_ALLOWED"}
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ACTIVE


async def test_the_business_portal_and_the_unified_portal_side_by_side_charge_once(context) -> None:
    shop = await subscriber(context)
    tokens = [await business_token(shop.customer), await unified_token(shop.customer.email)]
    visa = shop.cards["pm_card_visa"]

    await asyncio.gather(
        *(
            run(tokens[n % 2], REACTIVATE, subscription=shop.subscription.id, method=visa.id, key=f"k{n}")
            for n in TWENTY
        )
    )

    await charged_once()


async def test_changing_the_card_while_other_tabs_reactivate_charges_once(context) -> None:
    shop = await subscriber(context, cards=("pm_card_chargeDeclined", "pm_card_visa", "pm_card_mastercard"))
    visa, mastercard = shop.cards["pm_card_visa"], shop.cards["pm_card_mastercard"]

    await outcomes(
        reactivating(shop.subscription.id, visa if n % 2 else mastercard, f"tab-{n}", context) for n in TWENTY
    )

    await charged_once()


async def test_a_payment_waiting_for_3ds_that_is_approved_after_another_tab_paid_is_given_back(context) -> None:
    shop = await subscriber(context, cards=("pm_card_authenticationRequired", "pm_card_visa"))
    subscription = shop.subscription
    waiting = await reactivate(
        subscription,
        shop.cards["pm_card_authenticationRequired"],
        client_key="tab-1",
        features=FEATURES,
        context=context,
    )
    assert waiting.status == PaymentStatus.REQUIRES_CUSTOMER_ACTION
    paid = await reactivate(
        await Subscription.get(id=subscription.id),
        shop.cards["pm_card_visa"],
        client_key="tab-2",
        features=FEATURES,
        context=context,
    )
    assert paid.status == PaymentStatus.SUCCEEDED

    charge = await context.processor.challenge(waiting.next_action_url.rsplit("/", 1)[1])
    await context.processor.answer_challenge(charge, approve=True)
    late = await complete_payment(await Payment.get(id=waiting.id), context)

    assert late.status == PaymentStatus.FAILED and late.error_code == "superseded"
    assert await Invoice.all().count() == 1


async def test_twenty_plan_changes_with_twenty_keys_charge_once(context) -> None:
    shop = await subscriber(
        context,
        status=SubscriptionStatus.ACTIVE,
        cards=("pm_card_visa",),
        next_billing_date=utcnow() + timedelta(days=20),
    )
    plans = await with_plans(shop)

    await outcomes(changing_plan(shop.subscription.id, plans[-1].id, f"tab-{n}", context) for n in TWENTY)

    await charged_once()
    assert (await Subscription.get(id=shop.subscription.id)).product_id == plans[-1].id


async def test_the_billing_run_beside_twenty_reactivations_charges_the_dues_once(context) -> None:
    shop = await subscriber(context)
    visa = shop.cards["pm_card_visa"]

    await outcomes(
        [
            *(run_billing(context) for _ in range(3)),
            *(reactivating(shop.subscription.id, visa, f"tab-{n}", context) for n in TWENTY),
        ]
    )

    await charged_once()


async def test_twenty_creates_with_twenty_keys_for_one_customer_and_product_charge_once() -> None:
    shop = await open_shop()
    customer = await shop.customer()
    context = billing_context()
    visa = await add_card(customer, "pm_card_visa", context)
    asked = [
        StartRequest(customer=customer, product_id=shop.product.id, client_key=f"key-{n}", payment_method_id=visa.id)
        for n in TWENTY
    ]

    results = await outcomes(start_subscription(request, context) for request in asked)

    await charged_once()
    assert await Subscription.all().count() == 1
    refusals = [result for result in results if isinstance(result, BillingError)]
    assert len(refusals) == 19 and {refusal.code for refusal in refusals} == {"DUPLICATE_SUBSCRIPTION"}


async def test_a_create_retried_with_the_same_key_and_another_card_is_refused() -> None:
    shop = await open_shop()
    customer = await shop.customer()
    context = billing_context()
    first = StartRequest(customer=customer, product_id=shop.product.id, client_key="k", processor_token="pm_card_visa")
    await start_subscription(first, context)

    another = StartRequest(
        customer=customer, product_id=shop.product.id, client_key="k", processor_token="pm_card_mastercard"
    )
    with pytest.raises(BillingError) as caught:
        await start_subscription(another, context)

    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert await PaymentMethod.all().count() == 1 and await SandboxCharge.all().count() == 1


@pytest.mark.parametrize("round_", range(5))
async def test_removing_the_last_two_cards_at_once_keeps_one(context, round_: int) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa", "pm_card_mastercard"))
    methods = list(shop.cards.values())

    results = await outcomes(remove_payment_method(method, FEATURES) for method in methods)

    assert [type(result).__name__ for result in results].count("BillingError") == 1
    assert await PaymentMethod.filter(customer_id=shop.customer.id, detached_at__isnull=True).count() == 1
    subscription = await Subscription.get(id=shop.subscription.id)
    assert subscription.payment_method_id is not None
    kept = await PaymentMethod.get(id=subscription.payment_method_id)
    assert kept.detached_at is None


async def test_a_retry_finishes_a_charge_its_crashed_request_left_processing(context, monkeypatch) -> None:
    """The request was charged and died before recording it; its retry, at once, settles it with no second charge."""
    shop = await subscriber(context)
    visa = shop.cards["pm_card_visa"]
    crash = RuntimeError("the process died after the processor answered")

    async def dies(*args, **kwargs):
        raise crash

    monkeypatch.setattr("billing.charges.settle", dies)
    with pytest.raises(RuntimeError):
        await reactivate(shop.subscription, visa, client_key="k", features=FEATURES, context=context)
    monkeypatch.undo()

    retried = await reactivate(
        await Subscription.get(id=shop.subscription.id), visa, client_key="k", features=FEATURES, context=context
    )

    assert retried.status == PaymentStatus.SUCCEEDED
    await charged_once()


async def test_the_billing_run_recovers_a_charged_payment_within_two_minutes(context, monkeypatch) -> None:
    shop = await subscriber(context)
    visa = shop.cards["pm_card_visa"]

    async def dies(*args, **kwargs):
        raise RuntimeError("the process died after the processor answered")

    monkeypatch.setattr("billing.charges.settle", dies)
    with pytest.raises(RuntimeError):
        await reactivate(shop.subscription, visa, client_key="k", features=FEATURES, context=context)
    monkeypatch.undo()

    assert await recover_stale_payments(context, utcnow() + timedelta(minutes=2, seconds=1)) == 1
    await charged_once()
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ACTIVE


async def test_a_stale_payment_whose_amounts_do_not_add_up_is_never_charged_or_invoiced(context) -> None:
    shop = await subscriber(context)
    await Payment.create(
        business_id=shop.business.id,
        livemode=True,
        customer_id=shop.customer.id,
        subscription_id=shop.subscription.id,
        total_amount=24000,
        tax=4000,
        subtotal=0,
        currency="JPY",
        status=PaymentStatus.PROCESSING,
        purpose=PaymentPurpose.REACTIVATION,
        payment_method_id=shop.cards["pm_card_visa"].id,
        idempotency_key="reactivation:broken",
        request_fingerprint="x",
    )

    await recover_stale_payments(context, utcnow() + timedelta(hours=1))

    assert await SandboxCharge.all().count() == 0 and await Invoice.all().count() == 0
    assert (await Payment.get(idempotency_key="reactivation:broken")).status == PaymentStatus.FAILED


@pytest.mark.parametrize(
    ("dies_in", "status", "charges"), [("_attach", "failed", 0), ("_charge_first_period", "active", 1)]
)
async def test_a_create_whose_request_died_is_finished_by_the_billing_run(
    monkeypatch, dies_in, status, charges
) -> None:
    """Died before the card was saved: failed, nothing charged. Died after: charged once, as its retry would."""
    shop = await open_shop()
    customer = await shop.customer()
    context = billing_context()
    request = StartRequest(
        customer=customer, product_id=shop.product.id, client_key="k", processor_token="pm_card_visa"
    )

    async def dies(*args, **kwargs):
        raise RuntimeError("the process died")

    monkeypatch.setattr(f"billing.subscription_start.{dies_in}", dies)
    with pytest.raises(RuntimeError):
        await start_subscription(request, context)
    monkeypatch.undo()

    await run_billing(context, now=utcnow() + timedelta(minutes=3))

    assert (await Subscription.get(customer_id=customer.id)).status == status
    assert await SandboxCharge.filter(status=ChargeStatus.SUCCEEDED).count() == charges
    assert await Invoice.all().count() == charges

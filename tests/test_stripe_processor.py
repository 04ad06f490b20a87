"""A business connected to its own Stripe account (localstripe standing in for Stripe) is charged through Stripe
for every kind of charge, once per key, and refunds through it; the keys decide the mode and stay sealed."""

import asyncio
from datetime import timedelta

import pytest

from billing.billing_run import run_billing
from billing.errors import BillingError
from billing.payments import complete_payment
from billing.plan_changes import change_plan
from billing.processors import stripe as stripe_processor
from billing.processors.stripe import KEY, StripeProcessor
from billing.reactivation import reactivate
from billing.refunds import refund_payment
from billing.subscription_start import StartRequest, start_subscription
from core.clock import utcnow
from core.secret_box import SecretBox
from merchants.stripe_accounts import StripeKeyError, StripeKeys, connect_stripe, stripe_credentials
from models import Invoice, Payment, Refund, StripeAccount, StripeIntent, Subscription
from models.enums import InvoiceStatus, PaymentStatus, RefundStatus, SubscriptionStatus
from tests.support.billing import FEATURES, NO_RETRIES, configure, subscriber, with_plans
from tests.support.localstripe import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET
from tests.support.plans import UPDATES
from tests.support.stripe import ALWAYS_3DS, BOX, DECLINED_ON_CHARGE, stripe_context, stripe_shop


async def reactivating(connected, method, key: str = "retry-1") -> Payment:
    subscription = await Subscription.get(id=connected.shop.subscription.id)
    return await reactivate(subscription, method, client_key=key, features=FEATURES, context=connected.context)


async def test_reactivation_is_one_payment_intent_for_the_dues_carrying_our_key(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)

    payment = await reactivating(connected, connected.shop.cards["visa"])

    assert payment.status == PaymentStatus.SUCCEEDED
    assert (await Subscription.get(id=connected.shop.subscription.id)).status == SubscriptionStatus.ACTIVE
    [intent] = await connected.intents()
    assert (intent.id, intent.status, intent.amount) == (payment.processor_reference, "succeeded", 980)
    assert intent.metadata[KEY] == payment.idempotency_key
    assert intent.payment_method == connected.shop.cards["visa"].processor_token
    assert await Invoice.filter(payment_id=payment.id).exists()


async def test_a_declined_reactivation_leaves_the_subscription_on_hold(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    refused = await connected.card(DECLINED_ON_CHARGE)

    payment = await reactivating(connected, refused)

    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "card_declined")
    assert (await Subscription.get(id=connected.shop.subscription.id)).status == SubscriptionStatus.ON_HOLD
    [intent] = await connected.intents()
    assert (intent.id, intent.status) == (payment.processor_reference, "requires_payment_method")


@pytest.mark.parametrize(("approve", "status"), [(True, PaymentStatus.SUCCEEDED), (False, PaymentStatus.FAILED)])
async def test_3d_secure_waits_for_the_customer_then_settles(stripe_server, stripe_api, approve, status) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    card = await connected.card(ALWAYS_3DS)

    waiting = await reactivating(connected, card)
    assert waiting.status == PaymentStatus.REQUIRES_CUSTOMER_ACTION
    assert waiting.next_action_url.endswith(
        f"/stripe/authenticate/{connected.shop.business.id}/test/{waiting.processor_reference}"
    )
    intent = await stripe_api.v1.payment_intents.retrieve_async(waiting.processor_reference)
    # What Stripe.js does on the authentication page once the customer answers their bank.
    await stripe_api.v1.payment_intents._request_async(
        "post",
        f"/v1/payment_intents/{intent.id}/_authenticate",
        base_address="api",
        params={"client_secret": intent.client_secret, "success": "true" if approve else "false"},
    )

    settled = await complete_payment(waiting, connected.context)

    assert settled.status == status
    assert settled.error_code == (None if approve else "authentication_failed")
    expected = SubscriptionStatus.ACTIVE if approve else SubscriptionStatus.ON_HOLD
    assert (await Subscription.get(id=connected.shop.subscription.id)).status == expected


async def test_the_billing_run_renews_off_session_and_puts_a_declined_renewal_on_hold(
    stripe_server, stripe_api
) -> None:
    paying = await stripe_shop(stripe_server, stripe_api, status=SubscriptionStatus.ACTIVE)
    declining = await stripe_shop(
        stripe_server, stripe_api, status=SubscriptionStatus.ACTIVE, email="grace@example.com"
    )
    refused = await declining.card(DECLINED_ON_CHARGE)
    await Subscription.filter(id=declining.shop.subscription.id).update(payment_method_id=refused.id)
    await configure(declining.shop, payment_retry=NO_RETRIES)

    report = await run_billing(paying.context, livemode=False)

    assert (report.renewed, report.put_on_hold) == (1, 1)
    assert (await Subscription.get(id=paying.shop.subscription.id)).status == SubscriptionStatus.ACTIVE
    on_hold = await Subscription.get(id=declining.shop.subscription.id)
    assert on_hold.status == SubscriptionStatus.ON_HOLD
    renewals = {intent.metadata[KEY]: intent.status for intent in await paying.intents()}
    assert sorted(renewals.values()) == ["requires_payment_method", "succeeded"]
    assert all(key.startswith("renewal:") for key in renewals)


async def test_a_renewal_that_needs_the_absent_customer_fails_and_its_payment_intent_is_cancelled(
    stripe_server, stripe_api
) -> None:
    connected = await stripe_shop(stripe_server, stripe_api, status=SubscriptionStatus.ACTIVE)
    card = await connected.card(ALWAYS_3DS)
    await Subscription.filter(id=connected.shop.subscription.id).update(payment_method_id=card.id)
    await configure(connected.shop, payment_retry=NO_RETRIES)

    await run_billing(connected.context, livemode=False)

    payment = await Payment.get(subscription_id=connected.shop.subscription.id)
    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "authentication_required")
    assert (await Subscription.get(id=connected.shop.subscription.id)).status == SubscriptionStatus.ON_HOLD
    [intent] = await connected.intents()
    assert intent.status == "canceled"


async def test_a_new_subscription_is_charged_through_stripe(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api, status=SubscriptionStatus.ACTIVE)
    product = (await with_plans(connected.shop))[0]

    start = await start_subscription(
        StartRequest(
            customer=connected.shop.customer,
            product_id=product.id,
            client_key="create-1",
            payment_method_id=connected.shop.cards["visa"].id,
        ),
        connected.context,
    )

    assert start.payment is not None and start.payment.status == PaymentStatus.SUCCEEDED
    assert start.subscription.status == SubscriptionStatus.ACTIVE
    [intent] = await connected.intents()
    assert (intent.id, intent.amount) == (start.payment.processor_reference, start.payment.total_amount)


async def test_a_plan_change_charge_goes_through_stripe(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api, status=SubscriptionStatus.ACTIVE)
    await Subscription.filter(id=connected.shop.subscription.id).update(
        previous_billing_date=utcnow() - timedelta(days=10), next_billing_date=utcnow() + timedelta(days=20)
    )
    plans = await with_plans(connected.shop)
    subscription = await Subscription.get(id=connected.shop.subscription.id)

    change = await change_plan(
        subscription, plans[-1].id, None, client_key="up-1", method=None, features=UPDATES, context=connected.context
    )

    assert change.payment is not None and change.payment.status == PaymentStatus.SUCCEEDED
    [intent] = await connected.intents()
    assert (intent.id, intent.amount) == (change.payment.processor_reference, change.payment.total_amount)
    assert (await Subscription.get(id=subscription.id)).product_id == plans[-1].id


async def test_partial_and_full_refunds_are_stripe_refunds_with_credit_notes(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    payment = await reactivating(connected, connected.shop.cards["visa"])

    partial = await refund_payment(payment, 300, "", client_key="refund-1", context=connected.context)
    rest = await refund_payment(payment, None, "", client_key="refund-2", context=connected.context)
    again = await refund_payment(payment, 300, "", client_key="refund-1", context=connected.context)

    assert (partial.status, rest.status, again.id) == (RefundStatus.SUCCEEDED, RefundStatus.SUCCEEDED, partial.id)
    listed = await stripe_api.v1.refunds.list_async(params={"payment_intent": payment.processor_reference})
    assert sorted(refund.amount for refund in listed.data) == [300, 680]
    assert (await Invoice.get(payment_id=payment.id)).status == InvoiceStatus.REFUNDED
    assert await Refund.filter(credit_note_number__isnull=False).count() == 2


async def test_twenty_concurrent_reactivations_make_one_payment_intent(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    visa = connected.shop.cards["visa"]

    same_key = await asyncio.gather(*(reactivating(connected, visa, "one-key") for _ in range(20)))

    assert {payment.id for payment in same_key} == {same_key[0].id}
    assert {payment.status for payment in same_key} == {PaymentStatus.SUCCEEDED}
    assert len(await connected.intents()) == 1


async def test_twenty_tabs_with_twenty_keys_make_one_payment_intent(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    visa = connected.shop.cards["visa"]

    answers = await asyncio.gather(
        *(reactivating(connected, visa, f"tab-{n}") for n in range(20)), return_exceptions=True
    )

    paid = [answer for answer in answers if isinstance(answer, Payment)]
    assert [payment.status for payment in paid] == [PaymentStatus.SUCCEEDED]
    assert all(isinstance(answer, BillingError) for answer in answers if not isinstance(answer, Payment))
    assert len(await connected.intents()) == 1


@pytest.mark.parametrize("finisher", ["the retry", "the billing run"])
async def test_a_crash_after_stripe_answered_is_finished_without_a_second_payment_intent(
    stripe_server, stripe_api, monkeypatch, finisher
) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    visa = connected.shop.cards["visa"]
    answer = StripeProcessor._result

    async def crash_once(self, intent, off_session):
        monkeypatch.setattr(StripeProcessor, "_result", answer)
        raise ConnectionResetError("the process died before recording Stripe's answer")

    monkeypatch.setattr(StripeProcessor, "_result", crash_once)
    with pytest.raises(ConnectionResetError):
        await reactivating(connected, visa)
    assert (await Payment.get()).status == PaymentStatus.PROCESSING

    if finisher == "the retry":
        payment = await reactivating(connected, visa)
    else:
        # The process died three minutes ago, holding its claim on the key: nothing released it.
        died = utcnow() - timedelta(minutes=3)
        await StripeIntent.all().update(claimed_at=died)
        await Payment.all().update(updated_at=died)
        assert (await run_billing(connected.context, livemode=False)).recovered == 1
        payment = await Payment.get()

    assert payment.status == PaymentStatus.SUCCEEDED
    [intent] = await connected.intents()
    assert intent.id == payment.processor_reference


async def test_live_mode_without_a_processor_is_refused_with_nothing_changed(stripe_server) -> None:
    context = stripe_context(stripe_server)
    shop = await subscriber(context, cards=(), livemode=True)
    await Subscription.filter(id=shop.subscription.id).update(payment_method_id=None)

    with pytest.raises(BillingError) as refused:
        await context.processor_for(shop.business.id, livemode=True)
    report = await run_billing(context, livemode=True)

    assert "cannot take payments" in refused.value.message
    assert report.total == 0 and not await Payment.exists()
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ON_HOLD


@pytest.mark.parametrize(
    ("secret", "publishable", "field"),
    [
        ("sk_live_abcdefgh123", "pk_test_abcdefgh123", "publishable_key"),
        ("pk_test_abcdefgh123", "pk_test_abcdefgh123", "secret_key"),
        ("sk_test_abcdefgh123", "sk_test_abcdefgh123", "publishable_key"),
    ],
)
async def test_keys_of_mixed_modes_or_kinds_are_refused_with_nothing_stored(secret, publishable, field) -> None:
    shop = await subscriber(stripe_context(""), cards=())

    with pytest.raises(StripeKeyError) as refused:
        await connect_stripe(shop.business, StripeKeys(secret, publishable, WEBHOOK_SECRET), BOX)

    assert refused.value.field == field
    assert not await StripeAccount.exists()


async def test_the_keys_decide_the_mode_and_the_secrets_are_stored_sealed() -> None:
    shop = await subscriber(stripe_context(""), cards=())
    live = StripeKeys("rk_live_restricted123", "pk_live_publishable123", "whsec_signing123")

    account = await connect_stripe(shop.business, live, BOX)

    assert account.livemode is True
    stored = await StripeAccount.get(id=account.id)
    assert "rk_live_restricted123" not in stored.sealed_secret_key + repr(stored)
    assert "whsec_signing123" not in stored.sealed_webhook_secret
    credentials = await stripe_credentials(shop.business.id, True, BOX)
    assert credentials is not None and credentials.secret_key == "rk_live_restricted123"
    assert "rk_live" not in repr(credentials) and "whsec" not in repr(credentials)
    assert await stripe_credentials(shop.business.id, False, BOX) is None


def test_stripe_decline_codes_map_to_ours() -> None:
    decline = stripe_processor.decline_code
    assert decline({"code": "card_declined", "decline_code": "insufficient_funds"}) == "insufficient_funds"
    assert decline({"code": "expired_card"}) == "expired_card"
    assert decline({"code": "card_declined", "decline_code": "do_not_honor"}) == "card_declined"
    assert decline({"code": "authentication_required"}) == "authentication_required"
    assert decline({"code": "payment_intent_authentication_failure"}) == "authentication_failed"
    assert decline(None) == "processing_error"


def test_a_sealed_secret_opens_after_a_new_key_is_put_in_front() -> None:
    sealed = BOX.seal(SECRET_KEY)
    rotated = SecretBox(["a-newer-key", "credentials-key-for-tests"])

    assert rotated.open(sealed) == SECRET_KEY
    assert SecretBox(["a-newer-key"]).open(rotated.rotate(sealed)) == SECRET_KEY
    assert PUBLISHABLE_KEY not in repr(rotated)

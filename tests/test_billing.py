"""The billing engine without HTTP: reactivation, idempotent charges, 3-D Secure, payment methods, the billing run."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from billing.billing_run import run_billing
from billing.errors import BillingError
from billing.payment_methods import add_payment_method, remove_payment_method
from billing.payments import complete_payment
from billing.reactivation import reactivate
from gateway.worker import process_due_emails
from merchants.features import FeatureSwitch, PortalFeatures
from models import EmailMessage, Event, Invoice, InvoiceLine, LicenseKey, Payment, SandboxCharge, Subscription
from models.enums import LicenseKeyStatus, PaymentStatus, SubscriptionStatus
from tests.support.billing import FEATURES, NO_RETRIES, configure, subscriber
from tests.support.portal import Mailbox, make_settings, text_of


async def test_a_declined_reactivation_changes_nothing_but_a_failed_payment(context) -> None:
    shop = await subscriber(context)
    declined = shop.cards["pm_card_chargeDeclined"]

    payment = await reactivate(shop.subscription, declined, client_key="k1", features=FEATURES, context=context)

    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "card_declined")
    assert payment.error_message == "Your card was declined. Try another card."
    await shop.subscription.refresh_from_db()
    assert shop.subscription.status == SubscriptionStatus.ON_HOLD
    assert await Invoice.all().count() == 0
    assert await LicenseKey.filter(status=LicenseKeyStatus.DISABLED).count() == 1
    assert [event.type for event in await Event.all()] == ["payment.failed"]


async def test_reactivation_charges_the_dues_issues_an_invoice_and_reactivates(context) -> None:
    shop = await subscriber(context)
    before = datetime.now(UTC)

    payment = await reactivate(
        shop.subscription, shop.cards["pm_card_visa"], client_key="k2", features=FEATURES, context=context
    )

    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.total_amount, payment.tax) == (980, 89)  # 10 % included in the price
    subscription = await Subscription.get(id=shop.subscription.id)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.payment_method_id == shop.cards["pm_card_visa"].id
    assert subscription.previous_billing_date >= before
    assert subscription.next_billing_date.month == (subscription.previous_billing_date.month % 12) + 1
    invoice = await Invoice.get(payment_id=payment.id)
    assert (invoice.number, invoice.total, invoice.tax, invoice.subtotal) == ("SF-0001", 980, 89, 980)
    assert invoice.billing_details["name"] == "Ada Lovelace"
    line = await InvoiceLine.get(invoice_id=invoice.id)
    assert line.description.startswith("Library Personal (") and line.amount == 980
    assert await LicenseKey.filter(status=LicenseKeyStatus.ACTIVE).count() == 1
    assert sorted(event.type for event in await Event.all()) == ["payment.succeeded", "subscription.active"]
    # One email, not a receipt and a second "active again": the one that says so carries the receipt.
    [email] = await EmailMessage.all()
    assert (email.template, email.to_email) == ("subscription_reactivated", "ada@example.com")
    receipt = {key: email.context[key] for key in ("amount", "currency", "invoice_number", "card_last4")}
    assert receipt == {"amount": 980, "currency": "JPY", "invoice_number": "SF-0001", "card_last4": "4242"}


async def test_invoice_numbers_have_no_gaps_across_payments(context) -> None:
    first = await subscriber(context)
    second_subscription = await Subscription.create(
        **{
            field: getattr(first.subscription, field)
            for field in (
                "business_id",
                "livemode",
                "customer_id",
                "product_id",
                "recurring_pre_tax_amount",
                "currency",
                "previous_billing_date",
                "next_billing_date",
                "payment_method_id",
            )
        },
        status=SubscriptionStatus.ON_HOLD,
    )
    visa = first.cards["pm_card_visa"]
    await reactivate(
        first.subscription, first.cards["pm_card_chargeDeclined"], client_key="a", features=FEATURES, context=context
    )
    await reactivate(first.subscription, visa, client_key="b", features=FEATURES, context=context)
    await reactivate(second_subscription, visa, client_key="c", features=FEATURES, context=context)

    assert sorted(await Invoice.all().values_list("number", flat=True)) == ["SF-0001", "SF-0002"]


async def test_twenty_concurrent_reactivations_with_one_key_charge_once(context) -> None:
    shop = await subscriber(context)
    visa = shop.cards["pm_card_visa"]

    async def attempt() -> Payment:
        subscription = await Subscription.get(id=shop.subscription.id)
        return await reactivate(subscription, visa, client_key="double-click", features=FEATURES, context=context)

    payments = await asyncio.gather(*(attempt() for _ in range(20)))

    assert {payment.id for payment in payments} == {payments[0].id}
    assert {payment.status for payment in payments} == {PaymentStatus.SUCCEEDED}
    assert await SandboxCharge.all().count() == 1
    assert await Payment.all().count() == 1
    assert await Invoice.all().count() == 1
    assert await EmailMessage.all().values_list("template", flat=True) == ["subscription_reactivated"]


async def test_a_retry_after_success_replays_the_first_answer(context) -> None:
    shop = await subscriber(context)
    visa = shop.cards["pm_card_visa"]
    first = await reactivate(shop.subscription, visa, client_key="same", features=FEATURES, context=context)
    await shop.subscription.refresh_from_db()

    again = await reactivate(shop.subscription, visa, client_key="same", features=FEATURES, context=context)

    assert again.id == first.id and again.status == PaymentStatus.SUCCEEDED
    assert await SandboxCharge.all().count() == 1


async def test_the_same_key_with_another_method_is_refused(context) -> None:
    shop = await subscriber(context)
    await reactivate(
        shop.subscription, shop.cards["pm_card_chargeDeclined"], client_key="k", features=FEATURES, context=context
    )

    with pytest.raises(BillingError) as refused:
        await reactivate(
            shop.subscription, shop.cards["pm_card_visa"], client_key="k", features=FEATURES, context=context
        )

    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert await Payment.all().count() == 1


async def test_a_crash_after_the_charge_is_recovered_through_the_key(context) -> None:
    """The processor charged, then the process died before the outcome was recorded: a retry finds the charge."""
    shop = await subscriber(context)
    visa = shop.cards["pm_card_visa"]
    settle_calls = 0

    from billing import charges

    real_settle = charges.settle

    async def crash_once(*args, **kwargs):
        nonlocal settle_calls
        settle_calls += 1
        if settle_calls == 1:
            raise ConnectionError("database went away")
        return await real_settle(*args, **kwargs)

    charges.settle = crash_once
    try:
        with pytest.raises(ConnectionError):
            await reactivate(shop.subscription, visa, client_key="crash", features=FEATURES, context=context)
        assert (await Payment.get()).status == PaymentStatus.PROCESSING
        retried = await reactivate(shop.subscription, visa, client_key="crash", features=FEATURES, context=context)
    finally:
        charges.settle = real_settle

    assert retried.status == PaymentStatus.SUCCEEDED
    assert await SandboxCharge.all().count() == 1


@pytest.mark.parametrize("approve", [True, False])
async def test_three_d_secure_is_completed_or_failed_by_the_customers_answer(context, approve: bool) -> None:
    shop = await subscriber(context, cards=("pm_card_chargeDeclined", "pm_card_authenticationRequired"))
    method = shop.cards["pm_card_authenticationRequired"]

    waiting = await reactivate(shop.subscription, method, client_key="3ds", features=FEATURES, context=context)

    assert waiting.status == PaymentStatus.REQUIRES_CUSTOMER_ACTION
    assert [event.type for event in await Event.all()] == ["payment.processing"]
    assert waiting.next_action_url.startswith("http://127.0.0.1:8000/sandbox/authenticate/ch_")
    challenge = await context.processor.challenge(waiting.next_action_url.rsplit("/", 1)[1])
    back_to = await context.processor.answer_challenge(challenge, approve=approve)
    assert back_to == f"http://127.0.0.1:8000/payments/{waiting.id}/complete"

    done = await complete_payment(waiting, context)

    subscription = await Subscription.get(id=shop.subscription.id)
    if approve:
        assert done.status == PaymentStatus.SUCCEEDED
        assert subscription.status == SubscriptionStatus.ACTIVE
    else:
        assert (done.status, done.error_code) == (PaymentStatus.FAILED, "authentication_failed")
        assert subscription.status == SubscriptionStatus.ON_HOLD


async def test_the_last_usable_method_of_a_subscriber_cannot_be_removed(context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",))

    with pytest.raises(BillingError) as refused:
        await remove_payment_method(shop.cards["pm_card_visa"], FEATURES)

    assert refused.value.code == "LAST_PAYMENT_METHOD"


async def test_removing_the_default_moves_subscriptions_to_the_next_default(context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa", "pm_card_mastercard"))
    visa, mastercard = shop.cards["pm_card_visa"], shop.cards["pm_card_mastercard"]

    await remove_payment_method(visa, FEATURES)

    await mastercard.refresh_from_db()
    await shop.subscription.refresh_from_db()
    assert mastercard.is_default
    assert shop.subscription.payment_method_id == mastercard.id


async def test_a_method_of_another_business_cannot_pay(context) -> None:
    shop = await subscriber(context)
    other = await subscriber(context, business_name="Northwind", cards=("pm_card_visa",))

    with pytest.raises(BillingError) as refused:
        await reactivate(
            shop.subscription, other.cards["pm_card_visa"], client_key="x", features=FEATURES, context=context
        )

    assert (refused.value.code, refused.value.field) == ("NOT_ALLOWED", "paymentMethodId")
    assert await Payment.all().count() == 0


async def test_renewal_success_advances_the_period_and_issues_an_invoice(context) -> None:
    due = datetime.now(UTC) + timedelta(days=3)
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",), next_billing_date=due)

    assert (await run_billing(context)).renewed == 0  # not due yet
    report = await run_billing(context, now=due + timedelta(hours=1))

    assert report.renewed == 1
    subscription = await Subscription.get(id=shop.subscription.id)
    assert subscription.previous_billing_date == due
    assert subscription.next_billing_date.date() > due.date()
    payment = await Payment.get()
    assert payment.idempotency_key == f"renewal:{subscription.id}:{due.isoformat()}"
    assert await Invoice.filter(payment_id=payment.id).exists()
    assert await EmailMessage.filter(template="payment_receipt").count() == 1


async def test_a_declined_renewal_without_retries_puts_the_subscription_on_hold_and_emails_a_link(context) -> None:
    cards = ("pm_card_chargeDeclinedInsufficientFunds",)
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=cards)
    await configure(shop, payment_retry=NO_RETRIES)

    report = await run_billing(context, now=datetime.now(UTC))

    assert report.put_on_hold == 1
    subscription = await Subscription.get(id=shop.subscription.id)
    assert subscription.status == SubscriptionStatus.ON_HOLD
    assert await LicenseKey.filter(status=LicenseKeyStatus.DISABLED).count() == 1
    emails = {message.template: message for message in await EmailMessage.all()}
    assert set(emails) == {"payment_failed", "subscription_on_hold"}
    assert emails["payment_failed"].context["reason"] == "Your card has insufficient funds. Try another card."
    assert emails["subscription_on_hold"].context["link"] == f"http://127.0.0.1:8000/login/{shop.business.id}"
    assert {event.type for event in await Event.all()} == {"payment.failed", "subscription.on_hold"}


async def test_a_renewal_that_needs_authentication_goes_on_hold_without_retries(context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_authenticationRequired",))
    await configure(shop, payment_retry=NO_RETRIES)

    await run_billing(context)

    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ON_HOLD
    assert (await Payment.get()).error_code == "authentication_required"


async def test_a_cancellation_at_period_end_takes_effect_without_a_charge(context) -> None:
    shop = await subscriber(
        context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",), cancel_at_next_billing_date=True
    )

    report = await run_billing(context)

    assert report.cancelled == 1
    subscription = await Subscription.get(id=shop.subscription.id)
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == shop.subscription.next_billing_date
    assert await Payment.all().count() == 0
    assert await LicenseKey.filter(status=LicenseKeyStatus.DISABLED).count() == 1


async def test_two_billing_runs_at_once_renew_once(context) -> None:
    await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",))

    await asyncio.gather(run_billing(context), run_billing(context))

    assert await Payment.all().count() == 1
    assert await Invoice.all().count() == 1
    assert await SandboxCharge.all().count() == 1


async def test_reactivation_end_to_end_emails_a_receipt(context, mailbox: Mailbox) -> None:
    shop = await subscriber(context)
    declined, visa = shop.cards["pm_card_chargeDeclined"], shop.cards["pm_card_visa"]
    await reactivate(shop.subscription, declined, client_key="try-1", features=FEATURES, context=context)
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ON_HOLD

    await reactivate(shop.subscription, visa, client_key="try-2", features=FEATURES, context=context)
    sent = await process_due_emails(make_settings(mailbox))

    # One email: the declined try sends none (the page said why), and the paid one says both things at once.
    assert sent == 1
    [receipt] = mailbox.messages
    assert receipt["To"] == "ada@example.com"
    assert receipt["Subject"] == "Your subscription to Library Personal is active again"
    assert "SF-0001" in text_of(receipt) and "¥980" in text_of(receipt) and "4242" in text_of(receipt)


async def test_the_business_setting_for_payment_method_updates_is_honoured(context) -> None:
    shop = await subscriber(context)
    locked = PortalFeatures(payment_method_update=FeatureSwitch(enabled=False))

    with pytest.raises(BillingError) as refused:
        await reactivate(
            shop.subscription, shop.cards["pm_card_visa"], client_key="x", features=locked, context=context
        )
    with pytest.raises(BillingError):
        await add_payment_method(
            shop.customer, "pm_card_visa", set_as_default=False, processor=context.processor, features=locked
        )
    same_card = await reactivate(
        shop.subscription, shop.cards["pm_card_chargeDeclined"], client_key="y", features=locked, context=context
    )

    assert refused.value.code == "NOT_ALLOWED"
    assert same_card.status == PaymentStatus.FAILED  # the card it already had may still be charged


async def test_a_fixed_term_subscription_expires_instead_of_renewing(context) -> None:
    ends = datetime.now(UTC) - timedelta(hours=1)
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",), expires_at=ends)

    report = await run_billing(context)

    assert (report.expired, report.renewed) == (1, 0)
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.EXPIRED
    assert await LicenseKey.filter(status=LicenseKeyStatus.DISABLED).count() == 1
    assert await Payment.all().count() == 0

"""Dunning: a failed renewal is charged again on the business's schedule (by default 1, 3 and 7 days after its due
date), with an email at each failure naming the amount, the card and the next try; the subscription stays active
meanwhile and goes on hold only when the last retry fails. Retries are charges of their own under their own keys
(never doubled, by two runs or by a crash), use the card the subscription has then (an expired one skipped), and
Pay now settles the renewal and stops them. Each billing run is given its time."""

import asyncio
import re
from datetime import datetime, timedelta

import httpx
import pytest

from billing.billing_run import run_billing
from billing.errors import BillingError
from billing.payment_methods import use_for_subscription
from billing.processors.protocol import ChargeStatus
from billing.reactivation import reactivate
from core.clock import utcnow
from core.i18n import format_day
from gateway.worker import process_due_emails
from merchants.portal_configurations import portal_features
from models import EmailMessage, Event, Invoice, LicenseKey, Payment, PortalConfiguration, SandboxCharge, Subscription
from models.enums import LicenseKeyStatus, PaymentStatus, SubscriptionStatus
from tests.support.billing import FEATURES, Subscriber, configure, subscriber
from tests.support.customer_graphql import run
from tests.support.factories import business_token
from tests.support.merchant import Merchant, call, merchant
from tests.support.pages import IDEMPOTENCY_KEY, sign_in
from tests.support.portal import Mailbox, csrf_from, make_settings, text_of

PAST_DUE = re.compile(r'name="past_due" value="([^"]+)"')
RETRY_FIELDS = "paymentRetry { attempt nextAttemptAt amountDue { formatted } }"
SUBSCRIPTION = f"query($id: ID!) {{ node(id: $id) {{ ... on Subscription {{ status {RETRY_FIELDS} }} }} }}"
UPDATE_CONFIGURATION = """
mutation($input: UpdatePortalConfigurationInput!) {
  updatePortalConfiguration(input: $input) {
    portalConfiguration { features { paymentRetry { retryAfterDays } } } errors { code field message }
  }
}
"""


async def renewing_shop(context, cards: tuple[str, ...] = ("pm_card_chargeDeclined", "pm_card_visa")) -> Subscriber:
    """An active subscription on the first of `cards`, due tomorrow."""
    due = utcnow().replace(microsecond=0) + timedelta(days=1)
    return await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=cards, next_billing_date=due)


def due_of(shop: Subscriber) -> datetime:
    return shop.subscription.next_billing_date


def days_after_due(shop: Subscriber, days: int) -> datetime:
    """An hour past `days` days after the renewal's due date: when the billing run makes that day's attempt."""
    return due_of(shop) + timedelta(days=days, hours=1)


async def fresh(shop: Subscriber) -> Subscription:
    return await Subscription.get(id=shop.subscription.id)


async def templates() -> list[str]:
    return [message.template for message in await EmailMessage.all().order_by("created_at", "id")]


async def event_types() -> list[str]:
    return [event.type for event in await Event.all().order_by("created_at", "id")]


async def a_retry_that_dies_after_charging(context, shop: Subscriber, monkeypatch) -> None:
    """The first retry's billing run charges the card, then its process dies before the charge is recorded."""

    async def dies(*args, **kwargs):
        raise RuntimeError("the process died")

    monkeypatch.setattr("billing.charges.settle", dies)
    with pytest.raises(RuntimeError):
        await run_billing(context, now=days_after_due(shop, 1))
    monkeypatch.undo()


async def test_a_first_failure_schedules_a_retry_and_emails_amount_card_and_date_without_going_on_hold(
    context, mailbox: Mailbox
) -> None:
    shop = await renewing_shop(context)

    report = await run_billing(context, now=days_after_due(shop, 0))

    assert (report.retry_scheduled, report.put_on_hold, report.renewed) == (1, 0, 0)
    subscription = await fresh(shop)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert (subscription.renewal_attempts, subscription.next_retry_at) == (1, due_of(shop) + timedelta(days=1))
    assert await LicenseKey.filter(status=LicenseKeyStatus.ACTIVE).count() == 1
    assert await templates() == ["payment_failed"]
    assert await event_types() == ["payment.failed"]
    await process_due_emails(make_settings(mailbox))
    (email,) = mailbox.messages
    text = text_of(email)
    next_try = format_day(due_of(shop) + timedelta(days=1), "en")
    assert "¥980" in text and "•••• 0002" in text and f"We will try again on {next_try}" in text
    assert "on hold" not in text
    # Nothing more is due before the retry's day.
    assert (await run_billing(context, now=days_after_due(shop, 0) + timedelta(hours=12))).total == 0


async def test_a_retry_that_succeeds_on_the_card_chosen_meanwhile_renews_and_stops_the_retries(context) -> None:
    shop = await renewing_shop(context)
    await run_billing(context, now=days_after_due(shop, 0))
    await use_for_subscription(shop.subscription, shop.cards["pm_card_visa"], FEATURES)

    report = await run_billing(context, now=days_after_due(shop, 1))

    assert report.renewed == 1
    subscription = await fresh(shop)
    assert (subscription.status, subscription.renewal_attempts, subscription.next_retry_at) == ("active", 0, None)
    assert subscription.previous_billing_date == due_of(shop)
    retry = await Payment.get(status=PaymentStatus.SUCCEEDED)
    assert retry.idempotency_key == f"renewal:{subscription.id}:{due_of(shop).isoformat()}:retry:1"
    assert retry.payment_method_id == shop.cards["pm_card_visa"].id
    assert await Invoice.filter(payment_id=retry.id).exists()
    assert (await run_billing(context, now=days_after_due(shop, 7))).total == 0
    assert await Payment.all().count() == 2


async def test_the_last_failed_retry_puts_the_subscription_on_hold_with_its_email(context) -> None:
    shop = await renewing_shop(context)

    for day, attempts in ((0, 1), (1, 2), (3, 3)):
        await run_billing(context, now=days_after_due(shop, day))
        subscription = await fresh(shop)
        assert (subscription.status, subscription.renewal_attempts) == (SubscriptionStatus.ACTIVE, attempts)
    report = await run_billing(context, now=days_after_due(shop, 7))

    assert report.put_on_hold == 1
    subscription = await fresh(shop)
    assert (subscription.status, subscription.renewal_attempts, subscription.next_retry_at) == ("on_hold", 0, None)
    assert await LicenseKey.filter(status=LicenseKeyStatus.DISABLED).count() == 1
    assert await templates() == ["payment_failed"] * 4 + ["subscription_on_hold"]
    assert await event_types() == ["payment.failed"] * 4 + ["subscription.on_hold"]
    on_hold = await EmailMessage.get(template="subscription_on_hold")
    assert on_hold.context["link"] == f"http://127.0.0.1:8000/login/{shop.business.id}"
    assert (await EmailMessage.filter(template="payment_failed").order_by("-created_at").first()).context[
        "next_attempt_at"
    ] == ""
    assert len(set(await Payment.all().values_list("idempotency_key", flat=True))) == 4


async def test_two_billing_runs_at_once_make_a_retry_once(context) -> None:
    shop = await renewing_shop(context)
    await run_billing(context, now=days_after_due(shop, 0))

    await asyncio.gather(*(run_billing(context, now=days_after_due(shop, 1)) for _ in range(2)))

    assert await Payment.all().count() == 2
    assert await SandboxCharge.all().count() == 2
    assert (await fresh(shop)).renewal_attempts == 2
    assert await templates() == ["payment_failed"] * 2


async def test_a_retry_whose_process_died_mid_charge_is_finished_not_charged_again(context, monkeypatch) -> None:
    shop = await renewing_shop(context)
    await run_billing(context, now=days_after_due(shop, 0))
    await use_for_subscription(shop.subscription, shop.cards["pm_card_visa"], FEATURES)
    await a_retry_that_dies_after_charging(context, shop, monkeypatch)
    assert await SandboxCharge.filter(status=ChargeStatus.SUCCEEDED).count() == 1  # charged, never recorded
    await run_billing(context, now=days_after_due(shop, 1) + timedelta(minutes=5))

    assert await SandboxCharge.filter(status=ChargeStatus.SUCCEEDED).count() == 1
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 1
    assert await Invoice.all().count() == 1
    subscription = await fresh(shop)
    assert (subscription.previous_billing_date, subscription.renewal_attempts) == (due_of(shop), 0)


async def test_the_business_schedule_decides_the_retries(context) -> None:
    shop = await renewing_shop(context)
    await configure(shop, payment_retry={"retry_after_days": [2, 5]})

    await run_billing(context, now=days_after_due(shop, 0))
    assert (await fresh(shop)).next_retry_at == due_of(shop) + timedelta(days=2)
    assert (await run_billing(context, now=days_after_due(shop, 1))).total == 0
    await run_billing(context, now=days_after_due(shop, 2))
    assert (await fresh(shop)).next_retry_at == due_of(shop) + timedelta(days=5)
    report = await run_billing(context, now=days_after_due(shop, 5))

    assert report.put_on_hold == 1
    assert await Payment.all().count() == 3


async def test_no_retries_put_the_subscription_on_hold_at_the_first_failure(context) -> None:
    shop = await renewing_shop(context)
    await configure(shop, payment_retry={"retry_after_days": []})

    report = await run_billing(context, now=days_after_due(shop, 0))

    assert report.put_on_hold == 1
    assert (await fresh(shop)).status == SubscriptionStatus.ON_HOLD
    assert await templates() == ["payment_failed", "subscription_on_hold"]
    assert await event_types() == ["payment.failed", "subscription.on_hold"]


async def test_a_late_billing_run_does_not_make_the_retries_one_after_another(context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_chargeDeclined",))

    await run_billing(context, now=utcnow())

    subscription = await fresh(shop)
    assert subscription.renewal_attempts == 1
    assert subscription.next_retry_at is not None and subscription.next_retry_at > utcnow()


async def test_the_renewal_skips_an_expired_card_for_one_that_can_pay(context) -> None:
    shop = await renewing_shop(context, cards=("pm_card_visa", "pm_card_mastercard"))
    visa, mastercard = shop.cards["pm_card_visa"], shop.cards["pm_card_mastercard"]
    await type(visa).filter(id=visa.id).update(exp_month=3, exp_year=2025)

    report = await run_billing(context, now=days_after_due(shop, 0))

    assert report.renewed == 1
    assert (await Payment.get()).payment_method_id == mastercard.id


async def schedule_of(shop_merchant: Merchant) -> tuple[int, ...]:
    return (await portal_features(shop_merchant.business.id, True)).payment_retry.retry_after_days


async def test_a_business_sets_its_schedule_and_another_cannot(client: httpx.AsyncClient) -> None:
    acme, globex = await merchant("Acme"), await merchant("Globex")
    acme_default = await PortalConfiguration.get(business_id=acme.business.id, livemode=True)
    schedule = {"features": {"paymentRetry": {"retryAfterDays": [2, 4, 9]}}}

    foreign = await call(
        client, globex.live, UPDATE_CONFIGURATION, input={"portalConfigurationId": acme_default.id, **schedule}
    )
    missing = await call(
        client, globex.live, UPDATE_CONFIGURATION, input={"portalConfigurationId": "bpc_missing", **schedule}
    )
    own = await call(
        client, acme.live, UPDATE_CONFIGURATION, input={"portalConfigurationId": acme_default.id, **schedule}
    )

    assert foreign == missing
    assert foreign["updatePortalConfiguration"]["errors"][0]["code"] == "NOT_FOUND"
    assert own["updatePortalConfiguration"]["portalConfiguration"]["features"]["paymentRetry"] == {
        "retryAfterDays": [2, 4, 9]
    }
    assert await schedule_of(acme) == (2, 4, 9)
    assert await schedule_of(globex) == (1, 3, 7)


@pytest.mark.parametrize(
    "days", [[0], [31], [3, 1], [2, 2], [1, 2, 3, 4, 5, 6]], ids=["zero", "past-30", "down", "same", "six"]
)
async def test_a_schedule_outside_the_rules_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, days: list[int]
) -> None:
    acme = await merchant("Acme")
    default = await PortalConfiguration.get(business_id=acme.business.id, livemode=True)

    answer = await call(
        client,
        acme.live,
        UPDATE_CONFIGURATION,
        input={"portalConfigurationId": default.id, "features": {"paymentRetry": {"retryAfterDays": days}}},
    )

    payload = answer["updatePortalConfiguration"]
    assert payload["portalConfiguration"] is None
    assert [error["field"] for error in payload["errors"]] == ["features.paymentRetry.retryAfterDays"]
    assert await schedule_of(acme) == (1, 3, 7)


async def test_pay_now_during_the_retries_settles_the_renewal_and_stops_them(http, context) -> None:
    shop = await renewing_shop(context)
    visa = shop.cards["pm_card_visa"]
    await run_billing(context, now=days_after_due(shop, 0))
    token = await business_token(shop.customer)
    await sign_in(http, token)

    shown = await run(token, SUBSCRIPTION, id=shop.subscription.id)
    page = await http.get(f"/subscriptions/{shop.subscription.id}")
    answer = await http.post(
        f"/subscriptions/{shop.subscription.id}/reactivate",
        data={
            "csrf_token": csrf_from(page),
            "idempotency_key": IDEMPOTENCY_KEY.search(page.text)[1],
            "past_due": PAST_DUE.search(page.text)[1],
            "payment_method_id": visa.id,
        },
    )

    next_try = due_of(shop) + timedelta(days=1)
    assert shown["node"]["status"] == "ACTIVE"
    assert shown["node"]["paymentRetry"] == {
        "attempt": 1,
        "nextAttemptAt": next_try.isoformat(),
        "amountDue": {"formatted": "¥980"},
    }
    assert "Pay now" in page.text and "¥980" in page.text and format_day(next_try, "en") in page.text
    assert answer.status_code == 303, answer.text
    receipt = await http.get(answer.headers["location"])
    assert "Payment confirmed" in receipt.text and "The renewal of Library Personal is paid" in receipt.text
    subscription = await fresh(shop)
    assert (subscription.status, subscription.renewal_attempts, subscription.next_retry_at) == ("active", 0, None)
    assert (subscription.previous_billing_date, subscription.payment_method_id) == (due_of(shop), visa.id)
    assert (await run(token, SUBSCRIPTION, id=shop.subscription.id))["node"]["paymentRetry"] is None
    assert (await run_billing(context, now=days_after_due(shop, 7))).total == 0
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 1
    assert await Invoice.all().count() == 1


async def test_pay_now_in_twenty_tabs_beside_the_billing_runs_retry_charges_once(context) -> None:
    shop = await renewing_shop(context)
    visa = shop.cards["pm_card_visa"]
    await run_billing(context, now=days_after_due(shop, 0))
    await use_for_subscription(shop.subscription, visa, FEATURES)

    async def paying_now(tab: int) -> Payment:
        subscription = await Subscription.get(id=shop.subscription.id)
        return await reactivate(subscription, visa, client_key=f"tab-{tab}", features=FEATURES, context=context)

    results = await asyncio.gather(
        *(run_billing(context, now=days_after_due(shop, 1)) for _ in range(3)),
        *(paying_now(tab) for tab in range(20)),
        return_exceptions=True,
    )

    assert all(not isinstance(result, Exception) or isinstance(result, BillingError) for result in results)
    assert await SandboxCharge.filter(status=ChargeStatus.SUCCEEDED).count() == 1
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 1
    assert await Invoice.all().count() == 1
    subscription = await fresh(shop)
    assert (subscription.previous_billing_date, subscription.renewal_attempts) == (due_of(shop), 0)


async def test_the_home_says_when_a_past_due_renewal_is_tried_again(http, context) -> None:
    shop = await renewing_shop(context)
    await run_billing(context, now=days_after_due(shop, 0))
    await sign_in(http, await business_token(shop.customer))

    home = await http.get("/")

    next_try = format_day(due_of(shop) + timedelta(days=1), "en")
    assert home.status_code == 200
    assert f"Payment failed; next try on {next_try}" in home.text
    # And first, in the banner: what is owed, when the card is tried again, and Pay now.
    banner = home.text.split('id="attention-title"')[1].split("</section>")[0]
    assert f"We will try your card again on {next_try}" in banner
    assert "Pay now" in banner and f"/subscriptions/{shop.subscription.id}#reactivate-title" in banner


async def test_a_past_due_subscription_is_badged_past_due_not_active(http, context) -> None:
    shop = await renewing_shop(context)
    await run_billing(context, now=days_after_due(shop, 0))
    await sign_in(http, await business_token(shop.customer))

    home, page = await http.get("/"), await http.get(f"/subscriptions/{shop.subscription.id}")

    # The home's license key is active, rightly; the subscription's own badges are what is asserted.
    for text in (home.text.split('id="licenses-title"')[0], page.text):
        badges = re.findall(r'<span class="badge[^"]*">([^<]+)</span>', text)
        assert "Past due" in badges and "Active" not in badges


async def test_a_pause_that_starts_while_past_due_owes_nothing_and_ends_the_retries(context) -> None:
    shop = await renewing_shop(context)
    await run_billing(context, now=days_after_due(shop, 0))
    await Subscription.filter(id=shop.subscription.id).update(pause_at_next_billing_date=True, pause_cycles=1)

    report = await run_billing(context, now=days_after_due(shop, 1))

    assert (report.paused, report.retry_scheduled, report.put_on_hold) == (1, 0, 0)
    subscription = await fresh(shop)
    assert (subscription.status, subscription.renewal_attempts, subscription.next_retry_at) == ("paused", 0, None)
    assert await Payment.all().count() == 1


async def test_a_crashed_retry_finished_after_pay_now_is_given_back(context, monkeypatch) -> None:
    shop = await renewing_shop(context)
    visa = shop.cards["pm_card_visa"]
    await run_billing(context, now=days_after_due(shop, 0))
    await use_for_subscription(shop.subscription, visa, FEATURES)
    await a_retry_that_dies_after_charging(context, shop, monkeypatch)
    paid = await reactivate(await fresh(shop), visa, client_key="pay-now", features=FEATURES, context=context)
    await run_billing(context, now=days_after_due(shop, 1) + timedelta(minutes=5))

    crashed = await Payment.get(idempotency_key__endswith=":retry:1")
    assert paid.status == PaymentStatus.SUCCEEDED
    assert (crashed.status, crashed.error_code) == (PaymentStatus.FAILED, "superseded")
    assert await Invoice.all().count() == 1
    subscription = await fresh(shop)
    assert (subscription.previous_billing_date, subscription.renewal_attempts) == (due_of(shop), 0)


async def test_pay_now_says_which_card_declined_and_when(http, context) -> None:
    """Choosing the card that pays now, the customer sees which one just declined, as the payment methods page
    says; the other card is the one chosen."""
    shop = await renewing_shop(context)
    declined, visa = shop.cards["pm_card_chargeDeclined"], shop.cards["pm_card_visa"]
    await run_billing(context, now=days_after_due(shop, 0))
    failure = await Payment.get(payment_method_id=declined.id)
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(f"/subscriptions/{shop.subscription.id}")

    choices = page.text.split('<fieldset class="choices">')[1].split("</fieldset>")[0]
    by_card = {
        card.id: choice for choice in choices.split("</label>") for card in (declined, visa) if card.id in choice
    }
    assert f"Declined on {format_day(failure.created_at, 'en')}" in by_card[declined.id]
    assert "Declined on" not in by_card[visa.id] and "checked" in by_card[visa.id]

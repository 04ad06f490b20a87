"""The demo data: what someone trying the demo sees as ada@example.com, and that seeding again changes nothing."""

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from tortoise import Tortoise

from access.business_additions import businesses_to_add
from access.sessions import SessionPolicy, open_session, viewer_for_token
from access.viewer import Viewer
from billing.billing_run import run_billing
from billing.payment_methods import add_payment_method
from billing.payments import complete_payment
from billing.processors.sandbox import TEST_TOKENS
from billing.reactivation import reactivate
from billing.tax import Amounts
from gateway.demo.seed import BUSINESSES, DEMO_EMAIL, seed_demo
from models import (
    Business,
    Customer,
    Discount,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    Payment,
    PaymentMethod,
    PortalConfiguration,
    Product,
    Refund,
    Subscription,
)
from models.enums import (
    InvoiceStatus,
    LicenseKeyStatus,
    PaymentPurpose,
    PaymentStatus,
    PriceType,
    RefundStatus,
    Scope,
    SubscriptionStatus,
)
from tests.support.billing import FEATURES, billing_context

POLICY = SessionPolicy()


async def unified_viewer(email: str, livemode: bool = True) -> Viewer:
    token, _ = await open_session(scope=Scope.UNIFIED, livemode=livemode, email=email, policy=POLICY)
    viewer = await viewer_for_token(token, POLICY)
    assert viewer is not None
    return viewer


async def row_counts() -> dict[str, int]:
    return {name: await model.all().count() for name, model in Tortoise.apps["portal"].items()}


async def test_seeding_twice_changes_nothing() -> None:
    first = await seed_demo(billing_context())
    counts = await row_counts()
    assert await seed_demo(billing_context()) == first
    assert await row_counts() == counts
    assert counts["Invoice"] > 0


async def test_ada_is_a_customer_of_three_businesses_in_three_currencies(demo: None) -> None:
    viewer = await unified_viewer(DEMO_EMAIL)
    assert sorted(b.name for b in viewer.businesses) == sorted(spec.name for spec in BUSINESSES)
    currencies = {s.currency for s in await viewer.subscriptions()}
    assert currencies == {"USD", "EUR", "JPY"}


async def test_ada_has_a_subscription_in_every_status(demo: None) -> None:
    subscriptions = await (await unified_viewer(DEMO_EMAIL)).subscriptions()
    assert {s.status for s in subscriptions} == set(SubscriptionStatus)
    cancelled = [s for s in subscriptions if s.status == SubscriptionStatus.CANCELLED]
    assert all(s.cancelled_at and not s.cancel_at_next_billing_date for s in cancelled)
    assert any(s.status == SubscriptionStatus.ACTIVE and s.cancel_at_next_billing_date for s in subscriptions)
    trials = [s for s in subscriptions if s.trial_ends_at is not None]
    assert trials and all(s.trial_ends_at > datetime.now(UTC) for s in trials)


async def test_test_mode_shows_only_test_records(demo: None) -> None:
    live = await unified_viewer(DEMO_EMAIL, livemode=True)
    test = await unified_viewer(DEMO_EMAIL, livemode=False)
    assert len(test.businesses) == 1
    live_ids = {s.id for s in await live.subscriptions()}
    test_ids = {s.id for s in await test.subscriptions()}
    assert test_ids and not live_ids & test_ids


async def test_an_unverified_record_stays_out_of_the_unified_portal_until_added(demo: None) -> None:
    viewer = await unified_viewer("linus@example.com")
    assert [b.name for b in viewer.businesses] == ["Atelier Lumière"]
    assert [b.name for b in await businesses_to_add(viewer)] == ["Northwind Analytics"]
    assert await businesses_to_add(await unified_viewer(DEMO_EMAIL)) == []


async def test_ada_has_at_least_thirty_invoices_each_with_lines_adding_up(demo: None) -> None:
    invoices = await (await unified_viewer(DEMO_EMAIL)).invoices()
    assert len(invoices) >= 30
    lines = defaultdict(list)
    for line in await InvoiceLine.filter(invoice_id__in=[i.id for i in invoices]):
        lines[line.invoice_id].append(line)
    for invoice in invoices:
        assert lines[invoice.id], invoice.number
        assert sum(line.amount for line in lines[invoice.id]) == invoice.subtotal
        assert invoice.total in (invoice.subtotal, invoice.subtotal + invoice.tax)
        assert invoice.billing_details["email"] == DEMO_EMAIL


async def test_every_succeeded_payment_has_one_invoice_numbered_without_gaps(demo: None) -> None:
    succeeded = await Payment.filter(status=PaymentStatus.SUCCEEDED).count()
    assert (
        await Invoice.filter(payment__status=PaymentStatus.SUCCEEDED).count()
        == succeeded
        == await Invoice.all().count()
    )
    for sequence in await InvoiceSequence.all().prefetch_related("business"):
        numbers = await Invoice.filter(business_id=sequence.business_id, livemode=sequence.livemode).values_list(
            "number", flat=True
        )
        prefix = sequence.business.invoice_prefix
        assert sorted(numbers) == [f"{prefix}-{n:04d}" for n in range(1, len(numbers) + 1)]
        assert sequence.next_number == len(numbers) + 1


def adds_up(amounts: Amounts, tax_inclusive: bool) -> bool:
    """total = subtotal − discount − credit, plus the tax where it is added on top of the price."""
    net = amounts.subtotal - amounts.discount - amounts.credit_applied
    return amounts.total == (net if tax_inclusive else net + amounts.tax) and 0 <= amounts.tax <= amounts.total


async def test_every_demo_invoice_and_payment_adds_up() -> None:
    """The demo's money is billing's: amounts that add up, invoices that say what their payment charged, lines that
    make the subtotal, and refunds that give back no more than was paid, with their credit notes. Nothing is left
    half-done: a payment succeeded, failed, or (a first charge) waits for the customer's bank."""
    await seed_demo(billing_context())
    inclusive = {spec.id: spec.tax_inclusive for spec in BUSINESSES}
    payments = {payment.id: payment for payment in await Payment.all()}
    assert payments
    for payment in payments.values():
        amounts = Amounts(payment.subtotal, payment.tax, payment.total_amount, payment.discount, payment.credit_applied)
        assert payment.subtotal > 0 and adds_up(amounts, inclusive[payment.business_id]), payment.id
        assert payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED) or (
            payment.status == PaymentStatus.REQUIRES_CUSTOMER_ACTION and payment.purpose != PaymentPurpose.RENEWAL
        ), payment.id
    assert not await Payment.filter(status=PaymentStatus.PROCESSING).exists()
    lines = defaultdict(list)
    for line in await InvoiceLine.all():
        lines[line.invoice_id].append(line)
    refunds = defaultdict(list)
    for refund in await Refund.all():
        refunds[refund.payment_id].append(refund)
    for invoice in await Invoice.all():
        payment = payments[invoice.payment_id]
        assert (invoice.subtotal, invoice.discount, invoice.tax, invoice.credit_applied, invoice.total) == (
            payment.subtotal,
            payment.discount,
            payment.tax,
            payment.credit_applied,
            payment.total_amount,
        ), invoice.number
        amounts = Amounts(invoice.subtotal, invoice.tax, invoice.total, invoice.discount, invoice.credit_applied)
        assert invoice.subtotal > 0 and adds_up(amounts, inclusive[invoice.business_id]), invoice.number
        assert invoice.issued_at == payment.created_at, invoice.number
        assert lines[invoice.id] and all(line.amount == line.quantity * line.unit_amount for line in lines[invoice.id])
        assert sum(line.amount for line in lines[invoice.id]) == invoice.subtotal, invoice.number
        refunded = sum(r.amount for r in refunds[payment.id] if r.status == RefundStatus.SUCCEEDED)
        assert refunded <= payment.total_amount, invoice.number
        statuses = {0: InvoiceStatus.PAID, payment.total_amount: InvoiceStatus.REFUNDED}
        assert invoice.status == statuses.get(refunded, InvoiceStatus.PARTIALLY_REFUNDED), invoice.number
    assert refunds
    for payment_id, made in refunds.items():
        assert payments[payment_id].status == PaymentStatus.SUCCEEDED
        assert all(r.status == RefundStatus.SUCCEEDED and r.credit_note_number and r.invoice_id for r in made)


async def test_saved_cards_keep_only_the_last_four_digits(demo: None) -> None:
    cards = await PaymentMethod.all()
    assert cards
    numbers = [test_card.number for test_card in TEST_TOKENS.values()]
    for card in cards:
        assert re.fullmatch(r"\d{4}", card.last4)
        stored = " ".join(str(value) for value in card.__dict__.values())
        assert not any(number in stored for number in numbers), "a card number is stored"
        # The fingerprint is a keyed hash in hex, whose digits may run long by chance; nothing else may.
        others = " ".join(str(value) for name, value in card.__dict__.items() if name != "fingerprint")
        assert not re.search(r"\d{12,}", others), "a card number is stored"
    defaults = defaultdict(int)
    for card in cards:
        defaults[card.customer_id] += card.is_default
    assert set(defaults.values()) == {1}


async def test_ada_has_license_keys_in_every_status(demo: None) -> None:
    keys = await (await unified_viewer(DEMO_EMAIL)).license_keys().prefetch_related("instances")
    assert {k.status for k in keys} == set(LicenseKeyStatus)
    # Issued by billing.license_issuance, as a purchase's key is: five groups of five, no 0/O or 1/I/L.
    assert all(re.fullmatch(r"[A-HJKMNP-Z2-9]{5}(-[A-HJKMNP-Z2-9]{5}){4}", k.key) for k in keys)
    assert any(len(k.instances) >= 2 for k in keys)


async def test_adas_on_hold_subscription_declines_on_its_card_and_reactivates_with_her_other_one(demo: None) -> None:
    viewer = await unified_viewer(DEMO_EMAIL)
    on_hold = await viewer.subscriptions(statuses=[SubscriptionStatus.ON_HOLD]).get()
    cards = {card.last4: card for card in await viewer.payment_methods([on_hold.business_id])}
    context = billing_context()

    declined = await reactivate(on_hold, cards["0505"], client_key="demo-1", features=FEATURES, context=context)
    paid = await reactivate(on_hold, cards["4242"], client_key="demo-2", features=FEATURES, context=context)

    assert (declined.status, declined.error_code) == (PaymentStatus.FAILED, "card_declined")
    assert paid.status == PaymentStatus.SUCCEEDED
    await on_hold.refresh_from_db()
    assert on_hold.status == SubscriptionStatus.ACTIVE


async def test_adas_past_due_subscription_awaits_its_next_retry_and_she_can_pay_it_now(demo: None) -> None:
    viewer = await unified_viewer(DEMO_EMAIL)
    active = await viewer.subscriptions(statuses=[SubscriptionStatus.ACTIVE]).prefetch_related("product")
    (past_due,) = [subscription for subscription in active if subscription.renewal_attempts]
    cards = {card.last4: card for card in await viewer.payment_methods([past_due.business_id])}
    assert past_due.product.name == "Library Studio"
    assert past_due.next_retry_at is not None and past_due.next_retry_at > datetime.now(UTC)

    paid = await reactivate(past_due, cards["4242"], client_key="demo", features=FEATURES, context=billing_context())

    assert paid.status == PaymentStatus.SUCCEEDED
    await past_due.refresh_from_db()
    assert (past_due.status, past_due.renewal_attempts, past_due.next_retry_at) == ("active", 0, None)


async def test_the_demo_has_nothing_due_for_the_billing_run(demo: None) -> None:
    report = await run_billing(billing_context())

    assert report.total == 0


async def test_adas_pending_plan_waits_for_her_bank_and_starts_when_she_confirms(demo: None) -> None:
    """Ada is buying 'Studio annuel' with a card whose bank asks for 3-D Secure: the subscription is pending, its
    first charge waits for her at the bank's page, and her answer there starts the plan with its invoice."""
    viewer = await unified_viewer(DEMO_EMAIL)
    pending = await viewer.subscriptions(statuses=[SubscriptionStatus.PENDING]).get()
    waiting = await Payment.get(subscription_id=pending.id)
    context = billing_context()
    assert (waiting.status, waiting.purpose) == (
        PaymentStatus.REQUIRES_CUSTOMER_ACTION,
        PaymentPurpose.SUBSCRIPTION_CREATE,
    )
    assert "/sandbox/authenticate/" in waiting.next_action_url

    challenge = await context.processor.challenge(waiting.processor_reference)
    assert challenge is not None
    await context.processor.answer_challenge(challenge, approve=True)
    paid = await complete_payment(waiting, context)

    assert paid.status == PaymentStatus.SUCCEEDED
    await pending.refresh_from_db()
    assert pending.status == SubscriptionStatus.ACTIVE
    invoice = await Invoice.get(payment_id=paid.id)
    assert invoice.subtotal == pending.recurring_pre_tax_amount > 0


async def test_billing_runs_after_seeding_charge_only_what_customers_keep_paying_for(demo: None) -> None:
    """Right after seeding, a period later and a year later, the billing run renews the active subscriptions, ends
    the ones cancelled at the period end, and charges nothing else: not the plan waiting for Ada's bank, not the one
    on hold, paused, cancelled or failed. Nothing it makes is left `processing`."""
    renewing = set(
        await Subscription.filter(status=SubscriptionStatus.ACTIVE, cancel_at_next_billing_date=False).values_list(
            "id", flat=True
        )
    )
    seeded = set(await Payment.all().values_list("id", flat=True))
    waiting = await Payment.get(status=PaymentStatus.REQUIRES_CUSTOMER_ACTION)
    now = datetime.now(UTC)

    for later in (timedelta(minutes=5), timedelta(days=40), timedelta(days=400)):
        await run_billing(billing_context(), now=now + later)
        assert not await Payment.filter(status=PaymentStatus.PROCESSING).exists()

    made = await Payment.exclude(id__in=seeded)
    assert made
    for payment in made:
        assert payment.purpose == PaymentPurpose.RENEWAL and payment.subscription_id in renewing, payment.id
    await waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.REQUIRES_CUSTOMER_ACTION
    assert not await Payment.filter(subscription_id=waiting.subscription_id, status=PaymentStatus.SUCCEEDED).exists()
    assert (await Subscription.get(id=waiting.subscription_id)).status == SubscriptionStatus.PENDING
    cancelled = await Subscription.filter(status=SubscriptionStatus.CANCELLED)
    assert len(cancelled) == 2
    # Ended, not still "cancels on …" with an offer to resume.
    assert not any(s.cancel_at_next_billing_date for s in cancelled)


async def test_the_demo_leaves_nothing_for_the_billing_run_to_charge_an_hour_later(demo: None) -> None:
    """No half-made payment for the billing run to recover into a charge (Ada's pending 'Studio annuel' once was)."""
    seeded = await Payment.all().order_by("id").values_list("id", "status")
    invoices = await Invoice.all().count()

    await run_billing(billing_context(), now=datetime.now(UTC) + timedelta(hours=1))

    assert await Payment.all().order_by("id").values_list("id", "status") == seeded
    assert await Invoice.all().count() == invoices


async def test_each_business_shows_plan_changes_cancel_offers_and_pauses_differently(demo: None) -> None:
    updates, coupons, pauses = set(), set(), set()
    for spec in BUSINESSES:
        business = await Business.get(id=spec.id)
        for livemode in (True, False):
            plans = await Product.filter(business_id=spec.id, livemode=livemode, collection_id__isnull=False).order_by(
                "collection_position"
            )
            assert len(plans) >= 3, spec.name
            assert all(p.price_type == PriceType.RECURRING for p in plans), spec.name
            prices = [p.price for p in plans]
            assert prices == sorted(set(prices)), spec.name
            assert len({p.collection_id for p in plans}) == 1, spec.name

            config = await PortalConfiguration.get(business_id=spec.id, livemode=livemode, is_default=True)
            features = config.features
            assert features["subscription_update"]["enabled"] == business.allow_subscription_updates
            assert features["subscription_cancel"]["mode"] == "at_period_end"
            assert features["subscription_cancel"]["proration_behavior"] == "none"
            if features["subscription_update"]["enabled"]:
                updates.add(spec.name)
            if coupon_id := features["subscription_cancel"]["retention_coupon_id"]:
                coupon = await Discount.get(id=coupon_id)
                assert (coupon.business_id, coupon.livemode) == (spec.id, livemode)
                coupons.add(spec.name)
            if features["subscription_pause"]["enabled"]:
                assert features["subscription_pause"]["max_cycles"] == 3
                pauses.add(spec.name)
            if spec.name == "Northwind Analytics":
                assert features["subscription_update"]["quantity"] == {"minimum": 1, "maximum": 10}
    assert updates == {"Northwind Analytics", "Atelier Lumière"}
    assert coupons == {"Northwind Analytics"}
    assert pauses == {"Atelier Lumière"}


async def test_a_demo_card_added_again_is_the_same_saved_card() -> None:
    """The demo's cards carry the sandbox's own fingerprints, so Ada adding her Visa 4242 again at Northwind gives
    her no second •••• 4242."""
    context = billing_context()
    await seed_demo(context)
    ada = await Customer.get(email=DEMO_EMAIL, business_id="bus_demo_northwind", livemode=True)
    before = await PaymentMethod.filter(customer_id=ada.id, last4="4242", detached_at__isnull=True).count()
    processor = await context.processor_for(ada.business_id, ada.livemode)

    await add_payment_method(ada, "pm_card_visa", set_as_default=False, processor=processor, features=FEATURES)

    assert before == 1
    assert await PaymentMethod.filter(customer_id=ada.id, last4="4242", detached_at__isnull=True).count() == 1

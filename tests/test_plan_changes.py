"""Cancelling, resuming, the retention offer, changing plan and pausing, as a customer does them and as the billing run
then carries them out: what is charged, what the invoice says, which plan the subscription ends up on."""

import asyncio
from datetime import datetime, timedelta

import pytest
from babel.dates import format_interval

from billing import plan_changes
from billing.billing_run import run_billing
from billing.cancellation import accept_retention_offer, cancel_subscription, cancellation_options, resume_subscription
from billing.credits import credit_balance
from billing.errors import BillingError
from billing.pauses import pause_subscription, unpause_subscription
from billing.payments import complete_payment
from billing.periods import add_interval
from billing.plan_changes import cancel_scheduled_change, change_plan, preview_plan_change
from billing.proration import remaining_share, round_half_up
from billing.reactivation import reactivate
from merchants.discounts import delete_discount
from merchants.features import PortalFeatures
from models import (
    Discount,
    EmailMessage,
    Event,
    Invoice,
    InvoiceLine,
    LicenseKey,
    Payment,
    Product,
    SandboxCharge,
    Subscription,
)
from models.enums import (
    DiscountDuration,
    DiscountType,
    Interval,
    LicenseKeyStatus,
    PaymentPurpose,
    PaymentStatus,
    PriceType,
    SubscriptionStatus,
)
from tests.support.plans import NOW, PERIOD_END, PERIOD_START, UPDATES, PlanShop, configured, plan_shop


@pytest.fixture
def frozen(monkeypatch) -> datetime:
    """The plan-change clock stopped at NOW, so prorated amounts are exact."""
    monkeypatch.setattr(plan_changes, "utcnow", lambda: NOW)
    return NOW


async def refused(action) -> BillingError:
    with pytest.raises(BillingError) as caught:
        await action
    return caught.value


async def key_status(subscription: Subscription) -> LicenseKeyStatus:
    return (await LicenseKey.get(subscription_id=subscription.id)).status


async def bill_at_period_end(context, subscription: Subscription):
    """The billing run an hour after the subscription's current period ends."""
    fresh = await Subscription.get(id=subscription.id)
    return await run_billing(context, now=fresh.next_billing_date + timedelta(hours=1))


# --- cancelling -------------------------------------------------------------------------------------------------


async def test_a_cancellation_at_period_end_can_be_undone_and_the_subscription_then_renews(context) -> None:
    ps = await plan_shop(context)

    cancelled = await cancel_subscription(
        ps.subscription,
        reason="too_expensive",
        comment="  Too pricey for me.  ",
        immediately=False,
        features=UPDATES,
        context=context,
    )

    assert cancelled.status == SubscriptionStatus.ACTIVE and cancelled.cancel_at_next_billing_date
    assert (cancelled.cancellation_feedback, cancelled.cancellation_comment) == ("too_expensive", "Too pricey for me.")
    confirmation = await EmailMessage.get(template="cancellation_confirmed")
    assert confirmation.to_email == "ada@example.com"

    resumed = await resume_subscription(ps.subscription)

    assert not resumed.cancel_at_next_billing_date
    report = await bill_at_period_end(context, ps.subscription)
    assert (report.cancelled, report.renewed) == (0, 1)
    after = await ps.fresh()
    assert after.status == SubscriptionStatus.ACTIVE and after.previous_billing_date == PERIOD_END
    assert (await Payment.get()).total_amount == 2000
    assert await key_status(after) == LicenseKeyStatus.ACTIVE


async def test_without_resuming_the_billing_run_ends_it_at_the_period_end_without_a_charge(context) -> None:
    ps = await plan_shop(context)
    await cancel_subscription(
        ps.subscription, reason=None, comment=None, immediately=False, features=UPDATES, context=context
    )

    assert (await run_billing(context, now=PERIOD_END - timedelta(minutes=1))).total == 0
    assert (await ps.fresh()).status == SubscriptionStatus.ACTIVE  # paid up to the period end
    report = await bill_at_period_end(context, ps.subscription)

    assert (report.cancelled, report.renewed) == (1, 0)
    after = await ps.fresh()
    assert (after.status, after.cancelled_at) == (SubscriptionStatus.CANCELLED, PERIOD_END)
    assert await Payment.all().count() == 0
    assert await key_status(after) == LicenseKeyStatus.DISABLED
    # Too late to change one's mind once the period is over.
    assert (await refused(resume_subscription(after, now=PERIOD_END + timedelta(hours=2)))).code == "NOT_ALLOWED"


async def test_an_immediate_cancellation_ends_now_and_disables_the_license_keys(context) -> None:
    ps = await plan_shop(context)
    features = configured(subscription_cancel={"mode": "immediately"})
    assert await key_status(ps.subscription) == LicenseKeyStatus.ACTIVE

    cancelled = await cancel_subscription(
        ps.subscription, reason="unused", comment="", immediately=True, features=features, context=context, now=NOW
    )

    assert (cancelled.status, cancelled.cancelled_at) == (SubscriptionStatus.CANCELLED, NOW)
    assert not cancelled.cancel_at_next_billing_date
    assert await key_status(cancelled) == LicenseKeyStatus.DISABLED
    assert await Event.filter(type="subscription.cancelled").count() == 1
    assert (await bill_at_period_end(context, cancelled)).total == 0
    assert await Payment.all().count() == 0


CANCEL_WITH_CREDIT = configured(subscription_cancel={"mode": "immediately", "proration_behavior": "credit"})


async def test_an_immediate_cancellation_configured_to_credit_gives_back_the_unused_time(context) -> None:
    ps = await plan_shop(context)
    await Invoice.create(
        business=ps.shop.business,
        livemode=True,
        customer=ps.shop.customer,
        subscription=ps.subscription,
        number="SF-0001",
        status="paid",
        currency="JPY",
        subtotal=2000,
        total=2000,
        issued_at=PERIOD_START,
    )

    await cancel_subscription(
        ps.subscription,
        reason=None,
        comment=None,
        immediately=True,
        features=CANCEL_WITH_CREDIT,
        context=context,
        now=NOW,
    )

    assert await credit_balance(ps.shop.customer.id, "JPY") == 1333  # two thirds of the ¥2,000 paid


@pytest.mark.parametrize("paid_for_the_period", ["nothing: a trial", "1600: a 20 % discount"])
async def test_an_immediate_cancellation_never_credits_more_than_was_paid(context, paid_for_the_period: str) -> None:
    if paid_for_the_period.startswith("nothing"):
        trial_end = NOW + timedelta(days=20)
        ps = await plan_shop(context, period=(PERIOD_START, trial_end), trial_ends_at=trial_end)
        paid = 0
    else:
        ps = await plan_shop(context, period=(PERIOD_START - timedelta(days=30), PERIOD_START))
        _, features = await retention_coupon(ps)
        await accept_retention_offer(ps.subscription, features)
        await run_billing(context, now=PERIOD_START + timedelta(hours=1))
        paid = (await Payment.get()).total_amount
        assert paid == 1600

    await cancel_subscription(
        await ps.fresh(),
        reason=None,
        comment=None,
        immediately=True,
        features=CANCEL_WITH_CREDIT,
        context=context,
        now=NOW,
    )

    period = await ps.fresh()
    unused = remaining_share(period.previous_billing_date, period.next_billing_date, NOW)
    assert await credit_balance(ps.shop.customer.id, "JPY") == round_half_up(paid * unused)


async def test_an_immediate_cancellation_is_refused_when_only_the_period_end_is_offered(context) -> None:
    ps = await plan_shop(context)
    features = configured(subscription_cancel={"mode": "at_period_end"})

    error = await refused(
        cancel_subscription(
            ps.subscription, reason=None, comment=None, immediately=True, features=features, context=context
        )
    )

    assert (error.code, error.field) == ("NOT_ALLOWED", "immediately")
    after = await ps.fresh()
    assert after.status == SubscriptionStatus.ACTIVE and not after.cancel_at_next_billing_date
    assert await key_status(after) == LicenseKeyStatus.ACTIVE


async def test_an_on_hold_subscription_may_always_be_cancelled_now_but_not_at_a_period_end(context) -> None:
    ps = await plan_shop(context, status=SubscriptionStatus.ON_HOLD)
    features = configured(subscription_cancel={"mode": "at_period_end"})

    options = await cancellation_options(ps.subscription, ps.shop.business, features)
    at_period_end = await refused(
        cancel_subscription(
            ps.subscription, reason=None, comment=None, immediately=False, features=features, context=context
        )
    )
    cancelled = await cancel_subscription(
        ps.subscription, reason=None, comment=None, immediately=True, features=features, context=context
    )

    assert (options.immediately, options.at_period_end) == (True, False)
    assert at_period_end.code == "NOT_ALLOWED"
    assert cancelled.status == SubscriptionStatus.CANCELLED


async def test_the_reason_must_be_one_of_those_offered(context) -> None:
    ps = await plan_shop(context)
    features = configured(
        subscription_cancel={"cancellation_reason": {"enabled": True, "options": ["too_expensive", "unused"]}}
    )

    for reason in ("missing_features", "because", "TOO_EXPENSIVE"):
        error = await refused(
            cancel_subscription(
                ps.subscription, reason=reason, comment=None, immediately=False, features=features, context=context
            )
        )
        assert (error.code, error.field) == ("INVALID_INPUT", "reason"), reason
    assert not (await ps.fresh()).cancel_at_next_billing_date
    assert await EmailMessage.all().count() == 0

    cancelled = await cancel_subscription(
        ps.subscription, reason="unused", comment=None, immediately=False, features=features, context=context
    )
    assert cancelled.cancellation_feedback == "unused"


async def test_a_comment_may_hold_500_characters_and_no_more(context) -> None:
    ps = await plan_shop(context)

    error = await refused(
        cancel_subscription(
            ps.subscription, reason="other", comment="x" * 501, immediately=False, features=UPDATES, context=context
        )
    )
    assert (error.code, error.field) == ("INVALID_INPUT", "comment")
    assert not (await ps.fresh()).cancel_at_next_billing_date

    cancelled = await cancel_subscription(
        ps.subscription, reason="other", comment="é" * 500, immediately=False, features=UPDATES, context=context
    )
    assert cancelled.cancellation_comment == "é" * 500
    assert (await ps.fresh()).cancellation_comment == "é" * 500


async def test_cancelling_is_refused_when_the_business_does_not_allow_it(context) -> None:
    ps = await plan_shop(context)
    ps.shop.business.allow_subscription_cancellation = False
    await ps.shop.business.save()
    features = configured(subscription_cancel={"mode": "immediately"})

    for immediately in (False, True):
        error = await refused(
            cancel_subscription(
                ps.subscription, reason=None, comment=None, immediately=immediately, features=features, context=context
            )
        )
        assert error.code == "NOT_ALLOWED"
    assert not (await cancellation_options(ps.subscription, ps.shop.business, features)).allowed
    after = await ps.fresh()
    assert after.status == SubscriptionStatus.ACTIVE and not after.cancel_at_next_billing_date
    assert await key_status(after) == LicenseKeyStatus.ACTIVE


# --- the retention offer ----------------------------------------------------------------------------------------


async def retention_coupon(ps: PlanShop) -> tuple[Discount, PortalFeatures]:
    coupon = await Discount.create(
        business=ps.shop.business,
        livemode=True,
        code="STAY20",
        name="20 % off for 3 months",
        type=DiscountType.PERCENTAGE,
        amount=2000,
        duration=DiscountDuration.REPEATING,
        duration_cycles=3,
    )
    return coupon, configured(subscription_cancel={"retention_coupon_id": coupon.id})


async def test_the_retention_offer_is_made_once_and_takes_20_percent_off_the_next_three_renewals(context) -> None:
    ps = await plan_shop(context)
    coupon, features = await retention_coupon(ps)

    offer = (await cancellation_options(ps.subscription, ps.shop.business, features)).retention_offer
    assert offer is not None and offer.id == coupon.id

    kept = await accept_retention_offer(ps.subscription, features)

    assert (kept.discount_id, kept.discount_cycles_remaining) == (coupon.id, 3)
    assert kept.status == SubscriptionStatus.ACTIVE and not kept.cancel_at_next_billing_date
    assert (await cancellation_options(kept, ps.shop.business, features)).retention_offer is None
    assert (await refused(accept_retention_offer(kept, features))).code == "NOT_ALLOWED"

    totals, remaining = [], []
    for _ in range(4):
        assert (await bill_at_period_end(context, ps.subscription)).renewed == 1
        invoice = await Invoice.all().order_by("-issued_at").first()
        totals.append((invoice.subtotal, invoice.discount, invoice.total))
        remaining.append((await ps.fresh()).discount_cycles_remaining)

    assert totals == [(2000, 400, 1600)] * 3 + [(2000, 0, 2000)]
    assert remaining[:3] == [2, 1, 0]
    assert (await ps.fresh()).discount_id is None
    assert [p.total_amount for p in await Payment.all().order_by("created_at")] == [1600, 1600, 1600, 2000]


async def test_a_retention_offer_passed_over_by_cancelling_is_not_made_again(context) -> None:
    ps = await plan_shop(context)
    _, features = await retention_coupon(ps)

    await cancel_subscription(
        ps.subscription, reason="too_expensive", comment=None, immediately=False, features=features, context=context
    )
    resumed = await resume_subscription(ps.subscription)

    assert (await cancellation_options(resumed, ps.shop.business, features)).retention_offer is None
    assert (await refused(accept_retention_offer(resumed, features))).code == "NOT_ALLOWED"
    await bill_at_period_end(context, resumed)
    assert (await Payment.get()).total_amount == 2000


async def test_a_deleted_retention_coupon_is_kept_by_who_took_it_and_offered_to_no_one_else(context) -> None:
    ps = await plan_shop(context)
    coupon, features = await retention_coupon(ps)
    await accept_retention_offer(ps.subscription, features)

    await delete_discount(coupon)
    assert (await bill_at_period_end(context, ps.subscription)).renewed == 1
    # As a subscription that never saw the offer would ask.
    await Subscription.filter(id=ps.subscription.id).update(discount_id=None, retention_offer_at=None)

    assert (await Invoice.all().order_by("-issued_at").first()).discount == 400
    assert (await cancellation_options(await ps.fresh(), ps.shop.business, features)).retention_offer is None
    assert (await refused(accept_retention_offer(await ps.fresh(), features))).code == "NOT_ALLOWED"


async def test_a_reactivation_paid_with_the_retention_discount_uses_up_one_of_its_cycles(context) -> None:
    ps = await plan_shop(context, status=SubscriptionStatus.ON_HOLD)
    _, features = await retention_coupon(ps)
    await accept_retention_offer(ps.subscription, features)

    payment = await reactivate(
        await ps.fresh(), ps.shop.cards["pm_card_visa"], client_key="back", features=features, context=context
    )

    assert (payment.status, payment.discount, payment.total_amount) == (PaymentStatus.SUCCEEDED, 400, 1600)
    assert (await ps.fresh()).discount_cycles_remaining == 2


# --- changing plan ----------------------------------------------------------------------------------------------


async def test_an_upgrade_is_charged_the_prorated_difference_with_an_invoice_and_an_email(context, frozen) -> None:
    ps = await plan_shop(context)

    change = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="up-1", method=None, features=UPDATES, context=context
    )

    # Two thirds of the period remain: ¥1,333 back for Team, ¥2,667 for Studio, ¥121 of the ¥1,334 is tax.
    payment = change.payment
    assert (payment.status, payment.purpose) == (PaymentStatus.SUCCEEDED, PaymentPurpose.PLAN_CHANGE)
    assert (payment.subtotal, payment.tax, payment.total_amount) == (1334, 121, 1334)
    assert payment.payment_method_id == ps.shop.cards["pm_card_visa"].id
    assert [charge.amount for charge in await SandboxCharge.all()] == [1334]
    invoice = await Invoice.get(payment_id=payment.id)
    assert (invoice.number, invoice.subtotal, invoice.tax, invoice.total) == ("SF-0001", 1334, 121, 1334)
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position")
    days = format_interval(NOW.date(), PERIOD_END.date(), "yMMMd", locale="en")
    assert [(line.description, line.amount) for line in lines] == [
        (f"Unused time on Library Team ({days})", -1333),
        (f"Library Studio ({days})", 2667),
    ]
    after = await ps.fresh()
    assert (after.product_id, after.recurring_pre_tax_amount) == (ps.studio.id, 4000)
    assert (after.previous_billing_date, after.next_billing_date) == (PERIOD_START, PERIOD_END)  # same cycle
    email = await EmailMessage.get(template="plan_changed")
    assert email.context["product_name"] == "Library Studio"
    assert (email.context["amount"], email.context["invoice_number"]) == (1334, "SF-0001")
    assert await Event.filter(type="subscription.plan_changed").count() == 1
    # The next renewal charges the new price in full.
    await bill_at_period_end(context, after)
    assert (await Payment.filter(purpose=PaymentPurpose.RENEWAL).get()).total_amount == 4000


async def test_a_declined_upgrade_changes_nothing(context, frozen) -> None:
    ps = await plan_shop(context, cards=("pm_card_chargeDeclined",))

    change = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="up-1", method=None, features=UPDATES, context=context
    )

    assert (change.payment.status, change.payment.error_code) == (PaymentStatus.FAILED, "card_declined")
    after = await ps.fresh()
    assert (after.product_id, after.recurring_pre_tax_amount, after.status) == (
        ps.team.id,
        2000,
        SubscriptionStatus.ACTIVE,
    )
    assert await Invoice.all().count() == 0
    assert not await EmailMessage.filter(template="plan_changed").exists()
    assert await key_status(after) == LicenseKeyStatus.ACTIVE


async def test_a_declined_upgrade_applied_anyway_puts_the_subscription_on_hold(context, frozen) -> None:
    ps = await plan_shop(context, cards=("pm_card_chargeDeclined",))
    features = configured(subscription_update={"enabled": True, "payment_failure_behavior": "apply_change"})

    change = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="up-1", method=None, features=features, context=context
    )

    assert change.payment.status == PaymentStatus.FAILED
    after = await ps.fresh()
    assert (after.product_id, after.recurring_pre_tax_amount) == (ps.studio.id, 4000)
    assert after.status == SubscriptionStatus.ON_HOLD
    assert change.subscription.status == SubscriptionStatus.ON_HOLD
    assert await Invoice.all().count() == 0


async def test_a_subscription_put_on_hold_by_a_declined_upgrade_is_treated_like_any_on_hold_one(
    context, frozen
) -> None:
    ps = await plan_shop(context, cards=("pm_card_chargeDeclined",))
    features = configured(subscription_update={"enabled": True, "payment_failure_behavior": "apply_change"})

    await change_plan(
        ps.subscription, ps.studio.id, None, client_key="up-1", method=None, features=features, context=context
    )

    assert (await ps.fresh()).status == SubscriptionStatus.ON_HOLD
    assert await Event.filter(type="subscription.on_hold").count() == 1
    assert await EmailMessage.filter(template="subscription_on_hold").count() == 1
    assert await key_status(ps.subscription) == LicenseKeyStatus.DISABLED


async def test_a_downgrade_waits_for_the_period_end_and_the_renewal_charges_the_lower_price(context, frozen) -> None:
    ps = await plan_shop(context)

    preview = await preview_plan_change(ps.subscription, ps.personal.id, None, UPDATES)
    change = await change_plan(
        ps.subscription, ps.personal.id, None, client_key="down-1", method=None, features=UPDATES, context=context
    )

    assert preview.scheduled and preview.effective_at == PERIOD_END and preview.charge.total == 0
    assert change.payment is None
    scheduled = await ps.fresh()
    assert scheduled.product_id == ps.team.id and scheduled.recurring_pre_tax_amount == 2000
    assert scheduled.scheduled_change == {
        "product_id": ps.personal.id,
        "quantity": 1,
        "effective_at": PERIOD_END.isoformat(),
    }
    assert await Payment.all().count() == 0 and await SandboxCharge.all().count() == 0
    assert await credit_balance(ps.shop.customer.id, "JPY") == 0

    report = await bill_at_period_end(context, ps.subscription)

    assert (report.plans_changed, report.renewed) == (1, 1)
    after = await ps.fresh()
    assert (after.product_id, after.recurring_pre_tax_amount, after.scheduled_change) == (ps.personal.id, 1000, None)
    renewal = await Payment.get()
    assert (renewal.purpose, renewal.total_amount) == (PaymentPurpose.RENEWAL, 1000)
    line = await InvoiceLine.get(invoice__payment_id=renewal.id)
    assert line.description.startswith("Library Personal (") and line.amount == 1000


async def test_cancelling_a_scheduled_change_keeps_the_current_plan(context, frozen) -> None:
    ps = await plan_shop(context)
    await change_plan(
        ps.subscription, ps.personal.id, None, client_key="down-1", method=None, features=UPDATES, context=context
    )

    kept = await cancel_scheduled_change(await ps.fresh())

    assert kept.scheduled_change is None
    assert (await refused(cancel_scheduled_change(kept))).code == "NOT_ALLOWED"
    report = await bill_at_period_end(context, ps.subscription)
    assert (report.plans_changed, report.renewed) == (0, 1)
    after = await ps.fresh()
    assert (after.product_id, after.recurring_pre_tax_amount) == (ps.team.id, 2000)
    assert (await Payment.get()).total_amount == 2000


async def test_a_downgrade_now_leaves_a_credit_that_the_next_charge_uses_first(context, frozen) -> None:
    ps = await plan_shop(context)
    features = configured(subscription_update={"enabled": True, "downgrade_at_period_end": False})

    preview = await preview_plan_change(ps.subscription, ps.personal.id, None, features)
    change = await change_plan(
        ps.subscription, ps.personal.id, None, client_key="down-1", method=None, features=features, context=context
    )

    # ¥1,333 back for two thirds of Team, ¥667 for two thirds of Personal: ¥666 left on the balance.
    assert (preview.scheduled, preview.charge.total, preview.leftover_credit) == (False, 0, 666)
    assert change.payment is None
    after = await ps.fresh()
    assert (after.product_id, after.recurring_pre_tax_amount, after.scheduled_change) == (ps.personal.id, 1000, None)
    assert await credit_balance(ps.shop.customer.id, "JPY") == 666
    assert await Payment.all().count() == 0
    assert (await EmailMessage.get(template="plan_changed")).context["amount"] == 0

    await bill_at_period_end(context, ps.subscription)

    renewal = await Payment.get()
    assert (renewal.subtotal, renewal.credit_applied, renewal.total_amount) == (1000, 666, 334)
    invoice = await Invoice.get(payment_id=renewal.id)
    assert (invoice.credit_applied, invoice.total) == (666, 334)
    assert [charge.amount for charge in await SandboxCharge.all()] == [334]
    assert await credit_balance(ps.shop.customer.id, "JPY") == 0


async def test_a_quantity_outside_the_configured_limits_is_refused_with_the_limits(context, frozen) -> None:
    ps = await plan_shop(context)
    features = configured(subscription_update={"enabled": True, "quantity": {"minimum": 2, "maximum": 10}})

    for quantity in (0, 1, 11):
        for action in (
            preview_plan_change(ps.subscription, ps.studio.id, quantity, features),
            change_plan(
                ps.subscription,
                ps.studio.id,
                quantity,
                client_key=f"q-{quantity}",
                method=None,
                features=features,
                context=context,
            ),
        ):
            error = await refused(action)
            assert (error.code, error.field, error.params) == (
                "INVALID_INPUT",
                "quantity",
                {"minimum": 2, "maximum": 10},
            )
    assert await Payment.all().count() == 0
    assert (await ps.fresh()).product_id == ps.team.id

    change = await change_plan(
        ps.subscription, ps.team.id, 10, client_key="q-10", method=None, features=features, context=context
    )
    assert change.payment.status == PaymentStatus.SUCCEEDED
    assert ((await ps.fresh()).quantity, (await ps.fresh()).recurring_pre_tax_amount) == (10, 20000)


@pytest.mark.parametrize("business_allows, configuration_allows", [(False, True), (True, False)])
async def test_plan_changes_are_refused_unless_the_business_and_its_configuration_allow_them(
    context, frozen, business_allows: bool, configuration_allows: bool
) -> None:
    ps = await plan_shop(context, updates=business_allows)
    features = configured(subscription_update={"enabled": configuration_allows})

    for action in (
        preview_plan_change(ps.subscription, ps.studio.id, None, features),
        change_plan(
            ps.subscription, ps.studio.id, None, client_key="k", method=None, features=features, context=context
        ),
    ):
        assert (await refused(action)).code == "NOT_ALLOWED"
    assert await Payment.all().count() == 0
    assert (await ps.fresh()).product_id == ps.team.id


async def test_the_same_idempotency_key_twice_answers_the_first_payment(context, frozen) -> None:
    ps = await plan_shop(context)

    first = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="double-click", method=None, features=UPDATES, context=context
    )
    again = await change_plan(
        await ps.fresh(), ps.studio.id, None, client_key="double-click", method=None, features=UPDATES, context=context
    )

    assert again.payment.id == first.payment.id and again.payment.status == PaymentStatus.SUCCEEDED
    assert await SandboxCharge.all().count() == 1
    assert await Payment.all().count() == 1 and await Invoice.all().count() == 1
    assert await EmailMessage.filter(template="plan_changed").count() == 1
    assert (await ps.fresh()).product_id == ps.studio.id


async def test_a_key_reused_for_another_plan_is_refused(context, frozen) -> None:
    ps = await plan_shop(context)
    await change_plan(
        ps.subscription, ps.studio.id, 2, client_key="reused", method=None, features=UPDATES, context=context
    )

    error = await refused(
        change_plan(
            await ps.fresh(), ps.studio.id, 3, client_key="reused", method=None, features=UPDATES, context=context
        )
    )

    assert error.code == "IDEMPOTENCY_KEY_REUSED"


async def test_a_retried_downgrade_now_answers_the_first_result(context, frozen) -> None:
    ps = await plan_shop(context)
    features = configured(subscription_update={"enabled": True, "downgrade_at_period_end": False})
    await change_plan(
        ps.subscription, ps.personal.id, None, client_key="down", method=None, features=features, context=context
    )

    again = await change_plan(
        await ps.fresh(), ps.personal.id, None, client_key="down", method=None, features=features, context=context
    )

    assert again.payment is None and again.subscription.product_id == ps.personal.id
    assert await credit_balance(ps.shop.customer.id, "JPY") == 666


async def authenticate(context, payment: Payment, approve: bool = True) -> Payment:
    """The customer answers the bank's 3-D Secure challenge, then returns to the portal."""
    challenge = await context.processor.challenge(payment.next_action_url.rsplit("/", 1)[1])
    await context.processor.answer_challenge(challenge, approve=approve)
    return await complete_payment(payment, context)


AUTHENTICATING = ("pm_card_authenticationRequired", "pm_card_visa")


@pytest.mark.parametrize("approve", [True, False])
async def test_an_upgrade_needing_3ds_changes_the_plan_only_once_the_customer_approves(
    context, frozen, approve: bool
) -> None:
    ps = await plan_shop(context, cards=AUTHENTICATING)

    change = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="up", method=None, features=UPDATES, context=context
    )

    assert change.payment.status == PaymentStatus.REQUIRES_CUSTOMER_ACTION
    assert (await ps.fresh()).product_id == ps.team.id and await Invoice.all().count() == 0
    done = await authenticate(context, change.payment, approve)
    after = await ps.fresh()
    if approve:
        assert (done.status, done.total_amount) == (PaymentStatus.SUCCEEDED, 1334)
        assert (after.product_id, after.recurring_pre_tax_amount) == (ps.studio.id, 4000)
        assert (await Invoice.get(payment_id=done.id)).total == 1334
    else:
        assert done.status == PaymentStatus.FAILED
        assert (after.product_id, after.recurring_pre_tax_amount) == (ps.team.id, 2000)
        assert await Invoice.all().count() == 0


async def test_an_upgrade_completed_after_3ds_is_invoiced_with_its_proration_lines(context, frozen) -> None:
    ps = await plan_shop(context, cards=AUTHENTICATING)
    preview = await preview_plan_change(ps.subscription, ps.studio.id, None, UPDATES)
    change = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="up", method=None, features=UPDATES, context=context
    )

    done = await authenticate(context, change.payment)

    lines = await InvoiceLine.filter(invoice__payment_id=done.id).order_by("position")
    assert [(line.description, line.amount) for line in lines] == [(p.description, p.amount) for p in preview.lines]


@pytest.mark.parametrize("mode", ["full_immediately", "prorated_immediately"])
async def test_an_upgrade_that_restarts_the_cycle_restarts_it_after_3ds_too(context, frozen, mode: str) -> None:
    ps = await plan_shop(context, cards=("pm_card_authenticationRequired",))
    yearly = await Product.create(
        business=ps.shop.business,
        livemode=True,
        name="Library Studio yearly",
        price_type=PriceType.RECURRING,
        price=60000,
        currency="JPY",
        tax_inclusive=True,
        payment_frequency_interval=Interval.YEAR,
        payment_frequency_count=1,
        collection_id=ps.team.collection_id,
        collection_position=4,
    )
    features = configured(subscription_update={"enabled": True, "proration_billing_mode": mode})
    preview = await preview_plan_change(ps.subscription, yearly.id, None, features)
    assert preview.proration.restarts_cycle
    change = await change_plan(
        ps.subscription, yearly.id, None, client_key="up", method=None, features=features, context=context
    )

    done = await authenticate(context, change.payment)

    assert (done.status, done.total_amount) == (PaymentStatus.SUCCEEDED, preview.charge.total)
    after = await ps.fresh()
    assert after.payment_frequency_interval == Interval.YEAR
    assert after.next_billing_date == add_interval(after.previous_billing_date, Interval.YEAR, 1)
    assert after.previous_billing_date >= NOW
    # The year is paid for: nothing is due at the old monthly period end.
    assert (await run_billing(context, now=PERIOD_END + timedelta(hours=1))).total == 0


async def test_approving_a_stale_3ds_upgrade_after_paying_it_with_another_card_does_not_charge_twice(
    context, frozen
) -> None:
    ps = await plan_shop(context, cards=AUTHENTICATING)
    pending = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="tab-1", method=None, features=UPDATES, context=context
    )
    paid = await change_plan(
        await ps.fresh(),
        ps.studio.id,
        None,
        client_key="tab-2",
        method=ps.shop.cards["pm_card_visa"],
        features=UPDATES,
        context=context,
    )
    assert paid.payment.status == PaymentStatus.SUCCEEDED and (await ps.fresh()).product_id == ps.studio.id

    await authenticate(context, pending.payment)

    kept = [charge.amount - charge.refunded_amount for charge in await SandboxCharge.filter(status="succeeded")]
    assert sorted(kept) == [0, paid.payment.total_amount]  # the late approval was refunded in full
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 1
    assert (await Payment.get(id=pending.payment.id)).error_code == "superseded"
    assert await Event.filter(type="subscription.plan_changed").count() == 1


@pytest.mark.parametrize(
    "targets",
    [(("studio", 1), ("studio", 1)), (("studio", 1), ("studio", 2)), (("studio", 2), ("personal", 1))],
    ids=["same-plan", "two-upgrades", "upgrade-and-downgrade"],
)
async def test_two_concurrent_changes_charge_once_per_applied_change_and_lose_no_update(context, targets) -> None:
    ps = await plan_shop(context)
    features = configured(subscription_update={"enabled": True, "downgrade_at_period_end": False})

    async def attempt(index: int, name: str, quantity: int):
        subscription = await Subscription.get(id=ps.subscription.id)
        product = getattr(ps, name)
        return await change_plan(
            subscription,
            product.id,
            quantity,
            client_key=f"tab-{index}",
            method=None,
            features=features,
            context=context,
        )

    results = await asyncio.gather(*(attempt(i, *target) for i, target in enumerate(targets)), return_exceptions=True)

    for result in results:
        if isinstance(result, BaseException):
            assert isinstance(result, BillingError), result
            assert result.code in ("NOT_ALLOWED", "CHANGE_IN_PROGRESS"), result.code
    after = await ps.fresh()
    final = (after.product_id, after.quantity)
    assert final in {(getattr(ps, name).id, quantity) for name, quantity in targets}
    product = await Product.get(id=after.product_id)
    assert after.recurring_pre_tax_amount == product.price * after.quantity
    assert after.change_claimed_until is None
    succeeded = await Payment.filter(purpose=PaymentPurpose.PLAN_CHANGE, status=PaymentStatus.SUCCEEDED)
    assert await SandboxCharge.all().count() == len(succeeded)
    assert sum(charge.amount for charge in await SandboxCharge.all()) == sum(p.total_amount for p in succeeded)
    assert await Payment.exclude(status=PaymentStatus.SUCCEEDED).count() == 0
    applied = await Event.filter(type="subscription.plan_changed").count()
    assert 1 <= applied <= len(targets)
    if targets[0] == targets[1]:
        assert applied == 1 and len(succeeded) == 1  # a double submit pays once


async def test_changing_a_trialing_subscription_charges_nothing_and_keeps_the_trial_end(context, frozen) -> None:
    trial_end = NOW + timedelta(days=5)
    ps = await plan_shop(context, period=(NOW - timedelta(days=9), trial_end), trial_ends_at=trial_end)

    preview = await preview_plan_change(ps.subscription, ps.studio.id, None, UPDATES)
    change = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="trial-up", method=None, features=UPDATES, context=context
    )

    assert preview.trial_continues and preview.charge.total == 0
    assert change.payment is None
    after = await ps.fresh()
    assert (after.product_id, after.recurring_pre_tax_amount) == (ps.studio.id, 4000)
    assert (after.next_billing_date, after.trial_ends_at) == (trial_end, trial_end)
    assert await Payment.all().count() == 0 and await SandboxCharge.all().count() == 0
    assert await credit_balance(ps.shop.customer.id, "JPY") == 0

    await bill_at_period_end(context, after)
    assert (await Payment.get()).total_amount == 4000  # the new price starts when the trial ends


# --- pausing ----------------------------------------------------------------------------------------------------

PAUSES = configured(subscription_pause={"enabled": True, "max_cycles": 3})


async def test_a_pause_for_two_cycles_starts_at_the_period_end_charges_nothing_then_renews(context) -> None:
    ps = await plan_shop(context, features=PAUSES)

    asked = await pause_subscription(ps.subscription, 2, PAUSES)
    assert asked.status == SubscriptionStatus.ACTIVE and asked.pause_at_next_billing_date

    report = await bill_at_period_end(context, ps.subscription)

    assert (report.paused, report.renewed) == (1, 0)
    paused = await ps.fresh()
    until = add_interval(PERIOD_END, Interval.MONTH, 2)
    assert (paused.status, paused.paused_until) == (SubscriptionStatus.PAUSED, until)
    assert await Payment.all().count() == 0
    assert await key_status(paused) == LicenseKeyStatus.ACTIVE  # keep_license_keys_active by default
    assert (await run_billing(context, now=until - timedelta(hours=1))).total == 0
    assert await Payment.all().count() == 0

    report = await run_billing(context, now=until + timedelta(hours=1))

    assert (report.unpaused, report.renewed) == (1, 1)
    resumed = await ps.fresh()
    assert resumed.status == SubscriptionStatus.ACTIVE and resumed.paused_until is None
    assert (resumed.previous_billing_date, resumed.next_billing_date) == (until, add_interval(until, Interval.MONTH, 1))
    renewal = await Payment.get()
    assert renewal.total_amount == 2000
    assert renewal.idempotency_key == f"renewal:{resumed.id}:{until.isoformat()}"


async def test_unpausing_before_the_pause_starts_calls_it_off(context) -> None:
    ps = await plan_shop(context, features=PAUSES)
    await pause_subscription(ps.subscription, 2, PAUSES)

    unpaused = await unpause_subscription(await ps.fresh())

    assert not unpaused.pause_at_next_billing_date and unpaused.pause_cycles is None
    report = await bill_at_period_end(context, ps.subscription)
    assert (report.paused, report.renewed) == (0, 1)
    assert (await ps.fresh()).status == SubscriptionStatus.ACTIVE
    assert (await Payment.get()).total_amount == 2000


async def test_pausing_is_refused_when_not_offered_or_for_too_long(context) -> None:
    ps = await plan_shop(context)

    off = await refused(pause_subscription(ps.subscription, 1, UPDATES))
    too_long = await refused(pause_subscription(ps.subscription, 4, PAUSES))

    assert off.code == "NOT_ALLOWED"
    assert (too_long.code, too_long.params) == ("INVALID_INPUT", {"maximum": 3})
    assert not (await ps.fresh()).pause_at_next_billing_date
    report = await bill_at_period_end(context, ps.subscription)
    assert (report.paused, report.renewed) == (0, 1)

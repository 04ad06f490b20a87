"""Properties of proration (billing/proration.py) over realistic inputs, and the promise a customer relies on: the
price a plan-change preview shows is the price the change then charges."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from billing import plan_changes
from billing.billing_run import run_billing
from billing.credits import GRANT_DOWNGRADE, credit_balance, grant_credit
from billing.periods import add_interval
from billing.plan_changes import change_plan, preview_plan_change
from billing.proration import Proration, ProrationMode, prorate, remaining_share, round_half_up
from models import Invoice, InvoiceLine, Payment, Product, SandboxCharge
from models.enums import Interval, PaymentPurpose, PaymentStatus, PriceType
from tests.support.plans import NOW, PERIOD_END, PERIOD_START, configured, plan_shop

MICROSECOND = timedelta(microseconds=1)
AMOUNTS = st.integers(min_value=0, max_value=10_000_000)
MODES = st.sampled_from(ProrationMode)
# Cycle-keeping modes: the change happens inside the current period.
IN_PERIOD = (ProrationMode.PRORATED_IMMEDIATELY, ProrationMode.DIFFERENCE_IMMEDIATELY, ProrationMode.DO_NOT_BILL)
# Pure arithmetic: many examples are cheap; no deadline, so a busy machine does not make them flaky.
PROPERTIES = settings(max_examples=300, deadline=None)
STARTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC))


@st.composite
def periods(draw) -> tuple[datetime, datetime]:
    """A billing period of 1 day to 1 year: a calendar interval (month ends clamp) or any whole number of seconds."""
    start = draw(STARTS)
    calendar = st.sampled_from(
        [(Interval.DAY, n) for n in (1, 7, 30, 365)]
        + [(Interval.WEEK, n) for n in (1, 2, 4, 52)]
        + [(Interval.MONTH, n) for n in (1, 3, 6, 12)]
        + [(Interval.YEAR, 1)]
    ).map(lambda interval: add_interval(start, *interval))
    seconds = st.integers(min_value=86_400, max_value=366 * 86_400).map(lambda s: start + timedelta(seconds=s))
    return start, draw(calendar | seconds)


@st.composite
def instants(draw) -> tuple[datetime, datetime, datetime]:
    """A period and an instant anywhere in it, its start and end included (to the microsecond)."""
    start, end = draw(periods())
    offset = draw(st.integers(min_value=0, max_value=(end - start) // MICROSECOND))
    return start, end, start + offset * MICROSECOND


def exact_share(start: datetime, end: datetime, at: datetime) -> Fraction:
    """The share of the period still to come, to the microsecond."""
    return Fraction((end - at) // MICROSECOND, (end - start) // MICROSECOND)


def change(mode: ProrationMode, current: int, new: int, when: tuple, same_interval: bool = True) -> Proration:
    start, end, at = when
    return prorate(
        mode,
        current_amount=current,
        new_amount=new,
        period_start=start,
        period_end=end,
        at=at,
        same_interval=same_interval,
    )


@PROPERTIES
@given(mode=MODES, current=AMOUNTS, new=AMOUNTS, when=instants(), same_interval=st.booleans())
def test_amounts_are_whole_never_negative_and_never_more_than_the_prices(
    mode: ProrationMode, current: int, new: int, when: tuple, same_interval: bool
) -> None:
    proration = change(mode, current, new, when, same_interval)

    # Whole minor units (a yen amount has no fraction to lose), and never a negative charge or credit.
    for amount in (proration.credit, proration.charge, proration.net, proration.due_now, proration.leftover_credit):
        assert type(amount) is int
    assert proration.credit >= 0 and proration.charge >= 0
    assert proration.due_now >= 0 and proration.leftover_credit >= 0
    assert proration.due_now - proration.leftover_credit == proration.net
    assert not (proration.due_now and proration.leftover_credit)
    # Nobody is charged more than the full new price, nor credited more than the full current one.
    assert proration.charge <= new and proration.credit <= current


@PROPERTIES
@given(current=AMOUNTS, new=AMOUNTS, when=instants())
@example(current=0, new=10_000_000, when=(PERIOD_START, PERIOD_END, PERIOD_START))
@example(current=1, new=3, when=(PERIOD_START, PERIOD_START + timedelta(days=2), PERIOD_START + timedelta(days=1)))
def test_a_prorated_charge_is_the_new_price_for_the_remaining_time_rounded_half_up(
    current: int, new: int, when: tuple
) -> None:
    start, end, at = when
    share = remaining_share(start, end, at)

    proration = change(ProrationMode.PRORATED_IMMEDIATELY, current, new, when)

    assert proration.charge == round_half_up(new * share)
    assert proration.credit == round_half_up(current * share)
    assert not proration.restarts_cycle
    # Counting whole seconds never charges more than the time left to the microsecond, and credits it but for the
    # second under way.
    exact = exact_share(start, end, at)
    one_second = Fraction(1, (end - start) // timedelta(seconds=1))
    assert proration.charge <= round_half_up(new * exact)
    assert round_half_up(current * max(exact - one_second, 0)) <= proration.credit <= round_half_up(current * exact)


@PROPERTIES
@given(mode=st.sampled_from(IN_PERIOD), low=AMOUNTS, high=AMOUNTS, when=instants())
def test_changing_and_changing_back_at_the_same_instant_costs_nothing(
    mode: ProrationMode, low: int, high: int, when: tuple
) -> None:
    there = change(mode, low, high, when)
    back = change(mode, high, low, when)

    assert there.net + back.net == 0
    assert there.due_now == back.leftover_credit and there.leftover_credit == back.due_now


@PROPERTIES
@given(
    mode=st.sampled_from([m for m in ProrationMode if m != ProrationMode.DO_NOT_BILL]),
    current=AMOUNTS,
    new=AMOUNTS,
    when=instants(),
    new_period=periods(),
)
def test_a_round_trip_to_another_interval_costs_the_time_already_used(
    mode: ProrationMode, current: int, new: int, when: tuple, new_period: tuple
) -> None:
    """Monthly to yearly and straight back: the unused month is credited, the year charged; going back credits the
    whole (unused) year and charges a month from today. What is left is the part of the first month that was used."""
    start, end, at = when
    there = change(mode, current, new, when, same_interval=False)
    restarted_end = at + (new_period[1] - new_period[0])
    back = change(mode, new, current, (at, restarted_end, at), same_interval=False)

    assert there.restarts_cycle and back.restarts_cycle
    assert (there.charge, back.credit) == (new, new)
    used = current * (1 - remaining_share(start, end, at))
    assert abs(there.net + back.net - used) <= Fraction(1, 2)


@PROPERTIES
@given(current=AMOUNTS, new=AMOUNTS, when=instants(), same_interval=st.booleans())
def test_full_immediately_charges_the_new_price_and_restarts_while_do_not_bill_charges_nothing(
    current: int, new: int, when: tuple, same_interval: bool
) -> None:
    full = change(ProrationMode.FULL_IMMEDIATELY, current, new, when, same_interval)
    later = change(ProrationMode.DO_NOT_BILL, current, new, when, same_interval)

    assert (full.charge, full.restarts_cycle) == (new, True)
    if same_interval:
        assert full.credit == 0
    assert (later.credit, later.charge, later.restarts_cycle) == (0, 0, False)


@PROPERTIES
@given(current=AMOUNTS, new=AMOUNTS, when=instants())
def test_difference_immediately_charges_or_credits_the_whole_difference(current: int, new: int, when: tuple) -> None:
    proration = change(ProrationMode.DIFFERENCE_IMMEDIATELY, current, new, when)

    assert proration.net == new - current
    assert not proration.restarts_cycle


@PROPERTIES
@given(st.integers(min_value=0, max_value=10**12))
def test_exact_halves_round_up(whole: int) -> None:
    assert round_half_up(Fraction(whole) + Fraction(1, 2)) == whole + 1
    assert round_half_up(Fraction(whole)) == whole
    assert round_half_up(Fraction(2 * whole + 1, 2) - Fraction(1, 10**9)) == whole


@PROPERTIES
@given(st.fractions(min_value=0, max_value=10**9))
def test_rounding_is_to_the_nearest_whole_amount(value: Fraction) -> None:
    rounded = round_half_up(value)

    assert type(rounded) is int
    assert Fraction(-1, 2) < rounded - value <= Fraction(1, 2)


@PROPERTIES
@given(period=periods(), before=st.integers(min_value=0, max_value=10**6))
def test_the_remaining_share_is_whole_at_the_start_and_nothing_at_the_end(period: tuple, before: int) -> None:
    start, end = period
    early = timedelta(seconds=before)

    assert remaining_share(start, end, start) == 1
    assert remaining_share(start, end, end) == 0
    assert remaining_share(start, end, start - early) == 1
    assert remaining_share(start, end, end + early) == 0


@PROPERTIES
@given(when=instants(), later=st.integers(min_value=0, max_value=10**13))
def test_the_remaining_share_shrinks_as_time_passes(when: tuple, later: int) -> None:
    start, end, at = when
    share = remaining_share(start, end, at)

    assert 0 <= share <= 1
    assert remaining_share(start, end, at + later * MICROSECOND) <= share


# --- the preview is the charge ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, tax_inclusive, credit, target",
    [
        ("prorated_immediately", True, 0, "studio"),
        ("prorated_immediately", False, 0, "studio"),
        ("prorated_immediately", True, 500, "studio"),
        ("prorated_immediately", False, 5000, "studio"),
        ("full_immediately", True, 0, "studio"),
        ("full_immediately", False, 0, "yearly"),
        ("difference_immediately", False, 300, "studio"),
        ("prorated_immediately", True, 0, "yearly"),
    ],
)
async def test_the_change_charges_exactly_what_the_preview_showed_at_the_same_instant(
    context, monkeypatch, mode: str, tax_inclusive: bool, credit: int, target: str
) -> None:
    monkeypatch.setattr(plan_changes, "utcnow", lambda: NOW)
    ps = await plan_shop(context)
    await Product.filter(business_id=ps.shop.business.id).update(tax_inclusive=tax_inclusive)
    yearly = await Product.create(
        business=ps.shop.business,
        livemode=True,
        name="Library Studio yearly",
        price_type=PriceType.RECURRING,
        price=30000,
        currency="JPY",
        tax_inclusive=tax_inclusive,
        payment_frequency_interval=Interval.YEAR,
        payment_frequency_count=1,
        collection_id=ps.team.collection_id,
        collection_position=4,
    )
    product = {"studio": ps.studio, "yearly": yearly}[target]
    await grant_credit(ps.shop.customer, "JPY", credit, GRANT_DOWNGRADE, None)
    features = configured(subscription_update={"enabled": True, "proration_billing_mode": mode})

    preview = await preview_plan_change(ps.subscription, product.id, None, features, at=NOW)
    done = await change_plan(
        ps.subscription, product.id, None, client_key="pay", method=None, features=features, context=context
    )

    payment = done.payment
    assert payment.status == PaymentStatus.SUCCEEDED and preview.charge.subtotal > 0
    assert (payment.total_amount, payment.tax, payment.subtotal, payment.credit_applied) == (
        preview.charge.total,
        preview.charge.tax,
        preview.charge.subtotal,
        preview.charge.credit_applied,
    )
    # The credit balance pays first, up to the whole (taxed) amount; the card pays the rest, if any.
    assert preview.charge.credit_applied == min(credit, preview.charge.total + preview.charge.credit_applied)
    charged = [charge.amount for charge in await SandboxCharge.all()]
    assert charged == ([preview.charge.total] if preview.charge.total else [])
    invoice = await Invoice.get(payment_id=payment.id)
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position")
    assert [(line.description, line.amount) for line in lines] == [(p.description, p.amount) for p in preview.lines]
    assert sum(line.amount for line in lines) == invoice.subtotal == preview.proration.net
    assert await credit_balance(ps.shop.customer.id, "JPY") == credit - preview.charge.credit_applied
    after = done.subscription
    assert (after.product_id, after.recurring_pre_tax_amount) == (product.id, product.price)
    if preview.proration.restarts_cycle:
        interval = product.payment_frequency_interval
        assert after.previous_billing_date >= NOW
        assert after.next_billing_date == add_interval(after.previous_billing_date, interval, 1)
    else:
        assert (after.previous_billing_date, after.next_billing_date) == (PERIOD_START, PERIOD_END)


async def test_upgrading_and_straight_back_leaves_the_customer_where_they_started(context, monkeypatch) -> None:
    monkeypatch.setattr(plan_changes, "utcnow", lambda: NOW)
    ps = await plan_shop(context)
    features = configured(subscription_update={"enabled": True, "downgrade_at_period_end": False})

    up = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="up", method=None, features=features, context=context
    )
    back = await change_plan(
        up.subscription, ps.team.id, None, client_key="back", method=None, features=features, context=context
    )

    assert up.payment.total_amount == 1334 and back.payment is None
    assert (back.subscription.product_id, back.subscription.recurring_pre_tax_amount) == (ps.team.id, 2000)
    assert (back.subscription.previous_billing_date, back.subscription.next_billing_date) == (PERIOD_START, PERIOD_END)
    # What the upgrade cost is all on the credit balance, and the next renewal spends it.
    assert await credit_balance(ps.shop.customer.id, "JPY") == 1334
    await run_billing(context, now=PERIOD_END + timedelta(hours=1))
    renewal = await Payment.get(purpose=PaymentPurpose.RENEWAL)
    assert (renewal.credit_applied, renewal.total_amount) == (1334, 666)

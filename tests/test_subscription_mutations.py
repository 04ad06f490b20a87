"""Cancelling, resuming, changing plan and pausing through the customer GraphQL API, as a client sees it; and what
keeping a subscription going would charge, and when, and when a pause ends."""

from datetime import UTC, datetime

import pytest

from billing.periods import add_interval
from models import EmailMessage, Invoice, LicenseKey, Payment, PortalConfiguration, SandboxCharge, Subscription
from models.enums import Interval, LicenseKeyStatus, SubscriptionStatus
from tests.support.billing import subscriber, with_plans
from tests.support.customer_graphql import run
from tests.support.factories import business_token

SUBSCRIPTION_FIELDS = """
  id status cancelAtNextBillingDate cancelledAt cancellationFeedback cancellationComment quantity
  product { id name } amount { amount }
  discount { name percentOff remainingCycles }
  scheduledChange { product { id } quantity effectiveAt }
"""
OPTIONS = """query Options($id: ID!) { node(id: $id) { ... on Subscription {
  cancellationOptions { allowed immediately atPeriodEnd reasons retentionOffer { description percentOff cycles } }
  planChangeOptions { product { id } amount { amount } direction }
  pauseOptions { allowed maxCycles }
} } }"""
PREVIEW = """query Preview($id: ID!, $product: ID!, $quantity: Int) { node(id: $id) { ... on Subscription {
  planChangePreview(productId: $product, quantity: $quantity) {
    immediateCharge { amount formatted } credit { amount } newRecurringAmount { amount } effectiveAt
    prorationMode direction scheduled trialContinues lines { description amount { amount } }
  }
} } }"""
QUANTITY = """query Quantity($id: ID!) { node(id: $id) { ... on Subscription {
  planChangeQuantity { minimum maximum }
} } }"""
CANCEL = f"""mutation Cancel($id: ID!, $reason: CancellationReason, $comment: String, $now: Boolean) {{
  cancelSubscription(input: {{subscriptionId: $id, reason: $reason, comment: $comment, immediately: $now}}) {{
    subscription {{ {SUBSCRIPTION_FIELDS} }} errors {{ code field message }} }} }}"""


def on_subscription(mutation: str) -> str:
    """A mutation whose input is just the subscription, answering it."""
    return (
        f"mutation Act($id: ID!) {{ {mutation}(input: {{subscriptionId: $id}}) {{ "
        f"subscription {{ {SUBSCRIPTION_FIELDS} }} errors {{ code }} }} }}"
    )


RESUME = on_subscription("resumeSubscription")
ACCEPT = on_subscription("acceptRetentionOffer")
KEEP = on_subscription("cancelScheduledChange")
PAUSE = """mutation Pause($id: ID!, $cycles: Int) {
  pauseSubscription(input: {subscriptionId: $id, cycles: $cycles}) {
    subscription { id pauseAtNextBillingDate pauseCycles } errors { code field message } } }"""
UNPAUSE = """mutation Unpause($id: ID!) {
  unpauseSubscription(input: {subscriptionId: $id}) { subscription { id pauseAtNextBillingDate } errors { code } } }"""
CHANGE = f"""mutation Change($id: ID!, $product: ID!, $quantity: Int, $key: String!) {{
  changePlan(input: {{subscriptionId: $id, productId: $product, quantity: $quantity, idempotencyKey: $key}}) {{
    subscription {{ {SUBSCRIPTION_FIELDS} }} payment {{ id status errorCode total {{ amount }} }}
    invoice {{ id number }} errors {{ code field message }} }} }}"""


async def active_shop(context, **fields):
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",), **fields)
    await Subscription.filter(id=shop.subscription.id).update(
        next_billing_date=shop.subscription.previous_billing_date.replace(year=2031)
    )
    await shop.subscription.refresh_from_db()
    return shop, await business_token(shop.customer)


async def test_cancel_at_the_period_end_then_resume(context) -> None:
    shop, session = await active_shop(context)

    options = (await run(session, OPTIONS, id=shop.subscription.id))["node"]["cancellationOptions"]
    cancelled = (await run(session, CANCEL, id=shop.subscription.id, reason="TOO_EXPENSIVE", comment="Pricey"))[
        "cancelSubscription"
    ]
    resumed = (await run(session, RESUME, id=shop.subscription.id))["resumeSubscription"]

    assert options["allowed"] and options["atPeriodEnd"] and not options["immediately"]
    assert "TOO_EXPENSIVE" in options["reasons"] and options["retentionOffer"] is None
    assert cancelled["errors"] == []
    assert cancelled["subscription"]["cancelAtNextBillingDate"] is True
    assert (cancelled["subscription"]["cancellationFeedback"], cancelled["subscription"]["cancellationComment"]) == (
        "TOO_EXPENSIVE",
        "Pricey",
    )
    assert await EmailMessage.filter(template="cancellation_confirmed").count() == 1
    assert resumed == {"subscription": resumed["subscription"], "errors": []}
    assert resumed["subscription"]["cancelAtNextBillingDate"] is False


async def test_an_immediate_cancellation_where_allowed_disables_the_keys(context) -> None:
    shop, session = await active_shop(context)
    refused = (await run(session, CANCEL, id=shop.subscription.id, now=True))["cancelSubscription"]
    features = {"subscription_cancel": {"mode": "immediately"}}
    await PortalConfiguration.create(business=shop.business, livemode=True, is_default=True, features=features)

    done = (await run(session, CANCEL, id=shop.subscription.id, now=True))["cancelSubscription"]

    assert [error["code"] for error in refused["errors"]] == ["NOT_ALLOWED"]
    assert done["subscription"]["status"] == "CANCELLED" and done["subscription"]["cancelledAt"]
    assert await LicenseKey.filter(status=LicenseKeyStatus.DISABLED).count() == 1


async def test_cancelling_is_refused_where_the_business_switched_it_off(context) -> None:
    shop, session = await active_shop(context)
    shop.business.allow_subscription_cancellation = False
    await shop.business.save()

    options = (await run(session, OPTIONS, id=shop.subscription.id))["node"]["cancellationOptions"]
    answer = (await run(session, CANCEL, id=shop.subscription.id))["cancelSubscription"]

    assert options["allowed"] is False
    assert [error["code"] for error in answer["errors"]] == ["NOT_ALLOWED"]
    assert "Contact them" in answer["errors"][0]["message"]


async def test_the_quantities_a_plan_change_may_ask_for_follow_the_configuration(context) -> None:
    shop, session = await active_shop(context, quantity=2)
    _, current, bigger = await with_plans(shop)
    before = (await run(session, QUANTITY, id=shop.subscription.id))["node"]["planChangeQuantity"]
    features = {"subscription_update": {"default_allowed_updates": ["price"]}}
    await PortalConfiguration.create(business=shop.business, livemode=True, is_default=True, features=features)

    after = (await run(session, QUANTITY, id=shop.subscription.id))["node"]["planChangeQuantity"]
    more = (await run(session, CHANGE, id=shop.subscription.id, product=current.id, quantity=3, key="q"))["changePlan"]
    moved = (await run(session, CHANGE, id=shop.subscription.id, product=bigger.id, key="p"))["changePlan"]

    assert (before, after) == ({"minimum": 1, "maximum": 100}, None)
    assert [(error["code"], error["field"]) for error in more["errors"]] == [("NOT_ALLOWED", "quantity")]
    assert moved["errors"] == [] and moved["subscription"]["quantity"] == 2
    assert moved["subscription"]["product"]["id"] == bigger.id


async def test_an_upgrade_charges_what_the_preview_showed(context) -> None:
    shop, session = await active_shop(context)
    _, _, bigger = await with_plans(shop)

    options = (await run(session, OPTIONS, id=shop.subscription.id))["node"]["planChangeOptions"]
    preview = (await run(session, PREVIEW, id=shop.subscription.id, product=bigger.id))["node"]["planChangePreview"]
    changed = (await run(session, CHANGE, id=shop.subscription.id, product=bigger.id, key="up-1"))["changePlan"]

    assert [option["direction"] for option in options] == ["DOWNGRADE", "CURRENT", "UPGRADE"]
    assert preview["direction"] == "UPGRADE" and preview["scheduled"] is False
    assert preview["immediateCharge"]["amount"] > 0
    assert changed["errors"] == []
    assert changed["subscription"]["product"]["id"] == bigger.id
    assert changed["payment"]["status"] == "SUCCEEDED"
    # The preview and the charge were taken a moment apart: a few yen of remaining time at most.
    assert abs(changed["payment"]["total"]["amount"] - preview["immediateCharge"]["amount"]) <= 1
    assert changed["invoice"]["number"] == "SF-0001"
    assert await EmailMessage.filter(template="plan_changed").count() == 1


async def test_a_downgrade_is_scheduled_and_can_be_called_off(context) -> None:
    shop, session = await active_shop(context)
    smaller, _, _ = await with_plans(shop)

    changed = (await run(session, CHANGE, id=shop.subscription.id, product=smaller.id, key="down-1"))["changePlan"]
    kept = (await run(session, KEEP, id=shop.subscription.id))["cancelScheduledChange"]

    scheduled = changed["subscription"]["scheduledChange"]
    assert changed["payment"] is None and changed["errors"] == []
    assert scheduled["product"]["id"] == smaller.id and scheduled["quantity"] == 1
    assert changed["subscription"]["product"]["id"] == shop.subscription.product_id
    assert kept["subscription"]["scheduledChange"] is None
    assert await Payment.all().count() == 0


async def test_a_quantity_outside_the_limits_is_refused(context) -> None:
    shop, session = await active_shop(context)
    await with_plans(shop)

    answer = (
        await run(
            session, CHANGE, id=shop.subscription.id, product=shop.subscription.product_id, quantity=101, key="seats"
        )
    )["changePlan"]

    assert answer["errors"] == [
        {"code": "INVALID_INPUT", "field": "quantity", "message": "Choose a quantity between 1 and 100."}
    ]


async def test_plan_changes_are_not_offered_where_the_business_switched_them_off(context) -> None:
    shop, session = await active_shop(context)
    _, _, bigger = await with_plans(shop)
    shop.business.allow_subscription_updates = False
    await shop.business.save()

    options = (await run(session, OPTIONS, id=shop.subscription.id))["node"]["planChangeOptions"]
    preview = (await run(session, PREVIEW, id=shop.subscription.id, product=bigger.id))["node"]["planChangePreview"]
    answer = (await run(session, CHANGE, id=shop.subscription.id, product=bigger.id, key="x"))["changePlan"]

    assert options == [] and preview is None
    assert [error["code"] for error in answer["errors"]] == ["NOT_ALLOWED"]
    assert await SandboxCharge.all().count() == 0


async def test_pausing_is_refused_unless_the_business_allows_it(context) -> None:
    shop, session = await active_shop(context)

    refused = (await run(session, PAUSE, id=shop.subscription.id, cycles=2))["pauseSubscription"]

    assert [error["code"] for error in refused["errors"]] == ["NOT_ALLOWED"]


COMING = """query Coming($id: ID!, $cycles: Int) { node(id: $id) { ... on Subscription {
  nextBillingDate pauseEndsAt upcomingCharge { amount { amount currency } at }
  pauseOptions { allowed startsAt resumesAt(cycles: $cycles) }
} } }"""


async def test_what_going_on_charges_and_when_a_pause_ends(context) -> None:
    shop, session = await active_shop(context)
    await PortalConfiguration.create(
        business=shop.business,
        livemode=True,
        is_default=True,
        features={"subscription_pause": {"enabled": True, "max_cycles": 3}},
    )
    sid, period_end = shop.subscription.id, shop.subscription.next_billing_date
    two_periods_later = add_interval(period_end, Interval.MONTH, 2)

    offered = {cycles: (await run(session, COMING, id=sid, cycles=cycles))["node"] for cycles in (2, None, 4)}
    await run(session, PAUSE, id=sid, cycles=2)
    scheduled = (await run(session, COMING, id=sid))["node"]
    await Subscription.filter(id=sid).update(
        status=SubscriptionStatus.PAUSED, pause_at_next_billing_date=False, paused_until=two_periods_later
    )
    paused = (await run(session, COMING, id=sid))["node"]
    await Subscription.filter(id=sid).update(status=SubscriptionStatus.CANCELLED)
    cancelled = (await run(session, COMING, id=sid))["node"]

    def moment(value: str) -> datetime:
        return datetime.fromisoformat(value)

    # ¥980 a month, its tax included, at the period end; a pause asked now starts then.
    assert offered[2]["upcomingCharge"]["amount"] == {"amount": 980, "currency": "JPY"}
    assert moment(offered[2]["upcomingCharge"]["at"]) == period_end == moment(offered[2]["pauseOptions"]["startsAt"])
    assert moment(offered[2]["pauseOptions"]["resumesAt"]) == two_periods_later
    # Until resumed, or a number of periods the business does not allow: no end.
    assert offered[None]["pauseOptions"]["resumesAt"] is None and offered[4]["pauseOptions"]["resumesAt"] is None
    assert offered[2]["pauseEndsAt"] is None
    assert moment(scheduled["pauseEndsAt"]) == two_periods_later
    assert moment(scheduled["upcomingCharge"]["at"]) == period_end
    # Unpausing bills from today.
    assert moment(paused["pauseEndsAt"]) == two_periods_later
    assert moment(paused["upcomingCharge"]["at"]).date() == datetime.now(UTC).date()
    assert cancelled["upcomingCharge"] is None


async def foreign_and_missing(context) -> tuple[str, str]:
    mine = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",))
    theirs = await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",), email="eve@x.test")
    await with_plans(theirs)
    return await business_token(mine.customer), theirs.subscription.id


MUTATIONS = {
    "cancel": (CANCEL, {}),
    "resume": (RESUME, {}),
    "accept": (ACCEPT, {}),
    "keep": (KEEP, {}),
    "pause": (PAUSE, {"cycles": 1}),
    "unpause": (UNPAUSE, {}),
    "change": (CHANGE, {"product": "pdt_missing", "key": "f"}),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
async def test_foreign_ids_answer_exactly_like_missing_ones(context, mutation: str) -> None:
    session, foreign = await foreign_and_missing(context)
    query, extra = MUTATIONS[mutation]
    before = await Subscription.all().values_list("id", "status", "cancel_at_next_billing_date", "product_id")

    answers = [
        (await run(session, query, id=subscription_id, **extra))
        for subscription_id in (foreign, "sub_missing", "sub_" + "x" * 60, "")
    ]

    assert all(answer == answers[0] for answer in answers)
    (payload,) = answers[0].values()
    assert [error["code"] for error in payload["errors"]] == ["NOT_FOUND"]
    after = await Subscription.all().values_list("id", "status", "cancel_at_next_billing_date", "product_id")
    assert sorted(after) == sorted(before)
    assert await Invoice.all().count() == 0


async def test_an_immediate_downgrade_leaves_credit_the_customer_can_see(context) -> None:
    shop, session = await active_shop(context)
    smaller, _, _ = await with_plans(shop)
    features = {"subscription_update": {"downgrade_at_period_end": False}}
    await PortalConfiguration.create(business=shop.business, livemode=True, is_default=True, features=features)

    changed = (await run(session, CHANGE, id=shop.subscription.id, product=smaller.id, key="down-now"))["changePlan"]
    balance = await run(session, "{ viewer { businesses { creditBalance { amount currency formatted } } } }")

    assert changed["errors"] == [] and changed["subscription"]["product"]["id"] == smaller.id
    (credit,) = balance["viewer"]["businesses"][0]["creditBalance"]
    assert credit["currency"] == "JPY" and credit["amount"] > 0

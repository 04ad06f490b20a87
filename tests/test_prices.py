"""Every recurring price says what it is: its amount with its interval and whether tax is added or included, on both
homes, the subscription page, the plan list (where plans compare by their monthly equivalent), the retention offer
and the checkout; a trial says when it ends, what it costs then and which card pays, warning when that card just
failed; the plan-change email says what will be charged."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.plan_changes import change_plan, monthly_equivalent
from core.prices import PriceTax, RecurringPrice
from models import Business, EmailMessage, Payment, Product, ProductCollection, Subscription
from models.enums import Interval, PaymentPurpose, PaymentStatus, PriceType, SubscriptionStatus
from tests.support.billing import Subscriber, retention_offer, subscriber
from tests.support.customer_graphql import run
from tests.support.factories import business, business_token, customer_with_history, unified_token
from tests.support.pages import sign_in
from tests.support.plans import UPDATES, plan_shop
from tests.support.portal import csrf_from

PERIOD_END = datetime(2031, 3, 5, 12, tzinfo=UTC)


async def priced_shop(
    context,
    *,
    currency: str = "USD",
    price: int = 4900,
    tax_inclusive: bool = False,
    tax_rate_bp: int = 1000,
    interval: Interval = Interval.MONTH,
    count: int = 1,
    cards: tuple[str, ...] = ("pm_card_visa",),
    **fields,
) -> Subscriber:
    """Ada's active subscription at a business charging `tax_rate_bp` of tax, its product priced as said."""
    shop = await subscriber(
        context,
        status=SubscriptionStatus.ACTIVE,
        cards=cards,
        currency=currency,
        price=price,
        next_billing_date=PERIOD_END,
        **fields,
    )
    await Business.filter(id=shop.business.id).update(tax_rate_bp=tax_rate_bp)
    cycle = {"tax_inclusive": tax_inclusive, "payment_frequency_interval": interval, "payment_frequency_count": count}
    await Product.filter(id=shop.subscription.product_id).update(**cycle)
    await Subscription.filter(id=shop.subscription.id).update(**cycle)
    await shop.subscription.refresh_from_db()
    return shop


@pytest.mark.parametrize(
    ("price", "locale", "expected"),
    [
        (RecurringPrice(4900, "USD", 1, Interval.MONTH, PriceTax.ADDED), "en", "$49.00 / month + tax"),
        (RecurringPrice(24000, "EUR", 1, Interval.YEAR, PriceTax.INCLUDED), "en", "€240.00 / year incl. tax"),
        (RecurringPrice(3000, "USD", 3, Interval.MONTH, PriceTax.NONE), "en", "$30.00 every 3 months"),
        (RecurringPrice(500, "USD", 1, Interval.WEEK, PriceTax.NONE), "en", "$5.00 / week"),
        (RecurringPrice(2980, "JPY", 2, Interval.YEAR, PriceTax.ADDED), "en", "¥2,980 every 2 years + tax"),
        (RecurringPrice(3000, "USD", 3, Interval.MONTH, PriceTax.NONE), "de", "30,00\xa0$ alle 3 Monate"),
        (RecurringPrice(2980, "JPY", 3, Interval.MONTH, PriceTax.NONE), "ja", "3 か月ごとに ￥2,980"),
    ],
)
def test_a_price_says_its_interval_and_its_tax_in_the_readers_language(price, locale, expected) -> None:
    assert price.text(locale) == expected
    assert RecurringPrice.from_context(price.as_context()) == price


@pytest.mark.parametrize(
    ("tax_inclusive", "english", "german"),
    [(False, "$49.00 / month + tax", "49,00\xa0$"), (True, "$49.00 / month incl. tax", "49,00\xa0$")],
)
async def test_both_homes_and_the_subscription_page_show_the_price_with_interval_and_tax(
    http, context, tax_inclusive, english, german
) -> None:
    shop = await priced_shop(context, tax_inclusive=tax_inclusive)
    path = f"/subscriptions/{shop.subscription.id}"
    await sign_in(http, await business_token(shop.customer))

    for page_path in ("/", path):
        page = await http.get(page_path, params={"locale": "en"})
        assert page.status_code == 200 and english in page.text
        in_german = await http.get(page_path, params={"locale": "de"})
        # The words wait for the lead's translation; the amount is already written the German way.
        assert german in in_german.text and "$49.00" not in in_german.text

    await sign_in(http, await unified_token(shop.customer.email))
    assert english in (await http.get("/", params={"locale": "en"})).text


async def test_a_yearly_price_and_a_price_every_three_months_say_so(http, context) -> None:
    yearly = await priced_shop(context, currency="EUR", price=24000, tax_inclusive=True, interval=Interval.YEAR)
    await sign_in(http, await business_token(yearly.customer))
    assert "€240.00 / year incl. tax" in (await http.get("/")).text

    quarterly = await priced_shop(context, email="bea@example.com", price=3000, count=3, tax_rate_bp=0)
    await sign_in(http, await business_token(quarterly.customer))
    page = await http.get(f"/subscriptions/{quarterly.subscription.id}")
    # A business that charges no tax says nothing of it: "+ tax" would be untrue.
    assert "<bdi>$30.00 every 3 months</bdi>" in page.text


async def test_the_customer_schema_gives_each_price_its_interval_and_tax(context) -> None:
    shop = await priced_shop(context, tax_inclusive=True, interval=Interval.YEAR)
    data = await run(
        await business_token(shop.customer),
        "{ viewer { subscriptions { edges { node { price { amount { amount currency } intervalCount interval tax }"
        " trial { endsAt } } } } } }",
    )
    [node] = [edge["node"] for edge in data["viewer"]["subscriptions"]["edges"]]
    assert node == {
        "price": {
            "amount": {"amount": 4900, "currency": "USD"},
            "intervalCount": 1,
            "interval": "YEAR",
            "tax": "INCLUDED",
        },
        "trial": None,
    }


# --- plans compared by their monthly equivalent -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "interval", "count", "monthly"),
    [
        (24000, Interval.YEAR, 1, 2000),
        (3000, Interval.MONTH, 3, 1000),
        (2400, Interval.MONTH, 1, 2400),
        (500, Interval.WEEK, 1, 2167),
        (100, Interval.DAY, 1, 3042),
    ],
)
def test_a_price_per_month_is_its_amount_spread_over_the_months_of_its_interval(amount, interval, count, monthly):
    assert monthly_equivalent(amount, interval, count) == monthly


async def test_plans_of_other_intervals_are_compared_by_their_monthly_equivalent(http, context) -> None:
    """€24 a month against €240 a year (€20 a month: cheaper, a downgrade) and €300 a year (€25: an upgrade)."""
    shop = await priced_shop(context, currency="EUR", price=2400, tax_inclusive=True)
    collection = await ProductCollection.create(business=shop.business, livemode=True, name="Studio")
    await Product.filter(id=shop.subscription.product_id).update(collection_id=collection.id, collection_position=0)
    for position, (name, price) in enumerate((("Studio annuel", 24000), ("Studio plus annuel", 30000)), start=1):
        await Product.create(
            business=shop.business,
            livemode=True,
            name=name,
            price_type=PriceType.RECURRING,
            price=price,
            currency="EUR",
            tax_inclusive=True,
            payment_frequency_interval=Interval.YEAR,
            payment_frequency_count=1,
            collection=collection,
            collection_position=position,
        )
    await Business.filter(id=shop.business.id).update(allow_subscription_updates=True)
    token = await business_token(shop.customer)

    data = await run(
        token,
        "query($id: ID!) { node(id: $id) { ... on Subscription { planChangeOptions { product { name } direction"
        " price { amount { amount } interval tax } } } } }",
        id=shop.subscription.id,
    )
    options = {option["product"]["name"]: option for option in data["node"]["planChangeOptions"]}
    assert options["Studio annuel"]["direction"] == "DOWNGRADE"
    assert options["Studio plus annuel"]["direction"] == "UPGRADE"
    assert options["Studio annuel"]["price"] == {"amount": {"amount": 24000}, "interval": "YEAR", "tax": "INCLUDED"}

    await sign_in(http, token)
    page = (await http.get(f"/subscriptions/{shop.subscription.id}/change-plan")).text
    downgrade, upgrade = page.index("Studio annuel"), page.index("Studio plus annuel")
    assert "Downgrade" in page[downgrade:upgrade] and "€240.00 / year incl. tax" in page[downgrade:upgrade]
    assert "That is €20.00 a month." in page[downgrade:upgrade]
    assert "Upgrade" in page[upgrade:] and "€300.00 / year incl. tax" in page[upgrade:]
    assert "That is €25.00 a month." in page[upgrade:]
    # The current plan is billed like the subscription: its price needs no monthly figure beside it.
    assert "€24.00 / month incl. tax" in page[:downgrade] and page[:downgrade].count("That is") == 0


# --- trials -----------------------------------------------------------------------------------------------------


async def trial_shop(context) -> Subscriber:
    """Ada in her trial of ¥2,980 a month (tax included) until March 5, 2031, to be charged to her JCB •••• 0505."""
    return await priced_shop(
        context, currency="JPY", price=2980, tax_inclusive=True, cards=("pm_card_jcb",), trial_ends_at=PERIOD_END
    )


async def failed_charge(shop: Subscriber, status: PaymentStatus, key: str, at: datetime) -> None:
    payment = await Payment.create(
        business=shop.business,
        livemode=True,
        customer=shop.customer,
        subscription=shop.subscription,
        total_amount=2980,
        currency="JPY",
        status=status,
        purpose=PaymentPurpose.RENEWAL,
        payment_method=shop.cards["pm_card_jcb"],
        idempotency_key=key,
    )
    await Payment.filter(id=payment.id).update(created_at=at)


TRIAL_NOTE = "Trial ends on March 5, 2031; then ¥2,980 / month incl. tax on JCB •••• 0505"
WARNING = "The last charge to this card failed."


async def test_a_trial_says_when_it_ends_what_it_costs_then_and_which_card_pays(http, context) -> None:
    shop = await trial_shop(context)
    path = f"/subscriptions/{shop.subscription.id}"
    await sign_in(http, await business_token(shop.customer))

    for page_path in ("/", path):
        page = (await http.get(page_path)).text
        assert '<span class="badge info">Trial</span>' in page
        assert TRIAL_NOTE in page and WARNING not in page
    in_japanese = (await http.get(path, params={"locale": "ja"})).text
    assert "2031年3月5日" in in_japanese and "￥2,980" in in_japanese and "JCB •••• 0505" in in_japanese


async def test_a_trial_warns_when_the_card_it_will_charge_failed_its_last_charge(http, context) -> None:
    shop = await trial_shop(context)
    path = f"/subscriptions/{shop.subscription.id}"
    await sign_in(http, await business_token(shop.customer))
    now = datetime.now(UTC)
    await failed_charge(shop, PaymentStatus.SUCCEEDED, "older-success", now - timedelta(days=40))
    await failed_charge(shop, PaymentStatus.FAILED, "latest-failure", now - timedelta(days=1))

    for page_path in ("/", path):
        page = (await http.get(page_path)).text
        assert TRIAL_NOTE in page and WARNING in page
        assert f'href="{path}/payment-method">Choose another card before the trial ends</a>' in page

    # A later charge that went through: the card pays again, no warning.
    await failed_charge(shop, PaymentStatus.SUCCEEDED, "latest-success", now)
    assert WARNING not in (await http.get(path)).text


async def test_a_trial_that_ended_is_no_longer_called_one(http, context) -> None:
    shop = await trial_shop(context)
    ended = datetime.now(UTC) - timedelta(days=1)
    await Subscription.filter(id=shop.subscription.id).update(trial_ends_at=ended)
    await sign_in(http, await business_token(shop.customer))

    page = (await http.get(f"/subscriptions/{shop.subscription.id}")).text
    assert ">Trial<" not in page and "Trial ends" not in page and "Renews on March 5, 2031" in page


async def test_the_trials_of_every_business_cost_the_unified_home_one_statement(http, count_statements) -> None:
    found = {}
    for scale in (1, 6):
        email = f"trials-{scale}@example.com"
        owners = [await customer_with_history(await business(f"{name} {email}"), email, scale=scale) for name in "AB"]
        trials = [subscription.id for owned in owners for subscription in owned.subscriptions]
        await Subscription.filter(id__in=trials).update(status=SubscriptionStatus.ACTIVE, trial_ends_at=PERIOD_END)
        http.cookies.set("portal_session", await unified_token(email))
        with count_statements() as counter:
            page = await http.get("/")
        assert page.text.count('<span class="badge info">Trial</span>') == 2 * min(2 * scale, 10)
        found[scale] = counter.count
    assert found[1] == found[6], found


# --- the retention offer and the checkout -----------------------------------------------------------------------


async def test_the_retention_offer_says_the_discounted_price_and_for_how_many_renewals(http, context) -> None:
    shop = await priced_shop(context)
    await retention_offer(shop)
    path = f"/subscriptions/{shop.subscription.id}"
    await sign_in(http, await business_token(shop.customer))
    form = await http.get(f"{path}/cancel")

    offer = await http.post(
        f"{path}/cancel", data={"csrf_token": csrf_from(form), "reason": "TOO_EXPENSIVE", "when": "period_end"}
    )

    assert "Stay and get 20% off for three months" in offer.text
    assert "$39.20 / month + tax instead of $49.00, for your next 3 renewals" in offer.text
    accepted = await http.post(f"{path}/retention-offer", data={"csrf_token": csrf_from(offer)})
    page = (await http.get(accepted.headers["location"])).text
    assert "<bdi>$39.20 / month + tax</bdi>" in page and "3 renewals left" in page


async def test_a_plan_change_email_says_the_price_with_its_interval_and_the_amount_with_tax(context) -> None:
    """Library Team is tax-included at the shop; Studio here adds its 10 % on top, so the email names both amounts."""
    shop = await plan_shop(context)
    await Product.filter(id=shop.studio.id).update(tax_inclusive=False)

    await change_plan(
        shop.subscription, shop.studio.id, None, client_key="up-1", method=None, features=UPDATES, context=context
    )

    email = await EmailMessage.get(template="plan_changed")
    assert email.context["price"] == {
        "amount": {"amount": 4000, "currency": "JPY"},
        "intervalCount": 1,
        "interval": "MONTH",
        "tax": "ADDED",
    }
    assert email.context["price_with_tax"] == 4400

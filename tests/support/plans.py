"""A subscriber among plans, for the plan-change and proration tests: every instant hangs off one moment (`NOW`,
whole seconds, 10 days into a 30-day period), the portal features a business configures, and a subscriber on the
middle of three plans in a collection (`plan_shop`)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from merchants.features import PortalFeatures, parse_features, stored_features
from models import PortalConfiguration, Product, ProductCollection, Subscription
from models.enums import Interval, PriceType, SubscriptionStatus
from tests.support.billing import Subscriber, subscriber

# Every instant of a test hangs off this one, whole seconds: 10 days into a 30-day period, two thirds of it remain.
NOW = datetime.now(UTC).replace(microsecond=0)
PERIOD_START = NOW - timedelta(days=10)
PERIOD_END = NOW + timedelta(days=20)


def configured(**blocks: dict) -> PortalFeatures:
    """The default portal features with some of each named block's settings changed."""
    return parse_features(blocks)


UPDATES = configured(subscription_update={"enabled": True})


@dataclass
class PlanShop:
    """A subscriber on Library Team (¥2,000 a month, 10 % tax included) in a collection of three plans."""

    shop: Subscriber
    personal: Product
    team: Product
    studio: Product

    @property
    def subscription(self) -> Subscription:
        return self.shop.subscription

    async def fresh(self) -> Subscription:
        return await Subscription.get(id=self.shop.subscription.id)


async def plan_shop(
    context,
    *,
    cards: tuple[str, ...] = ("pm_card_visa",),
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    features: PortalFeatures | None = None,
    updates: bool = True,
    period: tuple[datetime, datetime] = (PERIOD_START, PERIOD_END),
    **subscription_fields,
) -> PlanShop:
    """`features` become the business's default portal configuration (what the billing run reads)."""
    shop = await subscriber(context, status=status, cards=cards, price=2000, **subscription_fields)
    shop.business.allow_subscription_updates = updates
    await shop.business.save()
    collection = await ProductCollection.create(business=shop.business, livemode=True, name="Library")
    team = await Product.get(id=shop.subscription.product_id)
    team.name, team.collection, team.collection_position, team.tax_inclusive = "Library Team", collection, 2, True
    await team.save()

    async def plan(name: str, price: int, position: int) -> Product:
        return await Product.create(
            business=shop.business,
            livemode=True,
            name=name,
            price_type=PriceType.RECURRING,
            price=price,
            currency="JPY",
            tax_inclusive=True,
            payment_frequency_interval=Interval.MONTH,
            payment_frequency_count=1,
            collection=collection,
            collection_position=position,
        )

    personal, studio = await plan("Library Personal", 1000, 1), await plan("Library Studio", 4000, 3)
    start, end = period
    await Subscription.filter(id=shop.subscription.id).update(previous_billing_date=start, next_billing_date=end)
    await shop.subscription.refresh_from_db()
    if features is not None:
        await PortalConfiguration.create(
            business=shop.business, livemode=True, is_default=True, features=stored_features(features)
        )
    return PlanShop(shop, personal, team, studio)

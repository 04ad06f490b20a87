"""What a business sells: products, the collections that order them for plan changes, and discounts."""

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault

from models.base import Timestamped, currency_field, id_field
from models.enums import DiscountDuration, DiscountType, Interval, PriceType, TaxCategory

if TYPE_CHECKING:
    from models.business import Business


class ProductCollection(Timestamped):
    """Products a subscriber may move between. `Product.collection_position` orders them low to high."""

    id = id_field("pdc")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="product_collections"
    )
    business_id: str
    livemode = fields.BooleanField()
    name = fields.CharField(max_length=200)
    # Nullable only for migration 0014, which fills the rows made before it (SQLite adds no column defaulting to now).
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "product_collection"


class Product(Timestamped):
    """Something a business sells; without a tax category (GraphQL, the demo) it has Dodo's general one."""

    id = id_field("pdt")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField("portal.Business", related_name="products")
    business_id: str
    livemode = fields.BooleanField()
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    price_type = fields.CharEnumField(PriceType, max_length=16)
    price = fields.BigIntField()
    currency = currency_field()
    tax_inclusive = fields.BooleanField(default=False)
    payment_frequency_count = fields.IntField(null=True)
    payment_frequency_interval = fields.CharEnumField(Interval, max_length=8, null=True)
    subscription_period_count = fields.IntField(null=True)
    subscription_period_interval = fields.CharEnumField(Interval, max_length=8, null=True)
    trial_period_days = fields.IntField(default=0)
    license_key_enabled = fields.BooleanField(default=False)
    license_key_activations_limit = fields.IntField(null=True)
    license_key_duration_count = fields.IntField(null=True)
    license_key_duration_interval = fields.CharEnumField(Interval, max_length=8, null=True)
    collection: fields.ForeignKeyNullableRelation["ProductCollection"] = fields.ForeignKeyField(
        "portal.ProductCollection", related_name="products", null=True, on_delete=fields.SET_NULL
    )
    collection_id: str | None
    collection_position = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)
    # The database defaults fill the rows made before these columns (migration 0014).
    tax_category = fields.CharEnumField(
        TaxCategory, max_length=16, default=TaxCategory.DIGITAL_PRODUCTS, db_default=TaxCategory.DIGITAL_PRODUCTS
    )
    metadata: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict, db_default=SqlDefault("'{}'"))
    # Nullable only for migration 0014, which fills the rows made before it (SQLite adds no column defaulting to now).
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "product"

    def billing_cycle(self) -> tuple[int, Interval]:
        """How often a subscription to it is charged: its payment frequency, else monthly (a product made without)."""
        return self.payment_frequency_count or 1, self.payment_frequency_interval or Interval.MONTH

    def subscription_term(self) -> tuple[int, Interval]:
        """How long a subscription to it lasts: its subscription period, else a year (a product made without one)."""
        return self.subscription_period_count or 1, self.subscription_period_interval or Interval.YEAR


class Discount(Timestamped):
    """A coupon. `amount` is basis points for percentages, minor units for fixed amounts."""

    id = id_field("dsc")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="discounts"
    )
    business_id: str
    livemode = fields.BooleanField()
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200, default="")
    type = fields.CharEnumField(DiscountType, max_length=16)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3, null=True)
    duration = fields.CharEnumField(DiscountDuration, max_length=16)
    duration_cycles = fields.IntField(null=True)
    # Set when the merchant deleted a discount subscriptions still carry: they keep it, nothing new gets it.
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "discount"
        unique_together = (("business_id", "livemode", "code"),)

"""License keys handed out with purchases and subscriptions, and the devices they are activated on."""

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, id_field
from models.enums import LicenseKeyStatus

if TYPE_CHECKING:
    from models.billing import Payment, Subscription
    from models.business import Business
    from models.catalog import Product
    from models.customer import Customer


class LicenseKey(Timestamped):
    id = id_field("lic")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="license_keys"
    )
    business_id: str
    livemode = fields.BooleanField()
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "portal.Customer", related_name="license_keys"
    )
    customer_id: str
    product: fields.ForeignKeyRelation["Product"] = fields.ForeignKeyField(
        "portal.Product", related_name="license_keys"
    )
    product_id: str
    payment: fields.ForeignKeyNullableRelation["Payment"] = fields.ForeignKeyField(
        "portal.Payment", related_name="license_keys", null=True, db_index=True
    )
    payment_id: str | None
    subscription: fields.ForeignKeyNullableRelation["Subscription"] = fields.ForeignKeyField(
        "portal.Subscription", related_name="license_keys", null=True
    )
    subscription_id: str | None
    key = fields.CharField(max_length=64, unique=True)
    status = fields.CharEnumField(LicenseKeyStatus, max_length=16)
    activations_limit = fields.IntField(null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "license_key"
        indexes = (("customer_id", "created_at"),)


class LicenseKeyInstance(Timestamped):
    id = id_field("lki")
    license_key: fields.ForeignKeyRelation["LicenseKey"] = fields.ForeignKeyField(
        "portal.LicenseKey", related_name="instances", db_index=True
    )
    license_key_id: str
    name = fields.CharField(max_length=200)

    class Meta:
        table = "license_key_instance"

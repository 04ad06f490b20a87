"""License keys handed out with purchases and subscriptions, and the devices they are activated on."""

from tortoise import fields

from models.base import Timestamped, id_field
from models.enums import LicenseKeyStatus


class LicenseKey(Timestamped):
    id = id_field("lic")
    business = fields.ForeignKeyField("portal.Business", related_name="license_keys")
    livemode = fields.BooleanField()
    customer = fields.ForeignKeyField("portal.Customer", related_name="license_keys")
    product = fields.ForeignKeyField("portal.Product", related_name="license_keys")
    payment = fields.ForeignKeyField("portal.Payment", related_name="license_keys", null=True, db_index=True)
    subscription = fields.ForeignKeyField("portal.Subscription", related_name="license_keys", null=True)
    key = fields.CharField(max_length=64, unique=True)
    status = fields.CharEnumField(LicenseKeyStatus, max_length=16)
    activations_limit = fields.IntField(null=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "license_key"
        indexes = (("customer_id", "created_at"),)


class LicenseKeyInstance(Timestamped):
    id = id_field("lki")
    license_key = fields.ForeignKeyField("portal.LicenseKey", related_name="instances", db_index=True)
    name = fields.CharField(max_length=200)

    class Meta:
        table = "license_key_instance"

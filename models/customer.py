"""A customer record: one per business and mode; the unified portal joins them by verified email."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient

from models.base import Timestamped, id_field

if TYPE_CHECKING:
    from models.business import Business


def normalize_email(email: str) -> str:
    """The form every email is stored and compared in."""
    return email.strip().lower()


class Customer(Timestamped):
    id = id_field("cus")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="customers"
    )
    business_id: str
    livemode = fields.BooleanField()
    email = fields.CharField(max_length=254, db_index=True)
    email_verified = fields.BooleanField(default=False)
    name = fields.CharField(max_length=200, default="")
    phone_number = fields.CharField(max_length=40, default="")
    billing_line1 = fields.CharField(max_length=200, default="")
    billing_line2 = fields.CharField(max_length=200, default="")
    billing_city = fields.CharField(max_length=100, default="")
    billing_state = fields.CharField(max_length=100, default="")
    billing_postal_code = fields.CharField(max_length=20, default="")
    billing_country = fields.CharField(max_length=2, default="")
    tax_id = fields.CharField(max_length=50, default="")
    locale = fields.CharField(max_length=16, default="")
    metadata: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    # Stamped by every save (see save); None for a record not saved since the column came.
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "customer"
        indexes = (("email", "livemode"), ("business_id", "livemode", "email"))

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        self.email = normalize_email(self.email)
        # tortoise stamps an auto_now field only when the save writes it: a save of some columns writes it too.
        if update_fields is not None:
            update_fields = [*update_fields, "updated_at"]
        await super().save(using_db, update_fields, force_create, force_update)

"""Checkout sessions: the hosted page a payment link opens, where a customer pays for a pending subscription or for a
purchase of one-time products (its cart).

Only the SHA-256 hash of the link's token is stored. A session expires, and is used once: `completed_at` is set when
the subscription it pays for has started, or when its purchase is paid (`payment` is then the paid payment).
"""

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault

from models.base import Timestamped, id_field

if TYPE_CHECKING:
    from models.billing import Payment, Subscription
    from models.business import Business
    from models.customer import Customer


class CheckoutSession(Timestamped):
    id = id_field("cks")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="checkout_sessions"
    )
    business_id: str
    livemode = fields.BooleanField()
    # One checkout per subscription: a retried create answers the first one's link. None for a purchase.
    subscription: fields.OneToOneNullableRelation["Subscription"] = fields.OneToOneField(
        "portal.Subscription", related_name="checkout_session", null=True
    )
    subscription_id: str | None
    # A purchase's buyer and cart: [{"product_id", "quantity", "amount"}], `amount` the unit price when the link was
    # made (a later price change does not change what the link charges). Empty for a subscription's checkout.
    customer: fields.ForeignKeyNullableRelation["Customer"] = fields.ForeignKeyField(
        "portal.Customer", related_name="checkout_sessions", null=True
    )
    customer_id: str | None
    items: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list, db_default=SqlDefault("'[]'"))
    # A purchase's charges are made under `attempt`: a declined one moves it on, so another card may be tried, and
    # two tabs at the same attempt share one charge.
    attempt = fields.IntField(default=0, db_default=0)
    payment: fields.ForeignKeyNullableRelation["Payment"] = fields.ForeignKeyField(
        "portal.Payment", related_name="checkout_sessions", null=True, on_delete=fields.SET_NULL
    )
    payment_id: str | None
    # A purchase created with an Idempotency-Key: `{business}:{mode}:{key}` and what the create asked (hashed).
    idempotency_key = fields.CharField(max_length=200, null=True, unique=True)
    request_fingerprint = fields.CharField(max_length=64, default="", db_default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    # Where the customer lands after paying; empty sends them to the business's portal.
    return_url = fields.CharField(max_length=1000, default="")
    expires_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "checkout_session"

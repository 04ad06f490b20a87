"""Checkout sessions: the hosted page a payment link opens, where a customer pays for a pending subscription.

Only the SHA-256 hash of the link's token is stored. A session expires, and is used once: `completed_at` is set when
the subscription it pays for has started.
"""

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, id_field

if TYPE_CHECKING:
    from models.billing import Subscription
    from models.business import Business


class CheckoutSession(Timestamped):
    id = id_field("cks")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="checkout_sessions"
    )
    business_id: str
    livemode = fields.BooleanField()
    # One checkout per subscription: a retried create answers the first one's link.
    subscription: fields.OneToOneRelation["Subscription"] = fields.OneToOneField(
        "portal.Subscription", related_name="checkout_session"
    )
    subscription_id: str
    token_hash = fields.CharField(max_length=64, unique=True)
    # Where the customer lands after paying; empty sends them to the business's portal.
    return_url = fields.CharField(max_length=1000, default="")
    expires_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "checkout_session"

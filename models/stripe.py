"""What the portal keeps about the Stripe accounts businesses connect: their credentials (the secret ones sealed by
core.secret_box, never stored in the clear), the Stripe Customer of each customer record, the PaymentIntent made for
each of our idempotency keys, and the events Stripe sent, each once.
"""

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import Timestamped, id_field

if TYPE_CHECKING:
    from models.business import Business
    from models.customer import Customer


class StripeAccount(Timestamped):
    """A business's Stripe credentials for one mode (test keys for test mode, live keys for live mode)."""

    id = id_field("sac")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="stripe_accounts"
    )
    business_id: str
    livemode = fields.BooleanField()
    # The secret (or restricted) key and the webhook endpoint's signing secret, encrypted (core.secret_box).
    sealed_secret_key = fields.TextField()
    sealed_webhook_secret = fields.TextField()
    publishable_key = fields.CharField(max_length=255)
    # A connected account (`acct_…`) the key, a platform's, acts for under Stripe Connect, or empty.
    connected_account = fields.CharField(max_length=64, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stripe_account"
        unique_together = (("business", "livemode"),)

    def __repr__(self) -> str:
        return f"StripeAccount({self.id}, business={self.business_id}, livemode={self.livemode})"


class StripeCustomer(Timestamped):
    """The Stripe Customer (`cus_…` at Stripe) standing for one customer record, made on first need."""

    id = id_field("scu")
    customer: fields.OneToOneRelation["Customer"] = fields.OneToOneField(
        "portal.Customer", related_name="stripe_customer"
    )
    customer_id: str
    stripe_id = fields.CharField(max_length=64)

    class Meta:
        table = "stripe_customer"


class StripeIntent(Timestamped):
    """The PaymentIntent made for one of our idempotency keys. The row is claimed before Stripe is asked, so of
    concurrent charges under one key one creates the PaymentIntent and the others wait for its id."""

    id = id_field("sin")
    idempotency_key = fields.CharField(max_length=200, unique=True)
    request_fingerprint = fields.CharField(max_length=64)
    # Empty until Stripe has answered (or a lookup by our key in its metadata has found it).
    payment_intent = fields.CharField(max_length=64, default="")
    claimed_at = fields.DatetimeField()

    class Meta:
        table = "stripe_intent"


class StripeEvent(Timestamped):
    """An event Stripe sent to a business's webhook route, verified and recorded once by its id. The worker
    handles it later (`handled_at`)."""

    id = id_field("sev")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="stripe_events"
    )
    business_id: str
    livemode = fields.BooleanField()
    event_id = fields.CharField(max_length=255)
    type = fields.CharField(max_length=100)
    # The event's object (`data.object`), as Stripe sent it.
    data: fields.JSONField[dict[str, Any]] = fields.JSONField()
    handled_at = fields.DatetimeField(null=True)
    # Handling that failed is tried again at the next passes, a few times, with the last failure kept.
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "stripe_event"
        unique_together = (("business", "event_id"),)
        indexes = (("handled_at", "created_at"),)

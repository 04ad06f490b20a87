"""What the built-in sandbox payment processor remembers: the cards it tokenised, the "add a card" sessions of its
hosted page and the charges it made. It stands in for a real processor's own storage, so it lives in tables of its
own and shares nothing with the portal's rows but the database.

A card is kept as a real processor keeps it: brand, last four digits, expiry and a keyed fingerprint, never the
number.
"""

from tortoise import fields

from models.base import Timestamped, currency_field, id_field


class SandboxCard(Timestamped):
    """A tokenised card. `behaviour` says what charging it does (succeeds, card_declined, …, requires_action)."""

    id = id_field("tok")
    brand = fields.CharField(max_length=20)
    last4 = fields.CharField(max_length=4)
    exp_month = fields.IntField()
    exp_year = fields.IntField()
    fingerprint = fields.CharField(max_length=64)
    behaviour = fields.CharField(max_length=32)
    # The customer a hosted "add a card" session was started for; only they may attach the card.
    reference = fields.CharField(max_length=100, default="")
    attached_to = fields.CharField(max_length=100, default="")

    class Meta:
        table = "sandbox_card"


class SandboxSetup(Timestamped):
    """One visit to the hosted "add a card" page: where to send the customer back, and for whom."""

    id = id_field("seti")
    reference = fields.CharField(max_length=100)
    return_url = fields.CharField(max_length=1000)
    card: fields.ForeignKeyNullableRelation["SandboxCard"] = fields.ForeignKeyField(
        "portal.SandboxCard", related_name="setups", null=True
    )
    card_id: str | None

    class Meta:
        table = "sandbox_setup"


class SandboxCharge(Timestamped):
    """A charge. Its idempotency key is unique, so a repeated request finds the first charge instead of a second."""

    id = id_field("ch")
    idempotency_key = fields.CharField(max_length=200, unique=True)
    request_fingerprint = fields.CharField(max_length=64)
    card: fields.ForeignKeyRelation["SandboxCard"] = fields.ForeignKeyField(
        "portal.SandboxCard", related_name="charges"
    )
    card_id: str
    amount = fields.BigIntField()
    currency = currency_field()
    status = fields.CharField(max_length=32)
    error_code = fields.CharField(max_length=64, default="")
    return_url = fields.CharField(max_length=1000, default="")
    refunded_amount = fields.BigIntField(default=0)

    class Meta:
        table = "sandbox_charge"

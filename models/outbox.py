"""The outbox: events, emails and webhook deliveries, written in the same transaction as the change
they announce and sent later by the worker, with retries."""

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import Timestamped, id_field
from models.enums import DeliveryStatus

if TYPE_CHECKING:
    from models.business import Business


class Event(Timestamped):
    id = id_field("evt")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField("portal.Business", related_name="events")
    business_id: str
    livemode = fields.BooleanField()
    type = fields.CharField(max_length=64)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField()
    # Set once the worker has made this event's webhook deliveries (gateway/worker/webhook_delivery.py).
    fanned_out = fields.BooleanField(default=False)

    class Meta:
        table = "event"
        indexes = (("fanned_out", "created_at"),)


class EmailMessage(Timestamped):
    """An email to send: a template name, its context and the language, rendered by the worker when it sends.

    Rendering late keeps templates out of the domain layer. What opens an account (a sign-in link, a code) is never
    in `context`: it waits in `sealed_context`, encrypted with a key derived from the deployment's secret
    (core.email_outbox), which is erased once the email is sent or has finally failed; so is the context once sent.
    """

    id = id_field("eml")
    business: fields.ForeignKeyNullableRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="emails", null=True
    )
    business_id: str | None
    livemode = fields.BooleanField()
    to_email = fields.CharField(max_length=254)
    from_name = fields.CharField(max_length=300)
    reply_to = fields.CharField(max_length=254, default="")
    template = fields.CharField(max_length=64)
    context: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    sealed_context = fields.TextField(null=True)
    locale = fields.CharField(max_length=16, default="")
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(null=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_message"
        indexes = (("status", "next_attempt_at"),)


class WebhookEndpoint(Timestamped):
    """Where a business receives its events, signed with `secret` (Standard Webhooks' `whsec_…`).

    After a rotation the previous secret keeps signing too until `previous_secret_expires_at`, so receivers can
    switch over. `event_types` empty means every type. `failing_since` is the first failure after the last
    success; an endpoint failing long enough is disabled.
    """

    id = id_field("whk")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="webhook_endpoints"
    )
    business_id: str
    livemode = fields.BooleanField()
    url = fields.CharField(max_length=1000)
    secret = fields.CharField(max_length=128)
    previous_secret = fields.CharField(max_length=128, null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    event_types: fields.JSONField[list[str]] = fields.JSONField(default=list)
    disabled = fields.BooleanField(default=False)
    disabled_at = fields.DatetimeField(null=True)
    failing_since = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_endpoint"


class WebhookDelivery(Timestamped):
    """One event for one endpoint, at most one per pair; its id is the `webhook-id` of every attempt."""

    id = id_field("whd")
    endpoint: fields.ForeignKeyRelation["WebhookEndpoint"] = fields.ForeignKeyField(
        "portal.WebhookEndpoint", related_name="deliveries"
    )
    endpoint_id: str
    event: fields.ForeignKeyRelation["Event"] = fields.ForeignKeyField("portal.Event", related_name="deliveries")
    event_id: str
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    response_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"
        indexes = (("status", "next_attempt_at"),)
        unique_together = (("endpoint", "event"),)


class WebhookAttempt(Timestamped):
    """One POST of a delivery: the answer's status (null when none came), how long it took and what it said."""

    id = id_field("wha")
    delivery: fields.ForeignKeyRelation["WebhookDelivery"] = fields.ForeignKeyField(
        "portal.WebhookDelivery", related_name="attempt_rows"
    )
    delivery_id: str
    status_code = fields.IntField(null=True)
    duration_ms = fields.IntField()
    response_snippet = fields.CharField(max_length=500, default="")
    error = fields.TextField(null=True)
    attempted_at = fields.DatetimeField()

    class Meta:
        table = "webhook_attempt"

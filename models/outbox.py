"""The outbox: events, emails and webhook deliveries, written in the same transaction as the change
they announce and sent later by the worker, with retries."""

from tortoise import fields

from models.base import Timestamped, id_field
from models.enums import DeliveryStatus


class Event(Timestamped):
    id = id_field("evt")
    business = fields.ForeignKeyField("portal.Business", related_name="events")
    livemode = fields.BooleanField()
    type = fields.CharField(max_length=64)
    data = fields.JSONField()

    class Meta:
        table = "event"


class EmailMessage(Timestamped):
    """An email to send: a template name, its context and the language, rendered by the worker when it sends.

    Rendering late keeps templates out of the domain layer. A context may hold a sign-in link, so it is emptied
    once the message is sent.
    """

    id = id_field("eml")
    business = fields.ForeignKeyField("portal.Business", related_name="emails", null=True)
    livemode = fields.BooleanField()
    to_email = fields.CharField(max_length=254)
    from_name = fields.CharField(max_length=300)
    reply_to = fields.CharField(max_length=254, default="")
    template = fields.CharField(max_length=64)
    context = fields.JSONField(default=dict)
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
    id = id_field("whk")
    business = fields.ForeignKeyField("portal.Business", related_name="webhook_endpoints")
    livemode = fields.BooleanField()
    url = fields.CharField(max_length=1000)
    secret = fields.CharField(max_length=128)
    event_types = fields.JSONField(default=list)
    disabled = fields.BooleanField(default=False)

    class Meta:
        table = "webhook_endpoint"


class WebhookDelivery(Timestamped):
    id = id_field("whd")
    endpoint = fields.ForeignKeyField("portal.WebhookEndpoint", related_name="deliveries")
    event = fields.ForeignKeyField("portal.Event", related_name="deliveries")
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    response_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"
        indexes = (("status", "next_attempt_at"),)

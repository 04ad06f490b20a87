"""Webhook endpoints for merchants: list and inspect them with their deliveries and each delivery's attempts; create
(the secret is shown once), change, delete, rotate the secret, replay a delivery. The rules live in
merchants/webhooks.py; sending is the worker's."""

from datetime import datetime

import strawberry

from core.event_types import EventType
from merchants.webhooks import (
    WebhookEndpointError,
    create_endpoint,
    delete_endpoint,
    replay_delivery,
    rotate_secret,
    update_endpoint,
)
from models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from models import enums as model_enums
from models.ids import find_by_client_id
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError, user_error
from schema.merchant.context import MerchantContext
from schema.merchant.inputs import not_found
from schema.merchant.loaders import child_connection
from schema.merchant.scoping import scoped

# The model's and core's enums themselves, registered: plain aliases, so the type checker reads them as types.
WebhookDeliveryStatus = model_enums.DeliveryStatus
WebhookEventType = EventType
strawberry.enum(WebhookDeliveryStatus, name="WebhookDeliveryStatus")
strawberry.enum(
    WebhookEventType, name="WebhookEventType", description="PAYMENT_SUCCEEDED is the webhook `type` payment.succeeded."
)
ENDPOINT_NOT_FOUND = not_found("webhook endpoint", field="webhookEndpointId")


@strawberry.type(name="WebhookAttempt", description="One POST of a delivery to the endpoint.")
class MerchantWebhookAttempt:
    id: strawberry.ID
    status_code: int | None = strawberry.field(description="The endpoint's HTTP status; null when none came.")
    duration_ms: int
    response_snippet: str = strawberry.field(
        description="The start of the endpoint's answer; empty from a non-public address."
    )
    error: str | None = strawberry.field(description="Why no answer came (timeout, refused address, …).")
    attempted_at: datetime

    @classmethod
    def from_row(cls, row: WebhookAttempt) -> "MerchantWebhookAttempt":
        return cls(
            id=strawberry.ID(row.id),
            status_code=row.status_code,
            duration_ms=row.duration_ms,
            response_snippet=row.response_snippet,
            error=row.error,
            attempted_at=row.attempted_at,
        )


@strawberry.type(
    name="WebhookDelivery", description="One event for one endpoint; its id is every attempt's webhook-id."
)
class MerchantWebhookDelivery:
    id: strawberry.ID
    event_id: strawberry.ID
    status: WebhookDeliveryStatus
    attempt_count: int = strawberry.field(description="How many attempts were made since it was (re)played.")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried next; null once settled.")
    response_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: WebhookDelivery) -> "MerchantWebhookDelivery":
        pending = row.status == model_enums.DeliveryStatus.PENDING
        return cls(
            id=strawberry.ID(row.id),
            event_id=strawberry.ID(row.event_id),
            status=row.status,
            attempt_count=row.attempts,
            next_attempt_at=row.next_attempt_at if pending else None,
            response_status=row.response_status,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )

    @strawberry.field(description="The event's type, such as PAYMENT_SUCCEEDED.")
    async def event_type(self, info: strawberry.Info[MerchantContext, None]) -> WebhookEventType:
        return EventType(await info.context.loaders.event_types.load(self.event_id))

    @strawberry.field(description="Every attempt, newest first.")
    async def attempts(
        self, info: strawberry.Info[MerchantContext, None], first: int | None = None, after: str | None = None
    ) -> Connection[MerchantWebhookAttempt]:
        loader = info.context.loaders.delivery_attempts
        return await child_connection(loader, self.id, MerchantWebhookAttempt.from_row, first=first, after=after)


@strawberry.type(name="WebhookEndpoint", description="Where the business receives its events, signed.")
class MerchantWebhookEndpoint:
    id: strawberry.ID
    url: str
    event_types: list[WebhookEventType] = strawberry.field(
        description="The event types it receives; empty: every type."
    )
    disabled: bool
    disabled_at: datetime | None
    failing_since: datetime | None = strawberry.field(description="The first failure since the last success.")
    created_at: datetime

    @classmethod
    def from_row(cls, row: WebhookEndpoint) -> "MerchantWebhookEndpoint":
        return cls(
            id=strawberry.ID(row.id),
            url=row.url,
            event_types=[EventType(event_type) for event_type in row.event_types],
            disabled=row.disabled,
            disabled_at=row.disabled_at,
            failing_since=row.failing_since,
            created_at=row.created_at,
        )

    @strawberry.field(description="The endpoint's deliveries, newest first.")
    async def deliveries(
        self, info: strawberry.Info[MerchantContext, None], first: int | None = None, after: str | None = None
    ) -> Connection[MerchantWebhookDelivery]:
        loader = info.context.loaders.endpoint_deliveries
        return await child_connection(loader, self.id, MerchantWebhookDelivery.from_row, first=first, after=after)


@strawberry.input
class CreateWebhookEndpointInput:
    url: str
    event_types: list[WebhookEventType] | None = strawberry.field(
        default=None, description="Empty or null: every type."
    )


@strawberry.input(description="The endpoint to change and what to change; enabling it resets its failures.")
class UpdateWebhookEndpointInput:
    webhook_endpoint_id: strawberry.ID
    url: str | None = None
    event_types: list[WebhookEventType] | None = None
    disabled: bool | None = None


@strawberry.input
class WebhookEndpointInput:
    webhook_endpoint_id: strawberry.ID


@strawberry.input
class WebhookDeliveryInput:
    webhook_delivery_id: strawberry.ID


@strawberry.type
class WebhookEndpointPayload:
    webhook_endpoint: MerchantWebhookEndpoint | None = strawberry.field(description="Null when errors is not empty.")
    errors: list[UserError]


@strawberry.type
class WebhookSecretPayload:
    webhook_endpoint: MerchantWebhookEndpoint | None = strawberry.field(description="Null when errors is not empty.")
    secret: str | None = strawberry.field(description="The whsec_ signing secret, shown this once.")
    errors: list[UserError]


@strawberry.type
class DeleteWebhookEndpointPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class ReplayWebhookDeliveryPayload:
    webhook_delivery: MerchantWebhookDelivery | None = strawberry.field(description="Null when errors is not empty.")
    errors: list[UserError]


async def _endpoint(context: MerchantContext, endpoint_id: str) -> WebhookEndpoint | None:
    return await find_by_client_id(scoped(WebhookEndpoint, context), endpoint_id)


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="The webhook endpoints of the API key's business and mode, newest first.")
    async def webhook_endpoints(
        self, info: strawberry.Info[MerchantContext, None], first: int | None = None, after: str | None = None
    ) -> Connection[MerchantWebhookEndpoint]:
        query = scoped(WebhookEndpoint, info.context)
        return await query_connection(query, MerchantWebhookEndpoint.from_row, first=first, after=after)

    @strawberry.field(description="A webhook endpoint of the API key's business and mode; null for any other id.")
    async def webhook_endpoint(
        self, info: strawberry.Info[MerchantContext, None], id: strawberry.ID
    ) -> MerchantWebhookEndpoint | None:
        endpoint = await _endpoint(info.context, id)
        return MerchantWebhookEndpoint.from_row(endpoint) if endpoint else None


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="A new endpoint for some or all event types; its secret is shown this once.")
    async def create_webhook_endpoint(
        self, info: strawberry.Info[MerchantContext, None], input: CreateWebhookEndpointInput
    ) -> WebhookSecretPayload:
        context = info.context
        try:
            endpoint, secret = await create_endpoint(
                context.api_key.business,
                livemode=context.livemode,
                url=input.url,
                event_types=input.event_types or [],
                allow_private=context.webhooks_allow_private,
            )
        except WebhookEndpointError as error:
            return WebhookSecretPayload(webhook_endpoint=None, secret=None, errors=[user_error(error)])
        return WebhookSecretPayload(
            webhook_endpoint=MerchantWebhookEndpoint.from_row(endpoint), secret=secret, errors=[]
        )

    @strawberry.mutation(
        description="Change an endpoint's URL, event types or disabled state (enabling resets failures)."
    )
    async def update_webhook_endpoint(
        self, info: strawberry.Info[MerchantContext, None], input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        context = info.context
        endpoint = await _endpoint(context, input.webhook_endpoint_id)
        if endpoint is None:
            return WebhookEndpointPayload(webhook_endpoint=None, errors=[ENDPOINT_NOT_FOUND])
        try:
            await update_endpoint(
                endpoint,
                url=input.url,
                event_types=input.event_types,
                disabled=input.disabled,
                allow_private=context.webhooks_allow_private,
            )
        except WebhookEndpointError as error:
            return WebhookEndpointPayload(webhook_endpoint=None, errors=[user_error(error)])
        return WebhookEndpointPayload(webhook_endpoint=MerchantWebhookEndpoint.from_row(endpoint), errors=[])

    @strawberry.mutation(description="Delete an endpoint with its deliveries; it receives nothing more.")
    async def delete_webhook_endpoint(
        self, info: strawberry.Info[MerchantContext, None], input: WebhookEndpointInput
    ) -> DeleteWebhookEndpointPayload:
        endpoint = await _endpoint(info.context, input.webhook_endpoint_id)
        if endpoint is None:
            return DeleteWebhookEndpointPayload(deleted_id=None, errors=[ENDPOINT_NOT_FOUND])
        await delete_endpoint(endpoint)
        return DeleteWebhookEndpointPayload(deleted_id=strawberry.ID(endpoint.id), errors=[])

    @strawberry.mutation(description="A new signing secret, shown this once; the old one also signs for 24 hours.")
    async def rotate_webhook_secret(
        self, info: strawberry.Info[MerchantContext, None], input: WebhookEndpointInput
    ) -> WebhookSecretPayload:
        endpoint = await _endpoint(info.context, input.webhook_endpoint_id)
        if endpoint is None:
            return WebhookSecretPayload(webhook_endpoint=None, secret=None, errors=[ENDPOINT_NOT_FOUND])
        secret = await rotate_secret(endpoint)
        return WebhookSecretPayload(
            webhook_endpoint=MerchantWebhookEndpoint.from_row(endpoint), secret=secret, errors=[]
        )

    @strawberry.mutation(description="Replay a delivery: the same webhook-id, a fresh retry schedule.")
    async def replay_webhook_delivery(
        self, info: strawberry.Info[MerchantContext, None], input: WebhookDeliveryInput
    ) -> ReplayWebhookDeliveryPayload:
        context = info.context
        deliveries = WebhookDelivery.filter(
            endpoint__business_id=context.business_id, endpoint__livemode=context.livemode
        )
        delivery = await find_by_client_id(deliveries, input.webhook_delivery_id)
        if delivery is None:
            error = not_found("webhook delivery", field="webhookDeliveryId")
            return ReplayWebhookDeliveryPayload(webhook_delivery=None, errors=[error])
        await replay_delivery(delivery)
        replayed = MerchantWebhookDelivery.from_row(await WebhookDelivery.get(id=delivery.id))
        return ReplayWebhookDeliveryPayload(webhook_delivery=replayed, errors=[])

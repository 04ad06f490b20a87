"""Dodo-compatible REST for the business's webhook endpoints: `GET|POST /webhooks`, `GET|PATCH|DELETE
/webhooks/{webhook_id}` and `GET /webhooks/{webhook_id}/secret`, over merchants.webhooks, in the key's mode.

An endpoint is Dodo's WebhookDetails. Where we differ from Dodo Payments:
- `filter_types` empty (or absent) receives every event type; `description`, `metadata`, custom `headers` and
  `rate_limit` are not stored, so they are refused by name (422), and answered as `""`, `{}` and null;
- the list is one cursor page of `limit` endpoints (50 unless given) whose `iterator` continues it;
- the URL is checked as in the merchant GraphQL API (https in live mode, no private addresses).

These routes take only requests that present an API key, so no other `/webhooks/…` route (a processor's inbound
webhooks) is shadowed.
"""

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from billing.resources import moment
from gateway.rest.common import ApiKeyRoute, MerchantCall, merchant_endpoint
from gateway.rest.customers import flag, text
from gateway.rest.errors import RestError, RestErrorCode
from gateway.settings import Settings
from merchants.inputs import MerchantErrorCode
from merchants.webhooks import create_endpoint, delete_endpoint, update_endpoint
from models import Business, WebhookEndpoint

_FIELDS = ("url", "filter_types", "disabled")
_DEFAULT_LIMIT = 50


def endpoint_object(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "filter_types": endpoint.event_types,
        "disabled": endpoint.disabled,
        "description": "",
        "metadata": {},
        "rate_limit": None,
        "created_at": moment(endpoint.created_at),
        "updated_at": moment(endpoint.created_at),
    }


def _filter_types(body: dict[str, Any]) -> list[str] | None:
    value = body.get("filter_types")
    if value is not None and not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        raise RestError(MerchantErrorCode.INVALID_INPUT, "filter_types must be a list of event types.", "filter_types")
    return value


async def _scoped_endpoint(call: MerchantCall) -> WebhookEndpoint:
    return await call.scoped(WebhookEndpoint, call.request.path_params["webhook_id"], "webhook endpoint")


def _cursor(call: MerchantCall, name: str, default: int) -> int:
    value = call.request.query_params.get(name, str(default))
    if not value.isascii() or not value.isdigit() or (name == "limit" and not 1 <= int(value) <= 100):
        raise RestError(RestErrorCode.INVALID_QUERY, f"{name} is not one this list gave or took.", name)
    return int(value)


def routes(settings: Settings) -> list[BaseRoute]:
    allow_private = settings.webhooks_allow_private

    @merchant_endpoint
    async def list_webhooks(call: MerchantCall) -> Response:
        start, limit = _cursor(call, "iterator", 0), _cursor(call, "limit", _DEFAULT_LIMIT)
        query = call.scope(WebhookEndpoint).order_by("created_at", "id")
        page = await query.offset(start).limit(limit + 1)
        done = len(page) <= limit
        data = [endpoint_object(endpoint) for endpoint in page[:limit]]
        return JSONResponse({"data": data, "done": done, "iterator": None if done else str(start + limit)})

    @merchant_endpoint
    async def create_webhook(call: MerchantCall) -> Response:
        body = await call.json_body(_FIELDS)
        url = text(body, "url")
        if url is None:
            raise RestError(MerchantErrorCode.INVALID_INPUT, "url is required.", "url")
        business = await Business.get(id=call.business_id)
        endpoint, _ = await create_endpoint(
            business,
            livemode=call.livemode,
            url=url,
            event_types=_filter_types(body) or [],
            allow_private=allow_private,
        )
        if flag(body, "disabled"):
            endpoint = await update_endpoint(endpoint, disabled=True, allow_private=allow_private)
        return JSONResponse(endpoint_object(endpoint))

    @merchant_endpoint
    async def get_webhook(call: MerchantCall) -> Response:
        return JSONResponse(endpoint_object(await _scoped_endpoint(call)))

    @merchant_endpoint
    async def patch_webhook(call: MerchantCall) -> Response:
        endpoint = await _scoped_endpoint(call)
        body = await call.json_body(_FIELDS)
        endpoint = await update_endpoint(
            endpoint,
            url=text(body, "url"),
            event_types=_filter_types(body),
            disabled=flag(body, "disabled"),
            allow_private=allow_private,
        )
        return JSONResponse(endpoint_object(endpoint))

    @merchant_endpoint
    async def delete_webhook(call: MerchantCall) -> Response:
        await delete_endpoint(await _scoped_endpoint(call))
        return Response(status_code=204)

    @merchant_endpoint
    async def webhook_secret(call: MerchantCall) -> Response:
        return JSONResponse({"secret": (await _scoped_endpoint(call)).secret}, headers={"Cache-Control": "no-store"})

    by_id = "/webhooks/{webhook_id}"
    return [
        ApiKeyRoute("/webhooks", list_webhooks, methods=["GET"]),
        ApiKeyRoute("/webhooks", create_webhook, methods=["POST"]),
        ApiKeyRoute(by_id, get_webhook, methods=["GET"]),
        ApiKeyRoute(by_id, patch_webhook, methods=["PATCH"]),
        ApiKeyRoute(by_id, delete_webhook, methods=["DELETE"]),
        ApiKeyRoute(f"{by_id}/secret", webhook_secret, methods=["GET"]),
    ]

"""The portal session endpoint merchants know, `POST /customers/{customer_id}/customer-portal/session`, for the
business and mode of the API key presented (`Authorization: Bearer sk_…`).

The session endpoint takes Dodo's query parameters (`send_email`, `return_url`) and, optionally, a JSON body with
Stripe's session names, mapped onto access.deep_links:

    configuration_id                                      the portal configuration (`bpc_…`)
    locale                                                the portal's language (`de`, `pt-BR`)
    flow_data.type                                        Flow.type: payment_method_update | subscription_cancel |
                                                          subscription_update | subscription_update_confirm
    flow_data.subscription_cancel.subscription_id         Flow.subscription_id (likewise under subscription_update
                                                          and subscription_update_confirm)
    flow_data.subscription_update_confirm.product_id      Flow.product_id; or `items: [{product_id, quantity}]`,
    flow_data.subscription_update_confirm.quantity        Stripe's shape, with exactly one item
    flow_data.after_completion.type                       AfterCompletion.type: portal_homepage (default) |
                                                          redirect | hosted_confirmation
    flow_data.after_completion.redirect.return_url        AfterCompletion.return_url
    flow_data.after_completion.hosted_confirmation.custom_message   AfterCompletion.custom_message

A bad body or flow is a 422 whose `field` is the body's path (`flow_data.subscription_cancel.subscription_id`).
A customer or subscription of another business or mode answers exactly like one that does not exist.
"""

from enum import StrEnum
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from access.deep_links import AfterCompletion, AfterCompletionType, Flow, FlowType, create_portal_link
from access.login_links import PortalLinkError, customer_of_business
from gateway.http.json_body import decode_json
from gateway.http.request_auth import UNAUTHENTICATED_MESSAGE, presented_api_key
from gateway.rest.errors import RestError, RestErrorCode, error_response
from gateway.settings import Settings
from merchants.inputs import MerchantErrorCode

_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
Choice = TypeVar("Choice", bound=StrEnum)
_SESSION_BODY_KEYS = {"configuration_id", "locale", "flow_data"}
# The body's path of each field of access.deep_links' Flow; `{type}` is the flow's type.
_FLOW_FIELDS = {
    "flow.type": "flow_data.type",
    "flow.subscription_id": "flow_data.{type}.subscription_id",
    "flow.product_id": "flow_data.{type}.product_id",
    "flow.quantity": "flow_data.{type}.quantity",
    "flow.after_completion.return_url": "flow_data.after_completion.redirect.return_url",
    "flow.after_completion.custom_message": "flow_data.after_completion.hosted_confirmation.custom_message",
}


def query_flag(request: Request, name: str) -> bool | None:
    """A boolean query parameter (absent is false); None when it is not a boolean."""
    return _BOOLEANS.get(request.query_params.get(name, "false").lower())


class BodyError(Exception):
    """A session body that is not the documented shape: the path of the offending field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _object(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BodyError(path, f"{path} must be a JSON object")
    return value


def _string(parent: dict[str, Any], key: str, path: str) -> str | None:
    value = parent.get(key)
    if value is not None and not isinstance(value, str):
        raise BodyError(f"{path}.{key}" if path else key, f"{key} must be a string")
    return value


def _choice(parent: dict[str, Any], key: str, path: str, choices: type[Choice]) -> Choice:
    value = _string(parent, key, path)
    if value not in {choice.value for choice in choices}:
        allowed = ", ".join(choice.value for choice in choices)
        raise BodyError(f"{path}.{key}", f"{key} must be one of {allowed}")
    return choices(value)


def _confirmed_item(task: dict[str, Any], path: str) -> tuple[str | None, object]:
    """`product_id` and `quantity`, given directly or as Stripe's `items` with one item."""
    if "items" not in task:
        return _string(task, "product_id", path), task.get("quantity")
    items = task["items"]
    if not isinstance(items, list) or len(items) != 1:
        raise BodyError(f"{path}.items", "items must hold exactly one item")
    item = _object(items[0], f"{path}.items[0]")
    return _string(item, "product_id", f"{path}.items[0]"), item.get("quantity")


def _after_completion(flow_data: dict[str, Any]) -> AfterCompletion:
    path = "flow_data.after_completion"
    after = _object(flow_data.get("after_completion", {"type": "portal_homepage"}), path)
    kind = _choice(after, "type", path, AfterCompletionType)
    redirect = _object(after.get("redirect", {}), f"{path}.redirect")
    hosted = _object(after.get("hosted_confirmation", {}), f"{path}.hosted_confirmation")
    return AfterCompletion(
        type=kind,
        return_url=_string(redirect, "return_url", f"{path}.redirect") or "",
        custom_message=_string(hosted, "custom_message", f"{path}.hosted_confirmation") or "",
    )


def flow_of_body(flow_data: object) -> Flow:
    """The Flow a body's `flow_data` describes; raises BodyError for a malformed one."""
    flow_data = _object(flow_data, "flow_data")
    kind = _choice(flow_data, "type", "flow_data", FlowType)
    path = f"flow_data.{kind.value}"
    task = _object(flow_data.get(kind.value, {}), path)
    product_id, quantity = _confirmed_item(task, path)
    if quantity is not None and (not isinstance(quantity, int) or isinstance(quantity, bool)):
        raise BodyError(f"{path}.quantity", "quantity must be a whole number")
    return Flow(
        type=kind,
        subscription_id=_string(task, "subscription_id", path),
        product_id=product_id,
        quantity=quantity,
        after_completion=_after_completion(flow_data),
    )


async def session_body(request: Request) -> dict[str, Any]:
    """The optional JSON body of the session endpoint; empty when there is none."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = decode_json(raw)
    except ValueError:
        body = None
    body = _object(body, "body")
    unknown = sorted(set(body) - _SESSION_BODY_KEYS)
    if unknown:
        raise BodyError(unknown[0], f"{unknown[0]} is not a field of this endpoint")
    return body


def rest_field(field: str | None, flow: Flow | None) -> str | None:
    """The body's path of a PortalLinkError's field (`flow.subscription_id` → `flow_data.subscription_cancel…`)."""
    path = _FLOW_FIELDS.get(field or "")
    return path.format(type=flow.type.value) if path and flow else field


def _link_error_response(error: PortalLinkError, flow: Flow | None) -> JSONResponse:
    """404 for a customer the key cannot see, 429 with Retry-After past the email limits, else 422."""
    field = rest_field(error.field, flow)
    return RestError(error.code, error.message, field, retry_after=error.retry_after).response()


def routes(settings: Settings) -> list[BaseRoute]:
    async def create_portal_session(request: Request) -> JSONResponse:
        api_key = await presented_api_key(request)
        if api_key is None:
            return error_response(RestErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
        send_email = query_flag(request, "send_email")
        if send_email is None:
            return error_response(RestErrorCode.INVALID_QUERY, "send_email must be true or false", "send_email")
        try:
            body = await session_body(request)
            flow = flow_of_body(body["flow_data"]) if body.get("flow_data") is not None else None
            configuration_id = _string(body, "configuration_id", "")
            locale = _string(body, "locale", "") or ""
        except BodyError as error:
            code = RestErrorCode.INVALID_BODY if error.field == "body" else MerchantErrorCode.INVALID_INPUT
            return error_response(code, error.message, error.field)
        try:
            customer = await customer_of_business(
                business_id=api_key.business_id,
                livemode=api_key.livemode,
                customer_id=request.path_params["customer_id"],
            )
            link, _ = await create_portal_link(
                customer=customer,
                base_url=settings.base_url,
                link_seconds=settings.magic_link_seconds,
                portal_name=settings.portal_name,
                secret_key=settings.secret_key,
                return_url=request.query_params.get("return_url", ""),
                locale=locale,
                configuration_id=configuration_id,
                flow=flow,
                send_email=send_email,
                minted_by=api_key,
                email_limits=settings.merchant_email_limits,
            )
        except PortalLinkError as error:
            return _link_error_response(error, flow)
        return JSONResponse({"link": link})

    return [
        Route("/customers/{customer_id}/customer-portal/session", create_portal_session, methods=["POST"]),
    ]

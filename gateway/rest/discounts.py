"""Dodo-compatible REST for discounts: `GET|POST /discounts`, `GET|PATCH|DELETE /discounts/{discount_id}` and
`GET /discounts/code/{discount_code}`, over merchants.discounts; the discount is billing.resources' `discount_object`.

Where we differ from Dodo Payments:
- `code` is required (no generated codes); a `flat` discount names its `currency` (the portal's own field), a
  `percentage` is in basis points as in Dodo;
- `subscription_cycles` absent or null applies forever, else for that many billing cycles;
- a discount applies to any customer and product, without usage limits or validity window, and stays through plan
  changes: `customer_eligibility` other than `any`, a non-empty `restricted_to`, `preserve_on_plan_change: false`
  and the limits and dates are refused by name (422), as is `metadata`;
- `DELETE` answers 204; subscriptions carrying the discount keep it for the renewals it has left, and its code stays
  taken (merchants.discounts);
- `GET /discounts` filters by `code`, `discount_type`, `active` (every discount is) and `product_id` (every discount
  applies to every product).
"""

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.queryset import QuerySet

from billing.resources import discount_object, discount_objects
from gateway.rest.common import MerchantCall, list_response, merchant_endpoint
from gateway.rest.customers import flag, text, whole_number
from gateway.rest.errors import RestError, RestErrorCode, not_found
from merchants.discounts import create_discount, delete_discount, discounts_of, find_discount, update_discount
from merchants.inputs import MerchantErrorCode
from models import Discount
from models.enums import DiscountDuration, DiscountType

_FIELDS = (
    "code",
    "name",
    "type",
    "amount",
    "currency",
    "subscription_cycles",
    "preserve_on_plan_change",
    "restricted_to",
    "customer_eligibility",
)
_TYPES = {"flat": DiscountType.FIXED, "percentage": DiscountType.PERCENTAGE}


def _refuse(name: str, message: str) -> RestError:
    return RestError(MerchantErrorCode.INVALID_INPUT, message, name)


def _values(body: dict[str, Any]) -> dict[str, object]:
    """The domain's fields for Dodo's body; what the portal's discounts cannot be is refused by name."""
    if flag(body, "preserve_on_plan_change") is False:
        raise _refuse("preserve_on_plan_change", "A discount always stays through plan changes.")
    if body.get("restricted_to"):
        raise _refuse("restricted_to", "A discount applies to every product.")
    if body.get("customer_eligibility") not in (None, "any"):
        raise _refuse("customer_eligibility", "A discount is open to any customer.")
    values: dict[str, object] = {name: text(body, name) for name in ("code", "name", "currency") if name in body}
    if "type" in body:
        kind = text(body, "type")
        if kind not in _TYPES:
            raise _refuse("type", "type must be flat or percentage.")
        values["type"] = _TYPES[kind]
    if "amount" in body:
        values["amount"] = whole_number(body, "amount")
    if "subscription_cycles" in body:
        cycles = whole_number(body, "subscription_cycles")
        values["duration"] = DiscountDuration.FOREVER if cycles is None else DiscountDuration.REPEATING
        values["duration_cycles"] = cycles
    return values


async def _scoped(call: MerchantCall) -> Discount:
    """The key's discount with the path's id; a deleted one is answered like a missing one."""
    discount = await find_discount(call.business_id, call.livemode, call.request.path_params["discount_id"])
    if discount is None:
        raise not_found("discount")
    return discount


def _active(query: QuerySet, value: str) -> QuerySet:
    if value not in ("true", "false"):
        raise RestError(RestErrorCode.INVALID_QUERY, "active must be true or false.", "active")
    return query if value == "true" else query.filter(pk__in=[])


def _of_type(query: QuerySet, value: str) -> QuerySet:
    if value not in _TYPES:
        raise RestError(RestErrorCode.INVALID_QUERY, "discount_type must be flat or percentage.", "discount_type")
    return query.filter(type=_TYPES[value])


@merchant_endpoint
async def list_discounts(call: MerchantCall) -> Response:
    filters = {
        "code": lambda query, code: query.filter(code=code.upper()),
        "discount_type": _of_type,
        "active": _active,
        "product_id": lambda query, _product_id: query,
    }
    return await list_response(call, discounts_of(call.business_id, call.livemode), discount_objects, filters)


@merchant_endpoint
async def post_discount(call: MerchantCall) -> Response:
    values = _values(await call.json_body(_FIELDS))
    values.setdefault("duration", DiscountDuration.FOREVER)
    discount = await create_discount(call.business_id, call.livemode, values)
    return JSONResponse(await discount_object(discount))


@merchant_endpoint
async def get_discount(call: MerchantCall) -> Response:
    return JSONResponse(await discount_object(await _scoped(call)))


@merchant_endpoint
async def get_discount_by_code(call: MerchantCall) -> Response:
    code = call.request.path_params["discount_code"].upper()
    discount = await discounts_of(call.business_id, call.livemode).filter(code=code).first()
    if discount is None:
        raise RestError(MerchantErrorCode.NOT_FOUND, "No discount with that code.")
    return JSONResponse(await discount_object(discount))


@merchant_endpoint
async def patch_discount(call: MerchantCall) -> Response:
    discount = await _scoped(call)
    discount = await update_discount(discount, _values(await call.json_body(_FIELDS)))
    return JSONResponse(await discount_object(discount))


@merchant_endpoint
async def delete_discount_route(call: MerchantCall) -> Response:
    await delete_discount(await _scoped(call))
    return Response(status_code=204)


def routes() -> list[BaseRoute]:
    return [
        Route("/discounts", list_discounts, methods=["GET"]),
        Route("/discounts", post_discount, methods=["POST"]),
        Route("/discounts/code/{discount_code}", get_discount_by_code, methods=["GET"]),
        Route("/discounts/{discount_id}", get_discount, methods=["GET"]),
        Route("/discounts/{discount_id}", patch_discount, methods=["PATCH"]),
        Route("/discounts/{discount_id}", delete_discount_route, methods=["DELETE"]),
    ]

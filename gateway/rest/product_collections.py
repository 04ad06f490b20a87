"""Dodo-compatible REST for product collections: `GET|POST /product-collections` and
`GET|PATCH /product-collections/{collection_id}`, over merchants.product_collections; the collection is
billing.resources' `product_collection_object`.

Where we differ from Dodo Payments:
- a collection is one group of plans, lowest first, all active: `groups` holds exactly one group, without a name,
  whose products are recurring, share one currency and belong to no other collection; a group or product `status`
  of false is refused, as are more groups;
- a collection has no description, image or plan-change defaults of its own (the business's portal configuration
  decides how plan changes bill): those fields are refused by name when given a value;
- PATCH renames (it answers the collection; Dodo answers nothing); the groups API (`/product-collections/{id}/groups`)
  and translations are not served (404), and there is no archive: `DELETE` answers 405;
- `GET /product-collections` lists every collection (`archived=true` lists none: none is archived); there are no
  translations, so `locale` shows the base text.
"""

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.queryset import QuerySet

from billing.resources import product_collection_object, product_collection_objects
from gateway.rest.common import MerchantCall, list_response, merchant_endpoint
from gateway.rest.customers import text
from gateway.rest.errors import RestError, RestErrorCode
from merchants.inputs import MerchantErrorCode
from merchants.product_collections import collections_of, create_collection, update_collection
from models import ProductCollection

_NOT_OFFERED = (
    "description",
    "image_id",
    "effective_at_on_downgrade",
    "effective_at_on_upgrade",
    "on_payment_failure",
    "proration_billing_mode_on_downgrade",
    "proration_billing_mode_on_upgrade",
    "group_order",
)
_FIELDS = ("name", "groups", "brand_id", *_NOT_OFFERED)


def _refuse(field: str, message: str) -> RestError:
    return RestError(MerchantErrorCode.INVALID_INPUT, message, field)


def _checked(call: MerchantCall, body: dict[str, Any]) -> None:
    for name in _NOT_OFFERED:
        if body.get(name) is not None:
            raise _refuse(name, f"{name} is not supported by the portal.")
    if body.get("brand_id") not in (None, call.business_id):
        raise _refuse("brand_id", "brand_id must be the business's id: a business is its one brand.")


def _product_ids(body: dict[str, Any]) -> list[str]:
    """The plans of Dodo's `groups`, which the portal takes as one active, unnamed group."""
    groups = body.get("groups")
    if not isinstance(groups, list) or len(groups) != 1 or not isinstance(groups[0], dict):
        raise _refuse("groups", "groups must hold exactly one group: a collection is one group of plans.")
    group = groups[0]
    if group.get("group_name") is not None or group.get("status") is False:
        field = "groups.0.group_name" if group.get("group_name") is not None else "groups.0.status"
        raise _refuse(field, "A collection's one group has no name and is active.")
    products = group.get("products")
    if not isinstance(products, list) or not all(isinstance(product, dict) for product in products):
        raise _refuse("groups.0.products", "products must be a list of {product_id} objects.")
    for index, product in enumerate(products):
        if product.get("status") is False:
            raise _refuse(f"groups.0.products.{index}.status", "Every product of a collection is active.")
        if not isinstance(product.get("product_id"), str):
            raise _refuse(f"groups.0.products.{index}.product_id", "product_id must be a string.")
    return [product["product_id"] for product in products]


async def _scoped(call: MerchantCall) -> ProductCollection:
    return await call.scoped(ProductCollection, call.request.path_params["collection_id"], "product collection")


def _archived(query: QuerySet, value: str) -> QuerySet:
    if value not in ("true", "false"):
        raise RestError(RestErrorCode.INVALID_QUERY, "archived must be true or false.", "archived")
    return query if value == "false" else query.filter(pk__in=[])


@merchant_endpoint
async def list_collections(call: MerchantCall) -> Response:
    query = collections_of(call.business_id, call.livemode)
    filters = {"archived": _archived, "locale": lambda query, _locale: query}  # no translations: the base text
    return await list_response(call, query, product_collection_objects, filters)


@merchant_endpoint
async def post_collection(call: MerchantCall) -> Response:
    body = await call.json_body(_FIELDS)
    _checked(call, body)
    product_ids = _product_ids(body)
    collection = await create_collection(call.business_id, call.livemode, text(body, "name"), product_ids)
    return JSONResponse(await product_collection_object(collection))


@merchant_endpoint
async def get_collection(call: MerchantCall) -> Response:
    return JSONResponse(await product_collection_object(await _scoped(call)))


@merchant_endpoint
async def patch_collection(call: MerchantCall) -> Response:
    collection = await _scoped(call)
    body = await call.json_body(_FIELDS)
    _checked(call, body)
    if "groups" in body:
        raise _refuse("groups", "groups is not a field of an update.")
    collection = await update_collection(collection, name=text(body, "name"))
    return JSONResponse(await product_collection_object(collection))


def routes() -> list[BaseRoute]:
    return [
        Route("/product-collections", list_collections, methods=["GET"]),
        Route("/product-collections", post_collection, methods=["POST"]),
        Route("/product-collections/{collection_id}", get_collection, methods=["GET"]),
        Route("/product-collections/{collection_id}", patch_collection, methods=["PATCH"]),
    ]

"""Dodo-compatible REST for products: `GET|POST /products`, `GET|PATCH|DELETE /products/{product_id}` (DELETE
archives) and `POST /products/{product_id}/unarchive`, over merchants.products; the product is billing.resources'
`product_object` (`product_list_item` in lists).

Where we differ from Dodo Payments:
- `price` is a `one_time_price` or a `recurring_price`; the portal does not meter usage, so `usage_based_price` is
  refused, as are a price's discount, pay-what-you-want, purchasing power parity and paid or card-less trials
  (422 naming the field, e.g. `price.discount_bps`); a product's price type never changes (create a new product);
- images, files, addons, entitlements, credit entitlements, digital product delivery, localized pricing and a
  license key activation message are refused by name when given a value;
- PATCH, DELETE and unarchive answer the product as it now is (Dodo answers nothing; its SDK reads nothing);
- `GET /products` lists products that are not archived unless `archived=true`, and filters by `recurring`; there
  are no translations, so `locale` shows the base text (as Dodo does for an untranslated field).
"""

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.queryset import QuerySet

from billing.resources import product_list_item, product_object
from core.errors import DomainError
from gateway.rest.common import MerchantCall, each, list_response, merchant_endpoint
from gateway.rest.customers import flag, mapping, text, whole_number
from gateway.rest.errors import RestError, RestErrorCode, rest_error
from merchants.inputs import MerchantErrorCode
from merchants.products import create_product, products_of, set_archived, update_product
from models import Product
from models.enums import PriceType

_NOT_OFFERED = (
    "addons",
    "entitlements",
    "credit_entitlements",
    "digital_product_delivery",
    "license_key_activation_message",
    "pricing_mode",
    "image_id",
)
_FIELDS = (
    "name",
    "description",
    "price",
    "tax_category",
    "metadata",
    "license_key_enabled",
    "license_key_activations_limit",
    "license_key_duration",
    "brand_id",
    *_NOT_OFFERED,
)
_PRICE_TYPES = {"one_time_price": PriceType.ONE_TIME, "recurring_price": PriceType.RECURRING}
_PRICE_FIELDS = (
    "price",
    "currency",
    "tax_inclusive",
    "payment_frequency_count",
    "payment_frequency_interval",
    "subscription_period_count",
    "subscription_period_interval",
    "trial_period_days",
)
# What a Dodo price may carry only as "not used": the portal has none of these.
_PRICE_OFF = {
    "discount": 0,
    "discount_bps": 0,
    "pay_what_you_want": False,
    "purchasing_power_parity": False,
    "suggested_price": None,
    "trial_amount": None,
    "trial_apply_discounts": False,
    "trial_payment_method_optional": False,
    "zero_amount_payment_method_optional": False,
}


def _refuse(field: str, message: str) -> RestError:
    return RestError(MerchantErrorCode.INVALID_INPUT, message, field)


def _price(body: dict[str, Any]) -> dict[str, object]:
    """The domain's price fields for Dodo's `price` object."""
    price = mapping(body, "price")
    if price is None:
        return {}
    kind = price.get("type")
    if kind not in _PRICE_TYPES:
        raise _refuse("price.type", "price.type must be one_time_price or recurring_price.")
    for name, value in price.items():
        if name in _PRICE_OFF and value not in (_PRICE_OFF[name], None):
            raise _refuse(f"price.{name}", f"price.{name} is not supported by the portal.")
        if name not in _PRICE_OFF and name not in _PRICE_FIELDS and name != "type":
            raise _refuse(f"price.{name}", f"price.{name} is not supported by the portal.")
    given = {name: price[name] for name in _PRICE_FIELDS if name in price}
    return {"price_type": _PRICE_TYPES[kind], **given}


def _license_key_duration(body: dict[str, Any]) -> dict[str, object]:
    if "license_key_duration" not in body:
        return {}
    duration = mapping(body, "license_key_duration") or {}
    return {
        "license_key_duration_count": duration.get("count"),
        "license_key_duration_interval": duration.get("interval"),
    }


def _values(call: MerchantCall, body: dict[str, Any]) -> dict[str, object]:
    """The domain's fields for Dodo's body; what the portal's products cannot have is refused by name."""
    for name in _NOT_OFFERED:
        if body.get(name) not in (None, []):
            raise _refuse(name, f"{name} is not supported by the portal.")
    if body.get("brand_id") not in (None, call.business_id):
        raise _refuse("brand_id", "brand_id must be the business's id: a business is its one brand.")
    values: dict[str, object] = {name: text(body, name) for name in ("name", "description") if name in body}
    if "description" in values and values["description"] is None:
        values["description"] = ""
    for name in ("tax_category", "metadata"):
        if name in body:
            values[name] = body[name]
    if "license_key_enabled" in body:
        values["license_key_enabled"] = flag(body, "license_key_enabled")
    if "license_key_activations_limit" in body:
        values["license_key_activations_limit"] = whole_number(body, "license_key_activations_limit")
    return {**values, **_price(body), **_license_key_duration(body)}


def _field_path(error: DomainError[Any]) -> RestError:
    """A domain refusal, its field named where Dodo's body has it (`price.currency`, `license_key_duration.count`)."""
    field = error.details()[0].field or ""
    if field in _PRICE_FIELDS or field == "price_type":
        return rest_error(error, "price." + ("type" if field == "price_type" else field))
    if field.startswith("license_key_duration_"):
        return rest_error(error, "license_key_duration." + field.removeprefix("license_key_duration_"))
    return rest_error(error)


async def _scoped(call: MerchantCall) -> Product:
    return await call.scoped(Product, call.request.path_params["product_id"], "product")


def _truth(name: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise RestError(RestErrorCode.INVALID_QUERY, f"{name} must be true or false.", name)
    return value == "true"


def _archived(query: QuerySet, value: str) -> QuerySet:
    return query.filter(archived=_truth("archived", value))


def _recurring(query: QuerySet, value: str) -> QuerySet:
    recurring = {"price_type": PriceType.RECURRING}
    return query.filter(**recurring) if _truth("recurring", value) else query.exclude(**recurring)


async def _list_item(product: Product) -> dict[str, Any]:
    return product_list_item(product)


@merchant_endpoint
async def list_products(call: MerchantCall) -> Response:
    query = products_of(call.business_id, call.livemode)
    if "archived" not in call.request.query_params:
        query = query.filter(archived=False)
    # No product has translations, so every `locale` shows the base text, as Dodo shows an untranslated field.
    filters = {"archived": _archived, "recurring": _recurring, "locale": lambda query, _locale: query}
    return await list_response(call, query, each(_list_item), filters)


@merchant_endpoint
async def post_product(call: MerchantCall) -> Response:
    body = await call.json_body(_FIELDS)
    for required in ("name", "price", "tax_category"):
        if body.get(required) is None:
            raise _refuse(required, f"{required} is required.")
    values = _values(call, body)
    try:
        product = await create_product(call.business_id, call.livemode, values)
    except DomainError as error:
        raise _field_path(error) from None
    return JSONResponse(product_object(product))


@merchant_endpoint
async def get_product(call: MerchantCall) -> Response:
    return JSONResponse(product_object(await _scoped(call)))


@merchant_endpoint
async def patch_product(call: MerchantCall) -> Response:
    product = await _scoped(call)
    values = _values(call, await call.json_body(_FIELDS))
    try:
        product = await update_product(product, values)
    except DomainError as error:
        raise _field_path(error) from None
    return JSONResponse(product_object(product))


@merchant_endpoint
async def archive_product(call: MerchantCall) -> Response:
    return JSONResponse(product_object(await set_archived(await _scoped(call), True)))


@merchant_endpoint
async def unarchive_product(call: MerchantCall) -> Response:
    if await call.request.body():  # Dodo's SDK sends none; a body, if any, is an object without fields
        await call.json_body(())
    return JSONResponse(product_object(await set_archived(await _scoped(call), False)))


def routes() -> list[BaseRoute]:
    return [
        Route("/products", list_products, methods=["GET"]),
        Route("/products", post_product, methods=["POST"]),
        Route("/products/{product_id}", get_product, methods=["GET"]),
        Route("/products/{product_id}", patch_product, methods=["PATCH"]),
        Route("/products/{product_id}", archive_product, methods=["DELETE"]),
        Route("/products/{product_id}/unarchive", unarchive_product, methods=["POST"]),
    ]

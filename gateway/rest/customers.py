"""Dodo-compatible REST for customers: `GET|POST /customers`, `GET|PATCH /customers/{customer_id}`, over
merchants.customers; and the body readers the subscription routes share.

The customer is billing.resources' `customer_object`. Where we differ from Dodo Payments:
- a customer also carries `billing_address`, `tax_id`, `locale` (the same as Dodo's `preferred_locale`, which is
  taken too) and `email_verified` (false until the customer signs in with a link or code they asked for in the
  business's portal, or adds the business in their unified portal; false again after the merchant changes the email);
  `name` may be omitted on create;
- `GET /customers` filters by `email`, `name` (exact) and creation time;
- values go through the portal's checks (phone numbers stored in E.164, tax IDs validated for the billing country);
  a refusal is a 422 naming the first field refused.
"""

from typing import Any

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from tortoise.queryset import QuerySet

from billing.resources import customer_object
from core.customer_fields import AddressChanges
from gateway.rest.common import MerchantCall, each, list_response, merchant_endpoint
from gateway.rest.errors import RestError
from merchants.customers import CustomerFields, create_customer, customers_of, update_customer, with_email
from merchants.inputs import MerchantErrorCode
from models import Customer

_ADDRESS_PARTS = ("line1", "line2", "city", "state", "postal_code", "country")
_FIELDS = ("email", "name", "phone_number", "billing_address", "tax_id", "locale", "preferred_locale", "metadata")


def _invalid(name: str, kind: str) -> RestError:
    return RestError(MerchantErrorCode.INVALID_INPUT, f"{name} must be {kind}.", name)


def text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(name, "a string")
    return value


def whole_number(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _invalid(name, "a whole number")
    return value


def flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise _invalid(name, "true or false")
    return value


def mapping(body: dict[str, Any], name: str) -> dict | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise _invalid(name, "an object")
    return value


def _address(body: dict[str, Any]) -> AddressChanges | None:
    given = mapping(body, "billing_address")
    if given is None:
        return None
    return AddressChanges(**{part: text(given, part) for part in _ADDRESS_PARTS})


def customer_fields(body: dict[str, Any]) -> CustomerFields:
    locale = text(body, "preferred_locale")
    return CustomerFields(
        name=text(body, "name"),
        email=text(body, "email"),
        phone_number=text(body, "phone_number"),
        billing_address=_address(body),
        tax_id=text(body, "tax_id"),
        locale=text(body, "locale") if locale is None else locale,
        metadata=body.get("metadata"),
    )


async def _customer_json(customer: Customer) -> dict[str, Any]:
    return customer_object(customer)


def _by_name(query: QuerySet, name: str) -> QuerySet:
    return query.filter(name=name)


async def list_customers(call: MerchantCall) -> JSONResponse:
    query = customers_of(call.business_id, call.livemode)
    return await list_response(call, query, each(_customer_json), {"email": with_email, "name": _by_name})


async def post_customer(call: MerchantCall) -> JSONResponse:
    body = await call.json_body(_FIELDS)
    email = text(body, "email")
    if email is None:
        raise RestError(MerchantErrorCode.INVALID_INPUT, "email is required.", "email")
    creation = await create_customer(call.business_id, call.livemode, email, customer_fields(body))
    return JSONResponse(customer_object(creation.customer))


async def get_customer(call: MerchantCall) -> JSONResponse:
    customer = await call.scoped(Customer, call.request.path_params["customer_id"], "customer")
    return JSONResponse(customer_object(customer))


async def patch_customer(call: MerchantCall) -> JSONResponse:
    customer = await call.scoped(Customer, call.request.path_params["customer_id"], "customer")
    body = await call.json_body(_FIELDS)
    customer = await update_customer(customer, customer_fields(body))
    return JSONResponse(customer_object(customer))


def routes() -> list[BaseRoute]:
    return [
        Route("/customers", merchant_endpoint(list_customers), methods=["GET"]),
        Route("/customers", merchant_endpoint(post_customer), methods=["POST"]),
        Route("/customers/{customer_id}", merchant_endpoint(get_customer), methods=["GET"]),
        Route("/customers/{customer_id}", merchant_endpoint(patch_customer), methods=["PATCH"]),
    ]

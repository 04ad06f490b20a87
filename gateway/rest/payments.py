"""Dodo-compatible REST over payments, refunds and license keys, for integrations written for Dodo Payments:
`GET /payments`, `GET /payments/{payment_id}`, `POST|GET /refunds`, `GET /refunds/{refund_id}`,
`GET /license_keys`, `GET|PATCH /license_keys/{license_key_id}`, `GET /license_key_instances`,
`GET|PATCH /license_key_instances/{instance_id}`, `GET /invoices/payments/{payment_id}` and
`GET /invoices/refunds/{refund_id}` (the credit note). Dodo's field names and objects
(billing.resources), list shape and status codes, over the same domain functions as the merchant GraphQL schema.

Where we differ from Dodo:
- `POST /refunds` takes `amount` (minor units; absent: all that is left) or Dodo's `items` (`item_id`: a product
  the payment bought; `amount`: what to give back for it, which only a lone item may leave out for all that is
  left); `metadata` is refused (422: not stored). With an `Idempotency-Key` header a retry answers the first refund
  and the key reused for another refund answers 409; without one, the request runs once as sent. A refund that
  cannot be made answers 422 with a code (REFUND_AMOUNT_INVALID, PAYMENT_NOT_REFUNDABLE), where Dodo answers 400.
- `GET /payments` filters by `customer_id`, `subscription_id`, `product_id`, `status`, `currency` and creation time.
- The PDFs want the API key (Dodo's links are open to anyone holding them), answer 404 while the payment has no
  invoice (the refund no credit note), and are never cached; each is stored once rendered and carries a strong
  ETag (`If-None-Match` answers 304); while every renderer is busy, 503 UNAVAILABLE with Retry-After.
- License keys cannot be created by hand (every key is issued by a purchase); a key's PATCH takes
  `activations_limit`, `disabled` and `expires_at`, an instance's PATCH its `name`.
"""

import functools
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from billing.document_store import RendererBusy, StoredPdf, credit_note_pdf, invoice_pdf
from billing.errors import BillingError
from billing.license_keys import UNCHANGED, Unchanged, rename_instance, update_license_key
from billing.refunds import refund_payment
from billing.resources import (
    license_key_instance_object,
    license_key_object,
    license_key_objects,
    payment_object,
    payment_objects,
    product_cart,
    refund_object,
)
from core.clock import utcnow
from core.i18n import DEFAULT_LOCALE, supported_locale
from gateway.pages.documents import pdf_response, renderer_of
from gateway.payments import billing_of
from gateway.pdf_rendering import RETRY_AFTER_SECONDS
from gateway.rest.common import MerchantCall, by_id, by_status, each, list_response, merchant_endpoint
from gateway.rest.customers import flag, text, whole_number
from gateway.rest.errors import RestError, RestErrorCode, not_found, rest_error
from merchants.inputs import MerchantErrorCode
from models import (
    Customer,
    Invoice,
    LicenseKey,
    LicenseKeyInstance,
    Payment,
    PaymentItem,
    Product,
    Refund,
    Subscription,
)
from models.enums import LicenseKeyStatus, PaymentStatus, RefundStatus

_REFUND_FIELDS = ("payment_id", "amount", "items", "reason")
_LICENSE_KEY_FIELDS = ("activations_limit", "disabled", "expires_at")


def _invalid(message: str, field: str) -> RestError:
    return RestError(MerchantErrorCode.INVALID_INPUT, message, field)


def _bought(query: QuerySet, product_id: str) -> QuerySet:
    """The payments whose `product_cart` (billing.resources.product_cart) holds the product."""
    with_product = Subquery(PaymentItem.filter(product_id=product_id).values("payment_id"))
    itemised = Subquery(PaymentItem.all().values("payment_id"))
    by_plan = Q(subscription__product_id=product_id) & ~Q(id__in=itemised)
    return query.filter(Q(id__in=with_product) | by_plan)


@merchant_endpoint
async def list_payments(call: MerchantCall) -> Response:
    filters = {
        "product_id": _bought,
        "customer_id": by_id("customer_id", Customer),
        "subscription_id": by_id("subscription_id", Subscription),
        "status": by_status(PaymentStatus),
        "currency": lambda query, currency: query.filter(currency=currency),
    }
    return await list_response(call, call.scope(Payment).select_related("customer"), payment_objects, filters)


@merchant_endpoint
async def get_payment(call: MerchantCall) -> Response:
    payment = await call.scoped(Payment, call.request.path_params["payment_id"], "payment")
    return JSONResponse(await payment_object(payment))


async def _items_amount(payment: Payment, items: object) -> int | None:
    """The amount Dodo's refund `items` add up to; None (all that is left) for one item without an amount."""
    if not isinstance(items, list) or not items:
        raise _invalid("items must be a list of {item_id, amount}.", "items")
    bought = {item["product_id"] for item in await product_cart(payment)}
    total = 0
    for index, item in enumerate(items):
        if not isinstance(item, dict) or item.get("item_id") not in bought:
            raise _invalid("item_id must be a product the payment bought.", f"items.{index}.item_id")
        amount = whole_number(item, "amount")
        if amount is None:
            if len(items) > 1:
                raise _invalid("Give each item's amount when refunding several.", f"items.{index}.amount")
            return None
        total += amount
    return total


async def _refund_request(call: MerchantCall) -> tuple[Payment, int | None, str]:
    body = await call.json_body(_REFUND_FIELDS)
    payment_id, reason = text(body, "payment_id"), text(body, "reason") or ""
    if payment_id is None:
        raise _invalid("payment_id is required.", "payment_id")
    payment = await call.scoped(Payment, payment_id, "payment")
    if "items" in body and "amount" in body:
        raise _invalid("Refund an amount or items, not both.", "items")
    amount = await _items_amount(payment, body["items"]) if "items" in body else whole_number(body, "amount")
    return payment, amount, reason


@merchant_endpoint
async def create_refund(call: MerchantCall) -> Response:
    client_key = call.idempotency_key()
    payment, amount, reason = await _refund_request(call)
    refund = await refund_payment(payment, amount, reason, client_key=client_key, context=billing_of(call.request))
    return JSONResponse(await refund_object(refund))


@merchant_endpoint
async def list_refunds(call: MerchantCall) -> Response:
    filters = {
        "customer_id": by_id("customer_id", Customer),
        "payment_id": by_id("payment_id", Payment),
        "subscription_id": by_id("payment__subscription_id", Subscription),
        "status": by_status(RefundStatus),
    }
    query = call.scope(Refund).select_related("customer", "payment")
    return await list_response(call, query, each(refund_object), filters)


@merchant_endpoint
async def get_refund(call: MerchantCall) -> Response:
    refund = await call.scoped(Refund, call.request.path_params["refund_id"], "refund")
    return JSONResponse(await refund_object(refund))


@merchant_endpoint
async def list_license_keys(call: MerchantCall) -> Response:
    filters = {
        "customer_id": by_id("customer_id", Customer),
        "product_id": by_id("product_id", Product),
        "status": by_status(LicenseKeyStatus),
        "source": lambda query, source: query if source == "auto" else query.filter(pk__in=[]),
    }
    return await list_response(call, call.scope(LicenseKey), license_key_objects, filters)


@merchant_endpoint
async def get_license_key(call: MerchantCall) -> Response:
    key = await call.scoped(LicenseKey, call.request.path_params["license_key_id"], "license key")
    return JSONResponse(await license_key_object(key))


def _expiry(body: dict[str, Any]) -> datetime | None | Unchanged:
    if "expires_at" not in body:
        return UNCHANGED
    value = text(body, "expires_at")
    try:
        return None if value is None else datetime.fromisoformat(value)
    except ValueError:
        raise _invalid("expires_at must be an ISO 8601 time.", "expires_at") from None


@merchant_endpoint
async def patch_license_key(call: MerchantCall) -> Response:
    key = await call.scoped(LicenseKey, call.request.path_params["license_key_id"], "license key")
    body = await call.json_body(_LICENSE_KEY_FIELDS)
    disabled = flag(body, "disabled")
    status = None if disabled is None else LicenseKeyStatus.DISABLED if disabled else LicenseKeyStatus.ACTIVE
    limit = whole_number(body, "activations_limit") if "activations_limit" in body else UNCHANGED
    try:
        key = await update_license_key(
            key, now=utcnow(), status=status, activations_limit=limit, expires_at=_expiry(body)
        )
    except BillingError as error:
        raise rest_error(error) from None
    return JSONResponse(await license_key_object(key))


def _instances(call: MerchantCall) -> Any:
    """The instances of the key's business and mode (an instance belongs to them through its key)."""
    return LicenseKeyInstance.filter(license_key__business_id=call.business_id, license_key__livemode=call.livemode)


async def _scoped_instance(call: MerchantCall) -> LicenseKeyInstance:
    instance = await _instances(call).filter(id=call.request.path_params["instance_id"]).first()
    if instance is None:
        raise not_found("license key instance")
    return instance


@merchant_endpoint
async def list_license_key_instances(call: MerchantCall) -> Response:
    async def to_json(instance: LicenseKeyInstance) -> dict[str, Any]:
        return license_key_instance_object(instance, call.business_id)

    filters = {"license_key_id": by_id("license_key_id", LicenseKey)}
    return await list_response(call, _instances(call), each(to_json), filters)


@merchant_endpoint
async def get_license_key_instance(call: MerchantCall) -> Response:
    return JSONResponse(license_key_instance_object(await _scoped_instance(call), call.business_id))


@merchant_endpoint
async def patch_license_key_instance(call: MerchantCall) -> Response:
    instance = await _scoped_instance(call)
    name = text(await call.json_body(("name",)), "name")
    if name is None:
        raise _invalid("name is required.", "name")
    instance = await rename_instance(instance, name)
    return JSONResponse(license_key_instance_object(instance, call.business_id))


async def _stored(pdf: Awaitable[StoredPdf]) -> StoredPdf:
    try:
        return await pdf
    except RendererBusy:
        message = "Every PDF renderer is busy; try again shortly."
        raise RestError(RestErrorCode.UNAVAILABLE, message, retry_after=RETRY_AFTER_SECONDS) from None


def _locale(call: MerchantCall) -> str:
    return supported_locale(call.request.query_params.get("locale", "")) or DEFAULT_LOCALE


@merchant_endpoint
async def payment_invoice(call: MerchantCall) -> Response:
    payment = await call.scoped(Payment, call.request.path_params["payment_id"], "payment")
    invoice = await Invoice.get_or_none(payment_id=payment.id)
    if invoice is None:
        raise not_found("invoice")

    async def paid_with() -> Payment:
        return payment

    pdf = await _stored(invoice_pdf(invoice, paid_with, _locale(call), renderer_of(call.request)))
    return pdf_response(call.request, invoice.number, pdf)


@merchant_endpoint
async def refund_credit_note(call: MerchantCall) -> Response:
    refund = await call.scoped(Refund, call.request.path_params["refund_id"], "refund")
    invoice = await Invoice.get_or_none(id=refund.invoice_id) if refund.invoice_id else None
    if invoice is None or refund.credit_note_number is None:
        raise not_found("credit note")
    payment = functools.partial(Payment.get_or_none, id=refund.payment_id)
    pdf = await _stored(credit_note_pdf(refund, invoice, payment, _locale(call), renderer_of(call.request)))
    return pdf_response(call.request, refund.credit_note_number, pdf)


def routes() -> list[BaseRoute]:
    return [
        Route("/payments", list_payments, methods=["GET"]),
        Route("/payments/{payment_id}", get_payment, methods=["GET"]),
        Route("/refunds", create_refund, methods=["POST"]),
        Route("/refunds", list_refunds, methods=["GET"]),
        Route("/refunds/{refund_id}", get_refund, methods=["GET"]),
        Route("/license_keys", list_license_keys, methods=["GET"]),
        Route("/license_keys/{license_key_id}", get_license_key, methods=["GET"]),
        Route("/license_keys/{license_key_id}", patch_license_key, methods=["PATCH"]),
        Route("/license_key_instances", list_license_key_instances, methods=["GET"]),
        Route("/license_key_instances/{instance_id}", get_license_key_instance, methods=["GET"]),
        Route("/license_key_instances/{instance_id}", patch_license_key_instance, methods=["PATCH"]),
        Route("/invoices/payments/{payment_id}", payment_invoice, methods=["GET"]),
        Route("/invoices/refunds/{refund_id}", refund_credit_note, methods=["GET"]),
    ]

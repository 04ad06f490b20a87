"""Dodo-compatible REST over payments, refunds and license keys, for integrations written for Dodo Payments:
`GET /payments`, `GET /payments/{payment_id}`, `POST /refunds`, `GET /refunds`, `GET /license_keys` and
`GET /invoices/payments/{payment_id}`. Dodo's field names, list shape and status codes, over the same domain
functions as the merchant GraphQL schema (billing.refunds).

Where we differ from Dodo:
- `POST /refunds` takes `amount` (minor units; absent: all that is left) instead of Dodo's per-item `items`, which
  is refused with 422; `metadata` is not stored. The `Idempotency-Key` header is required, and a key reused for
  another refund answers 409. A refund that cannot be made answers 422 with a code (REFUND_AMOUNT_INVALID,
  PAYMENT_NOT_REFUNDABLE), where Dodo answers 400.
- `GET /invoices/payments/{payment_id}` wants the API key (Dodo's link is open to anyone holding it), answers 404
  while the payment has no invoice, and is never cached.
- Payments carry no `billing`, `brand_id`, `product_cart`, `disputes` or settlement fields; lists filter by what
  is documented below, not by dates.
"""

from enum import StrEnum
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.functions import Count

from billing.events import refund_payload
from billing.invoice_pdf import invoice_pdf
from billing.refunds import refund_payment
from core.i18n import DEFAULT_LOCALE, supported_locale
from gateway.pages.documents import attachment_name
from gateway.payments import billing_of
from gateway.rest.common import MerchantCall, list_response, merchant_endpoint, moment
from gateway.rest.errors import RestError, RestErrorCode, not_found
from merchants.inputs import MerchantErrorCode
from models import Customer, Invoice, LicenseKey, Payment, Product, Refund, Subscription
from models.enums import LicenseKeyStatus, PaymentStatus, RefundStatus
from models.ids import matching_id


def customer_json(customer: Customer) -> dict[str, Any]:
    return {"customer_id": customer.id, "email": customer.email, "name": customer.name}


def payment_json(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "business_id": payment.business_id,
        "customer": customer_json(payment.customer),
        "subscription_id": payment.subscription_id,
        "total_amount": payment.total_amount,
        "tax": payment.tax,
        "currency": payment.currency,
        "status": str(payment.status),
        "payment_method": "card" if payment.card_network else None,
        "payment_method_id": payment.payment_method_id,
        "card_last_four": payment.card_last_four or None,
        "card_network": payment.card_network or None,
        "error_code": payment.error_code,
        "error_message": payment.error_message,
        "metadata": {},
        "created_at": moment(payment.created_at),
        "updated_at": moment(payment.updated_at),
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    payload = refund_payload(refund, is_partial=refund.amount < refund.payment.total_amount)
    del payload["payload_type"]
    return {**payload, "customer": customer_json(refund.customer), "metadata": {}}


def license_key_json(key: LicenseKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "business_id": key.business_id,
        "customer_id": key.customer_id,
        "product_id": key.product_id,
        "payment_id": key.payment_id,
        "subscription_id": key.subscription_id,
        "key": key.key,
        "status": str(key.status),
        "activations_limit": key.activations_limit,
        # Annotated by the query that lists the keys (a count of their instances), which the model does not declare.
        "instances_count": key.instances_count,  # type: ignore[attr-defined]
        "expires_at": moment(key.expires_at),
        "created_at": moment(key.created_at),
    }


def _filtered(call: MerchantCall, query, column: str, model: type) -> Any:
    """`query` narrowed by an id filter of the query string; an id that is not the model's matches nothing."""
    return matching_id(query, column, call.request.query_params.get(column), model)


def _status(call: MerchantCall, query, statuses: type[StrEnum]) -> Any:
    value = call.request.query_params.get("status")
    if value is None:
        return query
    if value not in {str(status) for status in statuses}:
        raise RestError(RestErrorCode.INVALID_QUERY, f"status must be one of {', '.join(statuses)}.", "status")
    return query.filter(status=value)


@merchant_endpoint
async def list_payments(call: MerchantCall) -> Response:
    query = call.scope(Payment).select_related("customer")
    query = _filtered(call, query, "customer_id", Customer)
    query = _filtered(call, query, "subscription_id", Subscription)
    return await list_response(call, _status(call, query, PaymentStatus), payment_json)


@merchant_endpoint
async def get_payment(call: MerchantCall) -> Response:
    payment = await call.scoped(Payment, call.request.path_params["payment_id"], "payment")
    await payment.fetch_related("customer")
    refunds = await Refund.filter(payment_id=payment.id).order_by("-created_at", "-id").select_related("customer")
    for refund in refunds:
        refund.payment = payment
    invoice = await Invoice.get_or_none(payment_id=payment.id)
    return JSONResponse(
        {
            **payment_json(payment),
            "invoice_id": invoice.id if invoice else None,
            "refunds": [refund_json(refund) for refund in refunds],
        }
    )


def _refund_request(body: dict[str, Any]) -> tuple[str, int | None, str]:
    if "items" in body:
        raise RestError(RestErrorCode.ITEMS_NOT_SUPPORTED, "Refund an amount of the payment instead of items.", "items")
    payment_id, amount, reason = body.get("payment_id"), body.get("amount"), body.get("reason") or ""
    if not isinstance(payment_id, str):
        raise RestError(MerchantErrorCode.INVALID_INPUT, "payment_id is required.", "payment_id")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
        raise RestError(MerchantErrorCode.INVALID_INPUT, "amount must be a whole number of minor units.", "amount")
    if not isinstance(reason, str):
        raise RestError(MerchantErrorCode.INVALID_INPUT, "reason must be a string.", "reason")
    return payment_id, amount, reason


@merchant_endpoint
async def create_refund(call: MerchantCall) -> Response:
    client_key = call.idempotency_key()
    payment_id, amount, reason = _refund_request(await call.json_body())
    payment = await call.scoped(Payment, payment_id, "payment")
    refund = await refund_payment(payment, amount, reason, client_key=client_key, context=billing_of(call.request))
    await refund.fetch_related("customer", "payment")
    return JSONResponse(refund_json(refund))


@merchant_endpoint
async def list_refunds(call: MerchantCall) -> Response:
    query = call.scope(Refund).select_related("customer", "payment")
    query = _filtered(call, query, "customer_id", Customer)
    query = _filtered(call, query, "payment_id", Payment)
    return await list_response(call, _status(call, query, RefundStatus), refund_json)


@merchant_endpoint
async def list_license_keys(call: MerchantCall) -> Response:
    query = call.scope(LicenseKey).annotate(instances_count=Count("instances"))
    query = _filtered(call, query, "customer_id", Customer)
    query = _filtered(call, query, "product_id", Product)
    return await list_response(call, _status(call, query, LicenseKeyStatus), license_key_json)


@merchant_endpoint
async def payment_invoice(call: MerchantCall) -> Response:
    payment = await call.scoped(Payment, call.request.path_params["payment_id"], "payment")
    invoice = await Invoice.get_or_none(payment_id=payment.id)
    if invoice is None:
        raise not_found("invoice")
    locale = supported_locale(call.request.query_params.get("locale", "")) or DEFAULT_LOCALE
    pdf = await invoice_pdf(invoice, payment, locale)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{attachment_name(invoice.number)}"',
            "Cache-Control": "private, no-store",
        },
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/payments", list_payments, methods=["GET"]),
        Route("/payments/{payment_id}", get_payment, methods=["GET"]),
        Route("/refunds", create_refund, methods=["POST"]),
        Route("/refunds", list_refunds, methods=["GET"]),
        Route("/license_keys", list_license_keys, methods=["GET"]),
        Route("/invoices/payments/{payment_id}", payment_invoice, methods=["GET"]),
    ]

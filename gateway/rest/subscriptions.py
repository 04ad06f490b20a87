"""Dodo-compatible REST for subscriptions: `GET|POST /subscriptions`, `GET|PATCH /subscriptions/{subscription_id}`,
`POST /subscriptions/{subscription_id}/change-plan` and `…/change-plan/preview`, over billing.subscription_start and
billing.merchant_changes.

Where we differ from Dodo Payments:
- `POST /subscriptions` charges a card the processor already tokenised (`processor_token`) or a saved
  `payment_method_id` of the customer instead of answering a checkout link; `customer` must name an existing
  `customer_id` (no inline customer); `billing` is not taken (the customer's billing address applies). It requires an
  `Idempotency-Key` header, and so does change-plan, since both may charge: the same key with the same body answers
  the first result and never charges twice, with another body it is a 409.
- `payment_link` is the 3-D Secure page when the first charge waits for the customer (the subscription is then
  `pending`); a declined charge answers 402 with the decline code (the subscription is `failed`, Dodo's terminal
  creation failure).
- change-plan takes `effective_at` (`immediately` | `next_billing_date`) and answers the subscription.
- `GET /subscriptions` filters by `customer_id` and one `status`.

`GET /subscriptions/{subscription_id}` and `POST …/change-plan` are also the portal's own pages (cookie session):
those two routes take only requests that present an API key (`Authorization: Bearer sk_…`); a browser's request
falls through to the page.
"""

from typing import Any

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from billing.errors import BillingError, decline_error_code
from billing.merchant_changes import (
    PlanRequest,
    SubscriptionUpdate,
    change_by_merchant,
    planned_subscription,
    preview_change,
    update_subscription,
)
from billing.subscription_start import StartRequest, start_subscription
from gateway.payments import billing_of
from gateway.rest.common import (
    ApiKeyRoute,
    MerchantCall,
    list_response,
    merchant_endpoint,
    moment,
)
from gateway.rest.customers import flag, mapping, text, whole_number
from gateway.rest.errors import RestError, RestErrorCode, not_found, rest_error
from merchants.customers import find_customer
from merchants.inputs import MerchantErrorCode
from models import Customer, Payment, Subscription
from models.enums import PaymentStatus, SubscriptionStatus
from models.ids import matching_id


def subscription_json(subscription: Subscription) -> dict:
    """Dodo's Subscription; `customer` needs the subscription's customer fetched."""
    customer = subscription.customer
    return {
        "subscription_id": subscription.id,
        "business_id": subscription.business_id,
        "customer": {"customer_id": customer.id, "email": customer.email, "name": customer.name},
        "product_id": subscription.product_id,
        "status": str(subscription.status),
        "quantity": subscription.quantity,
        "recurring_pre_tax_amount": subscription.recurring_pre_tax_amount,
        "currency": subscription.currency,
        "tax_inclusive": subscription.tax_inclusive,
        "created_at": moment(subscription.created_at),
        "previous_billing_date": moment(subscription.previous_billing_date),
        "next_billing_date": moment(subscription.next_billing_date),
        "cancel_at_next_billing_date": subscription.cancel_at_next_billing_date,
        "payment_frequency_count": subscription.payment_frequency_count,
        "payment_frequency_interval": str(subscription.payment_frequency_interval),
        "subscription_period_count": subscription.subscription_period_count,
        "subscription_period_interval": str(subscription.subscription_period_interval),
        "trial_period_days": subscription.trial_period_days,
        "cancelled_at": moment(subscription.cancelled_at),
        "expires_at": moment(subscription.expires_at),
        "discount_id": subscription.discount_id,
        "discount_cycles_remaining": subscription.discount_cycles_remaining,
        "payment_method_id": subscription.payment_method_id,
        "scheduled_change": subscription.scheduled_change,
        "cancellation_feedback": subscription.cancellation_feedback and str(subscription.cancellation_feedback),
        "cancellation_comment": subscription.cancellation_comment,
        "metadata": subscription.metadata,
        "on_demand": False,
    }


async def _scoped_subscription(call: MerchantCall) -> Subscription:
    subscription = await call.scoped(Subscription, call.request.path_params["subscription_id"], "subscription")
    await subscription.fetch_related("customer")
    return subscription


def _declined(payment: Payment | None) -> None:
    """A declined charge is a 402 with its decline code, as card errors are elsewhere."""
    if payment is not None and payment.status == PaymentStatus.FAILED:
        raise rest_error(BillingError(decline_error_code(payment.error_code), message=payment.error_message or None))


async def list_subscriptions(call: MerchantCall) -> JSONResponse:
    params = call.request.query_params
    query = call.scope(Subscription).prefetch_related("customer")
    query = matching_id(query, "customer_id", params.get("customer_id"), Customer)
    if "status" in params:
        if params["status"] not in set(SubscriptionStatus):
            raise RestError(RestErrorCode.INVALID_QUERY, "status is not a subscription status.", "status")
        query = query.filter(status=params["status"])
    return await list_response(call, query, subscription_json)


def _customer_id(body: dict[str, Any]) -> str:
    customer = mapping(body, "customer") or {}
    customer_id = text(customer, "customer_id")
    if customer_id is None:
        raise RestError(MerchantErrorCode.INVALID_INPUT, "customer.customer_id is required.", "customer.customer_id")
    return customer_id


async def post_subscription(call: MerchantCall) -> JSONResponse:
    client_key = call.idempotency_key()
    body = await call.json_body()
    customer = await find_customer(call.business_id, call.livemode, _customer_id(body))
    if customer is None:
        raise not_found("customer")
    product_id = text(body, "product_id")
    if product_id is None:
        raise RestError(MerchantErrorCode.INVALID_INPUT, "product_id is required.", "product_id")
    quantity = whole_number(body, "quantity")
    request = StartRequest(
        customer=customer,
        product_id=product_id,
        client_key=client_key,
        quantity=1 if quantity is None else quantity,
        processor_token=text(body, "processor_token"),
        payment_method_id=text(body, "payment_method_id"),
        discount_code=text(body, "discount_code"),
        trial_period_days=whole_number(body, "trial_period_days"),
        metadata=mapping(body, "metadata"),
    )
    start = await start_subscription(request, billing_of(call.request))
    _declined(start.payment)
    await start.subscription.fetch_related("customer")
    answer = {
        **subscription_json(start.subscription),
        "payment_id": start.payment.id if start.payment else None,
        "payment_link": start.next_action_url or None,
    }
    return JSONResponse(answer)


async def get_subscription(call: MerchantCall) -> JSONResponse:
    return JSONResponse(subscription_json(await _scoped_subscription(call)))


async def patch_subscription(call: MerchantCall) -> JSONResponse:
    subscription = await _scoped_subscription(call)
    body = await call.json_body()
    update = SubscriptionUpdate(
        metadata=body.get("metadata"),
        cancel_at_next_billing_date=flag(body, "cancel_at_next_billing_date"),
        status=text(body, "status"),
        payment_method_id=text(body, "payment_method_id"),
        cancel_reason=text(body, "cancel_reason"),
    )
    subscription = await update_subscription(subscription, update, billing_of(call.request))
    await subscription.fetch_related("customer")
    return JSONResponse(subscription_json(subscription))


def _plan_request(body: dict[str, Any]) -> PlanRequest:
    product_id = text(body, "product_id")
    mode = text(body, "proration_billing_mode")
    if product_id is None or mode is None:
        message = "product_id and proration_billing_mode are required."
        raise RestError(
            MerchantErrorCode.INVALID_INPUT, message, "product_id" if product_id is None else "proration_billing_mode"
        )
    return PlanRequest(
        product_id=product_id,
        quantity=whole_number(body, "quantity"),
        proration_billing_mode=mode,
        effective_at=text(body, "effective_at") or "immediately",
    )


async def change_plan(call: MerchantCall) -> JSONResponse:
    subscription = await _scoped_subscription(call)
    client_key = call.idempotency_key()
    request = _plan_request(await call.json_body())
    context = billing_of(call.request)
    change = await change_by_merchant(subscription, request, client_key=client_key, context=context)
    _declined(change.payment)
    await change.subscription.fetch_related("customer")
    return JSONResponse(subscription_json(change.subscription))


async def preview_plan_change(call: MerchantCall) -> JSONResponse:
    subscription = await _scoped_subscription(call)
    quote = await preview_change(subscription, _plan_request(await call.json_body()))
    charge, currency = quote.charge, subscription.currency
    items = [{"description": line.description, "amount": line.amount, "currency": currency} for line in quote.lines]
    summary = {
        "currency": currency,
        "total_amount": charge.total,
        "tax": charge.tax,
        "customer_credits": charge.credit_applied,
    }
    return JSONResponse(
        {
            "immediate_charge": {"line_items": items, "summary": summary, "effective_at": moment(quote.effective_at)},
            "new_plan": subscription_json(planned_subscription(subscription, quote)),
        }
    )


def routes() -> list[BaseRoute]:
    by_id = "/subscriptions/{subscription_id}"
    return [
        Route("/subscriptions", merchant_endpoint(list_subscriptions), methods=["GET"]),
        Route("/subscriptions", merchant_endpoint(post_subscription), methods=["POST"]),
        ApiKeyRoute(by_id, merchant_endpoint(get_subscription), methods=["GET"]),
        Route(by_id, merchant_endpoint(patch_subscription), methods=["PATCH"]),
        ApiKeyRoute(f"{by_id}/change-plan", merchant_endpoint(change_plan), methods=["POST"]),
        Route(f"{by_id}/change-plan/preview", merchant_endpoint(preview_plan_change), methods=["POST"]),
    ]

"""Dodo-compatible REST for subscriptions: `GET|POST /subscriptions`, `GET|PATCH /subscriptions/{subscription_id}`,
`POST /subscriptions/{subscription_id}/change-plan` and `…/change-plan/preview`, over billing.subscription_start and
billing.merchant_changes.

The subscription is billing.resources' `subscription_object`. Where we differ from Dodo Payments:
- `POST /subscriptions` charges a card the processor already tokenised (`processor_token`), a saved
  `payment_method_id` of the customer, or, with `payment_link: true`, answers the link to the hosted checkout
  (billing.checkout, gateway.pages.checkout) where the customer adds a card and pays; the subscription is `pending`
  until then, `payment_id` is `""` (the SDK requires a string and nothing is charged yet) and `expires_on` says when
  the link expires, after which the subscription fails. `return_url` is where the checkout lands the customer (else
  the business's portal). `customer` names an existing `customer_id` or is an inline `{email, name, phone_number}`
  (the business's customer with that email, else a new one); `billing` becomes the customer's billing address, and
  a billing country is required (gateway.rest.orders).
  With an `Idempotency-Key` header, the same key and body answer the first result (the same link) and never charge
  twice, another body is a 409; without one, the request runs once as sent. The same holds for change-plan.
- Without `payment_link`, `payment_link` in the answer is the 3-D Secure page when the first charge waits for the
  customer (the subscription is then `pending`); a declined charge answers 402 with the decline code (the
  subscription is `failed`, Dodo's terminal creation failure). `payment_id` is `""` when nothing was charged (a
  trial), as for a payment link.
- PATCH takes `metadata`, `status: cancelled`, `cancel_at_next_billing_date` (with `cancellation_feedback` and
  `cancellation_comment` for the cancellation; Dodo's `cancel_reason`, who asked, is checked but not stored) and
  `payment_method_id`; `next_billing_date`, `billing`, `tax_id` and the rest are refused by name (422).
- change-plan answers the subscription with Dodo's `payment_id` and `payment_link`; it takes no addons, discount
  codes or payment links.
- `GET /subscriptions` filters by `customer_id`, `product_id`, `status`, `cancel_at_next_billing_date` and
  creation time.

`GET /subscriptions/{subscription_id}` and `POST …/change-plan` are also the portal's own pages (cookie session):
those two routes take only requests that present an API key (`Authorization: Bearer sk_…`); a browser's request
falls through to the page.
"""

from typing import Any

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from tortoise.queryset import QuerySet

from access.login_links import checked_return_url
from billing.checkout import open_checkout
from billing.context import BillingContext
from billing.errors import BillingError, decline_error_code
from billing.merchant_changes import (
    PlanRequest,
    SubscriptionUpdate,
    change_by_merchant,
    planned_subscription,
    preview_change,
    update_subscription,
)
from billing.plan_changes import PlanChangeQuote
from billing.resources import moment, subscription_object, subscription_objects
from billing.subscription_start import StartRequest, start_subscription
from gateway.payments import billing_of
from gateway.rest.common import ApiKeyRoute, MerchantCall, by_id, by_status, list_response, merchant_endpoint
from gateway.rest.customers import flag, mapping, text, whole_number
from gateway.rest.errors import RestError, RestErrorCode, rest_error
from gateway.rest.orders import order_customer
from merchants.inputs import MerchantErrorCode
from models import Customer, Payment, Product, Subscription
from models.enums import PaymentStatus, SubscriptionStatus

_CREATE_FIELDS = (
    "customer",
    "product_id",
    "quantity",
    "billing",
    "processor_token",
    "payment_method_id",
    "discount_code",
    "trial_period_days",
    "metadata",
    "payment_link",
    "return_url",
)
_UPDATE_FIELDS = (
    "metadata",
    "status",
    "cancel_at_next_billing_date",
    "cancel_reason",
    "cancellation_feedback",
    "cancellation_comment",
    "payment_method_id",
)
_PLAN_FIELDS = ("product_id", "quantity", "proration_billing_mode", "effective_at")
# Dodo's `cancel_reason`: who asked for the cancellation.
_CANCEL_REASONS = ("cancelled_by_customer", "cancelled_by_merchant")


async def _scoped_subscription(call: MerchantCall) -> Subscription:
    subscription = await call.scoped(Subscription, call.request.path_params["subscription_id"], "subscription")
    await subscription.fetch_related("customer")
    return subscription


def _declined(payment: Payment | None) -> None:
    """A declined charge is a 402 with its decline code, as card errors are elsewhere."""
    if payment is not None and payment.status == PaymentStatus.FAILED:
        raise rest_error(BillingError(decline_error_code(payment.error_code), message=payment.error_message or None))


def _by_flag(column: str) -> Any:
    def narrow(query: QuerySet, value: str) -> QuerySet:
        if value not in ("true", "false"):
            raise RestError(RestErrorCode.INVALID_QUERY, f"{column} must be true or false.", column)
        return query.filter(**{column: value == "true"})

    return narrow


async def list_subscriptions(call: MerchantCall) -> JSONResponse:
    filters = {
        "customer_id": by_id("customer_id", Customer),
        "product_id": by_id("product_id", Product),
        "status": by_status(SubscriptionStatus),
        "cancel_at_next_billing_date": _by_flag("cancel_at_next_billing_date"),
    }
    query = call.scope(Subscription).prefetch_related("customer", "discount")
    return await list_response(call, query, subscription_objects, filters)


async def post_subscription(call: MerchantCall) -> JSONResponse:
    client_key = call.idempotency_key()
    body = await call.json_body(_CREATE_FIELDS)
    payment_link = bool(flag(body, "payment_link"))
    return_url = checked_return_url(text(body, "return_url") or "")
    product_id = text(body, "product_id")
    if product_id is None:
        raise RestError(MerchantErrorCode.INVALID_INPUT, "product_id is required.", "product_id")
    quantity = whole_number(body, "quantity")
    customer = await order_customer(call, body)
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
        payment_link=payment_link,
    )
    context = billing_of(call.request)
    start = await start_subscription(request, context)
    if payment_link:
        return JSONResponse(await _checkout_answer(start.subscription, return_url, context))
    _declined(start.payment)
    answer = {
        **await subscription_object(start.subscription),
        # Dodo's answer always names a payment; a trial has none yet, as a payment link's subscription has none.
        "payment_id": start.payment.id if start.payment else "",
        "payment_link": start.next_action_url or None,
        "payment_method_required": False,
    }
    return JSONResponse(answer)


async def _checkout_answer(subscription: Subscription, return_url: str, context: BillingContext) -> dict[str, Any]:
    """The answer of a create with `payment_link`: the pending subscription and its checkout's link."""
    checkout = await open_checkout(subscription, return_url, context)
    return {
        **await subscription_object(subscription),
        "payment_id": "",
        "payment_link": checkout.link,
        "expires_on": moment(checkout.expires_at),
        "payment_method_required": True,
    }


async def get_subscription(call: MerchantCall) -> JSONResponse:
    return JSONResponse(await subscription_object(await _scoped_subscription(call)))


def _cancellation_feedback(body: dict[str, Any]) -> str | None:
    """The churn reason; Dodo's `cancel_reason` (who asked) must be one a merchant can state, and is not stored."""
    cancel_reason = text(body, "cancel_reason")
    if cancel_reason is not None and cancel_reason not in _CANCEL_REASONS:
        message = f"cancel_reason must be one of {', '.join(_CANCEL_REASONS)}."
        raise RestError(MerchantErrorCode.INVALID_INPUT, message, "cancel_reason")
    return text(body, "cancellation_feedback")


async def patch_subscription(call: MerchantCall) -> JSONResponse:
    subscription = await _scoped_subscription(call)
    body = await call.json_body(_UPDATE_FIELDS)
    update = SubscriptionUpdate(
        metadata=body.get("metadata"),
        cancel_at_next_billing_date=flag(body, "cancel_at_next_billing_date"),
        status=text(body, "status"),
        payment_method_id=text(body, "payment_method_id"),
        cancel_reason=_cancellation_feedback(body),
        cancel_comment=text(body, "cancellation_comment"),
    )
    subscription = await update_subscription(subscription, update, billing_of(call.request))
    return JSONResponse(await subscription_object(subscription))


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
    request = _plan_request(await call.json_body(_PLAN_FIELDS))
    context = billing_of(call.request)
    change = await change_by_merchant(subscription, request, client_key=client_key, context=context)
    _declined(change.payment)
    answer = {
        **await subscription_object(change.subscription),
        "payment_id": change.payment.id if change.payment else None,
        "payment_link": change.payment.next_action_url or None if change.payment else None,
    }
    return JSONResponse(answer)


def _line_items(subscription: Subscription, quote: PlanChangeQuote) -> list[dict[str, Any]]:
    """Dodo's subscription line items: the current plan's unused time credited, the new plan's time charged."""
    items = []
    for line in quote.lines:
        credited = line.amount < 0
        product_id = subscription.product_id if credited else quote.product.id
        full = subscription.recurring_pre_tax_amount if credited else quote.new_amount
        items.append(
            {
                "type": "subscription",
                "id": product_id,
                "product_id": product_id,
                "name": line.description,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_amount,
                "proration_factor": abs(line.amount) / full if full else 0.0,
                "tax_inclusive": subscription.tax_inclusive,
                "currency": subscription.currency,
            }
        )
    return items


async def preview_plan_change(call: MerchantCall) -> JSONResponse:
    subscription = await _scoped_subscription(call)
    quote = await preview_change(subscription, _plan_request(await call.json_body(_PLAN_FIELDS)))
    charge, currency = quote.charge, subscription.currency
    summary = {
        "currency": currency,
        "total_amount": charge.total,
        "tax": charge.tax,
        "customer_credits": charge.credit_applied,
        "customer_credits_currency": currency,
        "settlement_amount": charge.total,
        "settlement_tax": charge.tax,
        "settlement_currency": currency,
    }
    immediate = {"line_items": _line_items(subscription, quote), "summary": summary}
    return JSONResponse(
        {
            "immediate_charge": {**immediate, "effective_at": moment(quote.effective_at)},
            "new_plan": await subscription_object(planned_subscription(subscription, quote)),
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

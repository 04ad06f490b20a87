"""Dodo-compatible REST for one-time payments: `POST /payments` (Dodo's `payments.create`), a payment link to the
hosted checkout (billing.checkout, gateway.pages.checkout) where the customer pays a cart of one-time products.

Where we differ from Dodo Payments:
- a payment is always paid at its link: without `payment_link: true` the answer is a 422 on `payment_link` (the
  portal does not charge a saved card for a one-time purchase); Dodo's other options (discount codes, metadata,
  saved payment methods, tax ids, currencies, …) are refused by name (422);
- `payment_id` is `""` and `client_secret` is `""` until the customer pays (the SDK requires strings; the payment is
  made at the checkout, then announced by the `payment.succeeded` webhook with its `product_cart`); `total_amount`
  is what the link charges as of now, `expires_on` when the link expires;
- `customer` and `billing` are read as for subscriptions (gateway.rest.orders): a billing country is required;
- a product of another business or mode is answered like a missing one (404 on `product_cart.N.product_id`).
With an `Idempotency-Key` header the same key and body answer the same link, another body is a 409; without one,
the request runs once as sent.
"""

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from access.login_links import checked_return_url
from billing.checkout import open_purchase
from billing.purchases import CartLine, checked_cart
from billing.resources import customer_details, moment
from gateway.payments import billing_of
from gateway.rest.common import MerchantCall, merchant_endpoint
from gateway.rest.customers import flag, text, whole_number
from gateway.rest.errors import RestError
from gateway.rest.orders import order_customer
from merchants.inputs import MerchantErrorCode

_FIELDS = ("billing", "customer", "product_cart", "payment_link", "return_url")


def _invalid(message: str, field: str) -> RestError:
    return RestError(MerchantErrorCode.INVALID_INPUT, message, field)


def _cart(body: dict[str, Any]) -> list[CartLine]:
    """Dodo's `product_cart`: `[{product_id, quantity}]`."""
    given = body.get("product_cart")
    if not isinstance(given, list):
        raise _invalid("product_cart must be a list of {product_id, quantity}.", "product_cart")
    cart = []
    for index, line in enumerate(given):
        if not isinstance(line, dict):
            raise _invalid("product_cart must be a list of {product_id, quantity}.", f"product_cart.{index}")
        product_id, quantity = text(line, "product_id"), whole_number(line, "quantity")
        if product_id is None or quantity is None:
            message = "A cart line needs its product_id and quantity."
            raise _invalid(message, f"product_cart.{index}.{'quantity' if product_id else 'product_id'}")
        cart.append(CartLine(product_id, quantity))
    return cart


@merchant_endpoint
async def post_payment(call: MerchantCall) -> Response:
    client_key = call.idempotency_key()
    body = await call.json_body(_FIELDS)
    if flag(body, "payment_link") is not True:
        raise _invalid("A one-time payment is paid at its payment link: set payment_link to true.", "payment_link")
    return_url = checked_return_url(text(body, "return_url") or "")
    # The cart is checked before the customer (possibly a new one) is written.
    lines = await checked_cart(call.business_id, call.livemode, _cart(body))
    customer = await order_customer(call, body)
    purchase = await open_purchase(customer, lines, client_key, return_url, billing_of(call.request))
    return JSONResponse(
        {
            "payment_id": "",
            "client_secret": "",
            "customer": customer_details(customer),
            "metadata": {},
            "total_amount": purchase.amounts.total,
            "discount_id": None,
            "discount_ids": [],
            "expires_on": moment(purchase.link.expires_at),
            "payment_link": purchase.link.link,
            "product_cart": [{"product_id": line.product.id, "quantity": line.quantity} for line in lines],
        }
    )


def routes() -> list[BaseRoute]:
    return [Route("/payments", post_payment, methods=["POST"])]

"""The hosted checkout page a payment link opens (`/checkout/{token}`), in the business's branding and the customer's
language: the product, its price and interval (or a purchase's products and quantities), what is due now, and a
button that takes the customer to the processor's hosted "add a card" page (the sandbox's, or Stripe's when the
business connected Stripe). The processor
sends them back to `/checkout/sessions/{session_id}/card`, which pays through billing.checkout: on to the bank's
3-D Secure page when it asks (which comes back to `/checkout/payments/{payment_id}/complete`), then to the merchant's
return URL or the business's portal. A declined card comes back to the checkout, which says why; an expired or used
link shows a page that says so.

The link is not signed in: its token is the customer's only credential, as a sign-in link's is, and is kept out of
the logs (its path parameter is `token`). The return from the processor carries a `state` made from this visitor's
CSRF token and the session, so only the visitor who started adding a card on this link can finish it.
"""

import functools
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from billing.checkout import (
    Checkout,
    CheckoutState,
    checkout_path,
    find_checkout,
    finish_authenticated_payment,
    landing_url,
    pay_checkout,
    session_checkout,
)
from billing.errors import BillingError, decline_error_code
from core.clock import utcnow
from core.tokens import same_secret
from gateway.http.csrf import csrf_form_valid, csrf_token
from gateway.pages.common import business_brand, not_found_page, page_locale, refused_form_page, render_page
from gateway.pages.messages import page_message
from gateway.payments import billing_of
from gateway.settings import Settings
from models import Payment
from models.enums import PaymentStatus


def _state(request: Request, settings: Settings, session_id: str) -> str:
    """What the processor round trip carries back: this visitor's CSRF token bound to this session."""
    message = f"checkout:{session_id}:{csrf_token(request, settings)}"
    return hmac.new(settings.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _page(
    request: Request, settings: Settings, checkout: Checkout, template: str, status: int = 200, **context: Any
) -> Response:
    """A page of this checkout: its business's brand, in the reader's pick, else the customer's language."""
    return render_page(
        request,
        settings,
        template,
        locale=page_locale(request, checkout.customer.locale),
        brand=business_brand(checkout.business),
        livemode=checkout.session.livemode,
        status=status,
        checkout=checkout,
        **context,
    )


def _checkout_form(
    request: Request, settings: Settings, checkout: Checkout, status: int = 200, error: str = ""
) -> Response:
    """The checkout, its form posting to the link's own address (also from the processor's return address)."""
    action = checkout_path(checkout.session, billing_of(request))
    return _page(request, settings, checkout, "checkout.html", status=status, error=error, action=action)


def _refused(request: Request, settings: Settings, checkout: Checkout, refused: BillingError) -> Response:
    """The checkout again, saying why the card or the payment was refused."""
    message = page_message(refused, page_locale(request, checkout.customer.locale))
    return _checkout_form(request, settings, checkout, status=422, error=message)


async def _closed(request: Request, settings: Settings, checkout: Checkout, state: CheckoutState) -> Response:
    """The page of a link that takes no payment: expired (or ended unpaid) or already paid."""
    status = 410 if state == CheckoutState.EXPIRED else 200
    portal_url = await billing_of(request).sign_in_url(checkout.business, checkout.session.livemode)
    return _page(
        request, settings, checkout, "checkout_closed.html", status=status, problem=state, portal_url=portal_url
    )


async def _after_payment(request: Request, settings: Settings, checkout: Checkout, payment: Payment | None) -> Response:
    """Where a customer goes once their checkout's charge (or trial) has an outcome: on, or back to the checkout
    saying why the card was declined, while the link lives."""
    state = checkout.state(utcnow())
    if state == CheckoutState.PAID and checkout.started:
        return RedirectResponse(await landing_url(checkout, billing_of(request)), status_code=303)
    if state == CheckoutState.OPEN and payment is not None and payment.status == PaymentStatus.FAILED:
        declined = BillingError(decline_error_code(payment.error_code), message=payment.error_message or None)
        return _refused(request, settings, checkout, declined)
    return await _closed(request, settings, checkout, state)


async def checkout_page(request: Request, *, settings: Settings) -> Response:
    """The checkout; its form (POST) sends the customer to the processor's "add a card" page."""
    checkout = await find_checkout(request.path_params["token"])
    if checkout is None:
        return not_found_page(request, settings)
    state = checkout.state(utcnow())
    if state != CheckoutState.OPEN:
        return await _closed(request, settings, checkout, state)
    if request.method == "GET":
        return _checkout_form(request, settings, checkout)
    if not csrf_form_valid(request, await request.form(), settings):
        return refused_form_page(request, settings, business_brand(checkout.business), checkout.session.livemode)
    context = billing_of(request)
    session_id = checkout.session.id
    back = urlencode({"state": _state(request, settings, session_id)})
    try:
        processor = await context.processor_for(checkout.business.id, checkout.session.livemode)
    except BillingError as refused:
        return _refused(request, settings, checkout, refused)
    url = await processor.start_setup(
        customer_reference=checkout.customer.id,
        return_url=context.portal_url(f"/checkout/sessions/{session_id}/card?{back}"),
    )
    return RedirectResponse(url, status_code=303)


async def card_added(request: Request, *, settings: Settings) -> Response:
    """Where the processor sends the customer back with `processor_token=…` (or `setup_error=…`): pay.

    A GET that charges, safe for the reasons of gateway.pages.payment_methods' `card_added`: the `state` proves this
    visitor started adding a card on this link, the processor binds the card's token to this customer, and the
    charge's key is the session's, so a reload answers the first payment."""
    session_id = request.path_params["session_id"]
    checkout = await session_checkout(session_id)
    if checkout is None:
        return not_found_page(request, settings)
    if not same_secret(request.query_params.get("state", ""), _state(request, settings, session_id)):
        return refused_form_page(request, settings, business_brand(checkout.business), checkout.session.livemode)
    state = checkout.state(utcnow())
    if state != CheckoutState.OPEN:
        return await _closed(request, settings, checkout, state)
    token = request.query_params.get("processor_token", "")
    if request.query_params.get("setup_error") or not token:
        return _checkout_form(request, settings, checkout)
    try:
        payment = await pay_checkout(checkout, token, billing_of(request))
    except BillingError as refused:
        return _refused(request, settings, checkout, refused)
    if payment is not None and payment.status == PaymentStatus.REQUIRES_CUSTOMER_ACTION:
        return RedirectResponse(payment.next_action_url, status_code=303)
    return await _after_payment(request, settings, await session_checkout(session_id) or checkout, payment)


async def payment_authenticated(request: Request, *, settings: Settings) -> Response:
    """Where the bank's 3-D Secure page sends the customer back; records the answer (see
    billing.checkout.finish_authenticated_payment) and lands them."""
    finished = await finish_authenticated_payment(request.path_params["payment_id"], billing_of(request))
    if finished is None:
        return not_found_page(request, settings)
    checkout, payment = finished
    return await _after_payment(request, settings, checkout, payment)


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route("/checkout/{token}", functools.partial(checkout_page, settings=settings), methods=["GET", "POST"]),
        Route("/checkout/sessions/{session_id}/card", functools.partial(card_added, settings=settings)),
        Route("/checkout/payments/{payment_id}/complete", functools.partial(payment_authenticated, settings=settings)),
    ]

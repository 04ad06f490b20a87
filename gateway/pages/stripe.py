"""The portal's own pages that run Stripe.js for a business connected to Stripe: adding a card
(`/stripe/setup/{business}/{mode}/{setup_id}`), where the card fields are Stripe's Elements and the card number goes
from the browser straight to Stripe, and authenticating a payment with the customer's bank
(`/stripe/authenticate/{business}/{mode}/{intent_id}`, 3-D Secure in Stripe's own frame). billing.processors.stripe
makes the SetupIntents and PaymentIntents these pages finish; the pages send the customer back where it said.

Like the sandbox's pages, their addresses are bearer secrets (the SetupIntent's or PaymentIntent's client secret is
on the page), so they are kept out of the logs (gateway.http.log_redaction). Each page allows Stripe.js, its frames
and its API in its own Content-Security-Policy, and nothing else from elsewhere.
"""

import functools
from urllib.parse import urlsplit

import stripe
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from billing.processors.sandbox import with_query
from billing.processors.stripe import AUTHENTICATE_PATH, SETUP_PATH, StripeProcessor, return_url_of
from gateway.http.security_headers import CSP_NONCE, content_security_policy
from gateway.pages.common import business_brand, not_found_page, page_locale, render_page
from gateway.payments import billing_of
from gateway.settings import Settings
from models import Business

_MODES = {"live": True, "test": False}
# Stripe.js opens the 3-D Secure challenge in a frame of Stripe's own.
_STRIPE_FRAMES = ("https://hooks.stripe.com",)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stripe_page_policy(nonce: str, settings: Settings) -> str:
    """The CSP of a page running Stripe.js from PORTAL_STRIPE_JS_URL against PORTAL_STRIPE_API_BASE."""
    script, api = _origin(settings.stripe_js_url), _origin(settings.stripe_api_base)
    return content_security_policy(
        nonce, scripts=(script,), frames=(script, *_STRIPE_FRAMES), connects=tuple(dict.fromkeys((api, script)))
    )


async def _account(request: Request) -> tuple[Business, StripeProcessor] | None:
    """The business and its Stripe account in the mode the address names."""
    livemode = _MODES.get(request.path_params["mode"])
    business = await Business.get_or_none(id=request.path_params["business_id"])
    if livemode is None or business is None:
        return None
    processor = await billing_of(request).stripe_processor(business.id, livemode)
    return (business, processor) if processor is not None else None


def _stripe_page(
    request: Request, settings: Settings, business: Business, processor: StripeProcessor, template: str, **context
) -> Response:
    response = render_page(
        request,
        settings,
        template,
        locale=page_locale(request),
        brand=business_brand(business),
        livemode=processor.credentials.livemode,
        stripe_js_url=settings.stripe_js_url,
        publishable_key=processor.credentials.publishable_key,
        **context,
    )
    response.headers["Content-Security-Policy"] = stripe_page_policy(getattr(request.state, CSP_NONCE), settings)
    return response


async def setup_page(request: Request, *, settings: Settings) -> Response:
    """Stripe's card fields for one SetupIntent; once Stripe.js has confirmed it, the same address sends the
    customer back with the saved card's token."""
    found = await _account(request)
    if found is None:
        return not_found_page(request, settings)
    business, processor = found
    try:
        setup = await processor.setup_intent(request.path_params["setup_id"])
    except stripe.InvalidRequestError:
        return not_found_page(request, settings)
    return_url = return_url_of(setup.metadata)
    if not return_url:
        return not_found_page(request, settings)
    if setup.status == "succeeded" and setup.payment_method:
        method = setup.payment_method if isinstance(setup.payment_method, str) else setup.payment_method.id
        return RedirectResponse(with_query(return_url, processor_token=method), status_code=303)
    if setup.status == "canceled":
        return RedirectResponse(with_query(return_url, setup_error="cancelled"), status_code=303)
    return _stripe_page(
        request,
        settings,
        business,
        processor,
        "stripe/setup.html",
        client_secret=setup.client_secret,
        done_url=request.url.path,
        cancel_url=with_query(return_url, setup_error="cancelled"),
    )


async def authenticate_page(request: Request, *, settings: Settings) -> Response:
    """The customer's bank's check of one PaymentIntent, in Stripe's frame; then back to the portal's page that
    records the outcome. A PaymentIntent no longer waiting for it sends the customer straight back."""
    found = await _account(request)
    if found is None:
        return not_found_page(request, settings)
    business, processor = found
    try:
        intent = await processor.payment_intent(request.path_params["intent_id"])
    except stripe.InvalidRequestError:
        return not_found_page(request, settings)
    return_url = return_url_of(intent.metadata)
    if not return_url:
        return not_found_page(request, settings)
    if intent.status != "requires_action":
        return RedirectResponse(return_url, status_code=303)
    return _stripe_page(
        request,
        settings,
        business,
        processor,
        "stripe/authenticate.html",
        client_secret=intent.client_secret,
        return_url=return_url,
    )


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route(f"{SETUP_PATH}{{business_id}}/{{mode}}/{{setup_id}}", functools.partial(setup_page, settings=settings)),
        Route(
            f"{AUTHENTICATE_PATH}{{business_id}}/{{mode}}/{{intent_id}}",
            functools.partial(authenticate_page, settings=settings),
        ),
    ]

"""The payment processor this deployment uses and the BillingContext built around it, made once per app.

Only the built-in sandbox processor exists so far (PORTAL_PAYMENT_PROCESSOR=sandbox); its hosted pages are mounted
under `/sandbox/`, standing in for a processor's own domain.
"""

import dataclasses

from starlette.requests import Request

from billing.context import BillingContext
from billing.processors.sandbox import SandboxProcessor
from gateway.http.hosts import custom_portal_url
from gateway.settings import Settings


def build_billing_context(settings: Settings) -> BillingContext:
    processor = SandboxProcessor(base_url=settings.base_url, secret=settings.secret_key)
    return BillingContext(
        processor=processor,
        base_url=settings.base_url,
        portal_name=settings.portal_name,
        secret_key=settings.secret_key,
    )


def billing_of(request: Request) -> BillingContext:
    """The app's BillingContext (set by gateway.app.create_app); on a custom domain the portal lives there, so a
    customer comes back to the host their session cookie belongs to (after a payment's authentication, say)."""
    billing: BillingContext = request.app.state.billing
    portal_url = custom_portal_url(request)
    return dataclasses.replace(billing, base_url=portal_url) if portal_url else billing

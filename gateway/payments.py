"""The payment processors this deployment uses and the BillingContext built around them, made once per app.

A business that connected its own Stripe account is charged through it (billing.context chooses, per business and
mode). The built-in sandbox (PORTAL_PAYMENT_PROCESSOR=sandbox, the default) charges test mode otherwise, and live
mode only with PORTAL_SANDBOX_IN_LIVE_MODE; its hosted pages are mounted under `/sandbox/`, standing in for a
processor's own domain. With PORTAL_PAYMENT_PROCESSOR=stripe there is no sandbox.
"""

import dataclasses

from starlette.requests import Request

from billing.context import BillingContext
from billing.processors.sandbox import SandboxProcessor
from core.secret_box import SecretBox
from gateway.http.hosts import custom_portal_url
from gateway.settings import Settings


def build_billing_context(settings: Settings) -> BillingContext:
    sandbox = SandboxProcessor(base_url=settings.base_url, secret=settings.secret_key)
    return BillingContext(
        processor=sandbox if settings.payment_processor == "sandbox" else None,
        base_url=settings.base_url,
        portal_name=settings.portal_name,
        secret_key=settings.secret_key,
        credentials=SecretBox(settings.sealing_keys),
        stripe_api_base=settings.stripe_api_base,
        sandbox_in_live_mode=settings.sandbox_in_live_mode,
    )


def billing_of(request: Request) -> BillingContext:
    """The app's BillingContext (set by gateway.app.create_app); on a custom domain the portal lives there, so a
    customer comes back to the host their session cookie belongs to (after a payment's authentication, say)."""
    billing: BillingContext = request.app.state.billing
    portal_url = custom_portal_url(request)
    return dataclasses.replace(billing, base_url=portal_url) if portal_url else billing

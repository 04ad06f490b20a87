"""Where a business's Stripe account sends its events: `POST /webhooks/stripe/{business_id}/{live|test}` (the address
`portal business update … --stripe-…` and the merchant API print, to register in Stripe's dashboard). The delivery
is verified with that mode's signing secret and recorded by billing.stripe_events, and answered at once: the worker
handles it afterwards. A delivery that is not the business's Stripe account speaking (no account connected, a bad
signature, the other mode's event) is a 400 with nothing recorded; a redelivery is a 200 that changes nothing.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from billing.stripe_events import StripeEventRefused, receive_stripe_event
from gateway.payments import billing_of
from gateway.rest.errors import RestErrorCode, error_response
from merchants.inputs import MerchantErrorCode
from merchants.stripe_accounts import WEBHOOK_PATH

_MODES = {"live": True, "test": False}


async def stripe_webhook(request: Request) -> JSONResponse:
    livemode = _MODES.get(request.path_params["mode"])
    if livemode is None:
        return error_response(MerchantErrorCode.NOT_FOUND, "The mode is live or test.", "mode")
    try:
        recorded = await receive_stripe_event(
            request.path_params["business_id"],
            livemode,
            await request.body(),
            request.headers.get("stripe-signature", ""),
            billing_of(request),
        )
    except StripeEventRefused as refused:
        return error_response(RestErrorCode.INVALID_SIGNATURE, str(refused))
    return JSONResponse({"received": True, "duplicate": not recorded})


def routes() -> list[BaseRoute]:
    path = WEBHOOK_PATH.format(business_id="{business_id}", mode="{mode}")
    return [Route(path, stripe_webhook, methods=["POST"])]

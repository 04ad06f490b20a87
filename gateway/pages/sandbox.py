"""The sandbox processor's hosted pages, served under `/sandbox/` as if from the processor's own domain: "add a card"
(`/sandbox/setup/{setup_id}`), which turns a typed test card into a token, and the 3-D Secure challenge
(`/sandbox/authenticate/{charge_id}`), which approves or fails a charge. billing.processors.sandbox does the work;
this module shows its forms in the processor's neutral look (templates/sandbox/) and sends the customer back where it
says.

The card number lives only in the request that submits it: it goes to the processor and is never logged, stored or
written back into a page.
"""

import functools
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from billing.processors.sandbox import CardRejected, SandboxProcessor
from gateway.brand_colors import brand_palette
from gateway.http.csrf import csrf_form_valid
from gateway.pages.common import Brand, not_found_page, page_locale, refused_form_page, render_page
from gateway.settings import Settings

# What a refused form (error.html) wears: the processor's name, not a business's.
SANDBOX_BRAND = Brand(name="Sandbox Payments", palette=brand_palette(None, None))
_DECISIONS = {"approve": True, "fail": False}


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _sandbox_page(request: Request, settings: Settings, template: str, **context: Any) -> Response:
    return render_page(
        request, settings, template, locale=page_locale(request), brand=SANDBOX_BRAND, livemode=False, **context
    )


async def setup_page(request: Request, *, settings: Settings, processor: SandboxProcessor) -> Response:
    """The "add a card" form; a card it accepts sends the customer back with its token."""
    setup = await processor.setup_session(request.path_params["setup_id"])
    if setup is None:
        return not_found_page(request, settings)
    finished = processor.finished_url(setup)
    if finished:
        return RedirectResponse(finished, status_code=303)
    page = functools.partial(
        _sandbox_page,
        request,
        settings,
        "sandbox/setup.html",
        action=request.url.path,
        cancel_url=processor.cancel_url(setup),
    )
    if request.method == "GET":
        return page(rejected=None, expiry="")

    form = await request.form()
    if not csrf_form_valid(request, form, settings):
        return refused_form_page(request, settings, SANDBOX_BRAND, livemode=False)
    expiry = _field(form, "expiry")
    try:
        destination = await processor.submit_card(setup, _field(form, "number"), expiry, _field(form, "cvc"))
    except CardRejected as rejected:
        # The expiry is kept so only the number and CVC need retyping; those two are never written into a page.
        return page(status=422, rejected=rejected, expiry=expiry)
    return RedirectResponse(destination, status_code=303)


async def challenge_page(request: Request, *, settings: Settings, processor: SandboxProcessor) -> Response:
    """The 3-D Secure challenge of one charge: the customer approves or fails it, once."""
    charge = await processor.challenge(request.path_params["charge_id"])
    if charge is None:
        return not_found_page(request, settings)
    await charge.fetch_related("card")
    page = functools.partial(
        _sandbox_page, request, settings, "sandbox/challenge.html", action=request.url.path, charge=charge
    )
    if request.method == "GET":
        return page(answered=False)

    form = await request.form()
    if not csrf_form_valid(request, form, settings):
        return refused_form_page(request, settings, SANDBOX_BRAND, livemode=False)
    approve = _DECISIONS.get(_field(form, "decision"))
    if approve is None:
        return page(status=422, answered=False)
    destination = await processor.answer_challenge(charge, approve=approve)
    # A charge made without a return URL has nowhere to send the customer back to.
    return RedirectResponse(destination, status_code=303) if destination else page(answered=True)


def routes(settings: Settings, processor: SandboxProcessor) -> list[BaseRoute]:
    setup = functools.partial(setup_page, settings=settings, processor=processor)
    challenge = functools.partial(challenge_page, settings=settings, processor=processor)
    return [
        Route("/sandbox/setup/{setup_id}", setup, methods=["GET", "POST"]),
        Route("/sandbox/authenticate/{charge_id}", challenge, methods=["GET", "POST"]),
    ]

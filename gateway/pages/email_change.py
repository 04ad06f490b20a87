"""`/email-change/{token}`: the page the link in an email-change confirmation opens.

GET only shows a confirm button (mail scanners prefetch links; a GET must never burn one); POST, with the visitor's
CSRF token, confirms: the records move to the new address, or the page explains why nothing changed (the address
already has an account at one of the businesses; the link expired, was used or does not exist). The page wears the
business's brand in BUSINESS scope, the portal's in the unified portal, and speaks the language the email was
written in unless the reader picked another. On a business's custom domain only that business's links are known.
"""

import functools

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from access.email_change import LINK_PATH, EmailChangeState, confirm_email_change, peek_email_change
from access.login_links import LinkProblem
from gateway.http.csrf import csrf_form_valid
from gateway.http.hosts import serves_business
from gateway.http.request_auth import viewer_from_request
from gateway.pages.common import (
    business_brand,
    client_address,
    page_locale,
    portal_brand,
    refused_form_page,
    render_page,
)
from gateway.pages.login import login_path_on_host
from gateway.pages.session_link import PROBLEM_STATUS
from gateway.settings import Settings

_CONFLICT_STATUS = 409


def _outcome(state: EmailChangeState) -> tuple[str, int]:
    if state.problem is not None:
        return state.problem.value, PROBLEM_STATUS[state.problem]
    return ("conflict", _CONFLICT_STATUS) if state.conflicts else ("confirmed", 200)


async def email_change_page(request: Request, *, settings: Settings) -> Response:
    token = request.path_params["token"]
    state = link = await peek_email_change(token)
    business_id = link.business.id if link.business else None
    served_here = serves_business(request, business_id)
    if not served_here:
        state = link = EmailChangeState(problem=LinkProblem.UNKNOWN)
    livemode = link.livemode or link.problem == LinkProblem.UNKNOWN
    brand = business_brand(link.business) if link.business else portal_brand(settings)
    page = functools.partial(
        render_page,
        request,
        settings,
        locale=page_locale(request, preferred=link.locale),
        brand=brand,
        livemode=livemode,
    )
    if request.method == "GET" and link.valid:
        return page("email_change_confirm.html", action=request.url.path, new_email=link.new_email)
    if request.method == "POST":
        form = await request.form()
        if not csrf_form_valid(request, form, settings):
            return refused_form_page(request, settings, brand, livemode)
        if served_here:
            state = await confirm_email_change(
                token, client_ip=client_address(request), portal_name=settings.portal_name
            )
    outcome, status = _outcome(state)
    # Whoever confirms may be signed in on this browser (the session that asked keeps working where it can).
    signed_in = await viewer_from_request(request, settings) is not None
    return page(
        "email_change_result.html",
        status=status,
        outcome=outcome,
        new_email=link.new_email,
        conflicts=state.conflicts,
        next_url="/" if signed_in else login_path_on_host(request, business_id, livemode),
        signed_in=signed_in,
    )


def routes(settings: Settings) -> list[BaseRoute]:
    endpoint = functools.partial(email_change_page, settings=settings)
    return [Route(f"{LINK_PATH}{{token}}", endpoint, methods=["GET", "POST"])]

"""`/session/{token}`: the page a sign-in or magic link opens.

GET only shows a confirm button (mail scanners prefetch links; a GET must never burn one); POST, with the
visitor's CSRF token, burns the link, opens the session, sets the `portal_session` cookie and goes to the portal:
its home, or the task of a deep link (gateway.pages.flows).
A link that opens nothing gets a page that says why, in the customer's language, with a form for a new one.
On a business's custom domain, a link into any other portal (another business's, the unified one) is unknown there.
"""

import functools

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from access.login_links import LinkProblem, LinkState, consume_link, peek_link
from gateway.http.csrf import csrf_form_valid
from gateway.http.hosts import serves_business
from gateway.http.request_auth import session_policy
from gateway.pages.common import (
    business_brand,
    client_address,
    page_locale,
    picked_locale,
    portal_brand,
    refused_form_page,
    render_page,
    revoke_cookie_session,
    set_session_cookie,
)
from gateway.pages.flows import start_path
from gateway.pages.login import login_path_on_host
from gateway.settings import Settings
from models import PortalSession

# The HTTP status of each way a link can fail, for every page that opens an emailed link.
PROBLEM_STATUS = {
    LinkProblem.EXPIRED: 410,
    LinkProblem.USED: 410,
    LinkProblem.UNKNOWN: 404,
    LinkProblem.RATE_LIMITED: 429,
}


async def _adopt_language_choice(request: Request, session: PortalSession) -> None:
    # A language the reader picked before signing in outranks the one the link was made with.
    chosen = picked_locale(request)
    if chosen and chosen != session.locale:
        session.locale = chosen
        await session.save(update_fields=["locale"])


async def session_link_page(request: Request, *, settings: Settings) -> Response:
    token = request.path_params["token"]
    link = await peek_link(token)
    served_here = serves_business(request, link.business.id if link.business else None)
    if not served_here:
        link = LinkState(problem=LinkProblem.UNKNOWN)
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
    resend_action = login_path_on_host(request, link.business.id if link.business else None, livemode)

    def problem_page(problem: LinkProblem) -> Response:
        return page(
            "link_problem.html", status=PROBLEM_STATUS[problem], problem=problem.value, resend_action=resend_action
        )

    if request.method == "GET":
        if link.problem is not None:
            return problem_page(link.problem)
        return page("confirm.html", action=request.url.path)

    form = await request.form()
    if not csrf_form_valid(request, form, settings):
        return refused_form_page(request, settings, brand, livemode)
    if not served_here:
        return problem_page(LinkProblem.UNKNOWN)
    result = await consume_link(token, client_ip=client_address(request), policy=session_policy(settings))
    session, session_token = result.session, result.session_token
    if session is None or session_token is None:
        return problem_page(result.problem or LinkProblem.UNKNOWN)
    await _adopt_language_choice(request, session)
    # Whoever was signed in on this browser before is signed out, not left behind with a live session.
    await revoke_cookie_session(request, settings)
    response = RedirectResponse(start_path(session), status_code=303)
    set_session_cookie(response, session_token, settings)
    return response


def routes(settings: Settings) -> list[BaseRoute]:
    return [Route("/session/{token}", functools.partial(session_link_page, settings=settings), methods=["GET", "POST"])]

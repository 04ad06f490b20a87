"""A portal session opened from a deep link (access.deep_links): the pages of its one task, with the portal's
navigation hidden, and what follows once the task is done.

While the task is open, the session reaches only the task's pages (the saved cards; a subscription's cancel
form; its plan change, with the return from 3-D Secure); any other portal page, the home included, sends the
customer back to the task. Navigation is hidden (the pages wear `focus`: the business's brand, the way back to the
merchant when a return URL is known, and sign-out), so the customer is not led away from what the merchant sent them
to do. This is a matter of focus, not of access: the session is the customer's own, and their GraphQL API is not
narrowed.

Once the task is done (a card saved, the subscription cancelled or its retention offer accepted, the plan changed
or its change scheduled):
- `portal_homepage`: the flow ends and the session becomes an ordinary one; the customer lands on the home page
  with the navigation back. As on Stripe, only this ending lets the customer carry on in the portal.
- `redirect`: back to the flow's return URL. The session stays done: any portal page sends there again, so a link
  made for one task cannot be used for another. The way there is a 303 to `/done`, which answers with a `Refresh`
  to the return URL (and a link, should the browser not follow it): the portal's CSP (`form-action 'self'`) makes a
  browser refuse a form's redirect to another origin, and the task ends with a form.
- `hosted_confirmation`: the confirmation page (`/done`) with the business's message as plain text and "Return to
  {business}" when a return URL is known; it is the only page the session shows from then on.
"""

import functools
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from access.deep_links import AfterCompletionType, Flow, FlowType, complete_flow, flow_of
from access.viewer import Viewer
from gateway.http.request_auth import viewer_from_request
from gateway.pages.common import FOCUS, business_brand, page_locale, portal_brand, render_page, sign_in_redirect
from gateway.settings import Settings
from models import PortalSession

DONE_PATH = "/done"
PAYMENT_METHODS_PATH = "/payment-methods"
# Where the processor's 3-D Secure page sends the customer back to, during a plan change.
_PAYMENT_RETURN = re.compile(r"/payments/[^/]+/complete")
# What a `Refresh` header may carry of a URL as it is (headers are Latin-1; anything else is percent-encoded).
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


@dataclass(frozen=True)
class Focus:
    """What a page of a deep-link session shows instead of the navigation."""

    flow: Flow
    # "Return to {business}": the session's return URL, else the business's default; empty when there is none.
    exit_url: str


def landing_path(flow: Flow) -> str:
    """The page the flow's task starts on."""
    subscription = f"/subscriptions/{flow.subscription_id}"
    if flow.type == FlowType.PAYMENT_METHOD_UPDATE:
        return PAYMENT_METHODS_PATH
    if flow.type == FlowType.SUBSCRIPTION_CANCEL:
        return f"{subscription}/cancel"
    if flow.type == FlowType.SUBSCRIPTION_UPDATE:
        return f"{subscription}/change-plan"
    chosen = {"product": flow.product_id, **({"quantity": flow.quantity} if flow.quantity else {})}
    return f"{subscription}/change-plan?{urlencode(chosen)}"


def start_path(session: PortalSession) -> str:
    """Where a session freshly opened from a link starts: its task, else the home page."""
    flow = flow_of(session)
    return landing_path(flow) if flow else "/"


def _on_task(flow: Flow, path: str) -> bool:
    if flow.type == FlowType.PAYMENT_METHOD_UPDATE:
        return path in {PAYMENT_METHODS_PATH, f"{PAYMENT_METHODS_PATH}/new", f"{PAYMENT_METHODS_PATH}/added"}
    subscription = f"/subscriptions/{flow.subscription_id}"
    if flow.type == FlowType.SUBSCRIPTION_CANCEL:
        return path in {f"{subscription}/cancel", f"{subscription}/retention-offer"}
    return path == f"{subscription}/change-plan" or _PAYMENT_RETURN.fullmatch(path) is not None


def _after_done(flow: Flow) -> Response:
    done = flow.after_completion.type != AfterCompletionType.PORTAL_HOMEPAGE
    return RedirectResponse(DONE_PATH if done else "/", status_code=303)


def gate(request: Request, viewer: Viewer) -> Response | None:
    """Where a deep-link session goes instead of the page asked for, or None to show it (with `focus` set for the
    page to hide the navigation)."""
    flow = flow_of(viewer.session)
    if flow is None:
        return None
    setattr(request.state, FOCUS, Focus(flow, viewer.return_url))
    path = request.url.path
    if flow.completed:
        return None if path == DONE_PATH else _after_done(flow)
    if _on_task(flow, path):
        return None
    return RedirectResponse(landing_path(flow), status_code=303)


async def finish(
    session: PortalSession, completes: tuple[FlowType, ...], outcome: str, otherwise: Response
) -> Response:
    """After an action that did what `completes` flows ask for: what the session's flow does next, else (no such
    flow open) `otherwise`."""
    flow = flow_of(session)
    if flow is None or flow.completed or flow.type not in completes:
        return otherwise
    await complete_flow(session, outcome)
    return _after_done(flow)


async def done_page(request: Request, *, settings: Settings) -> Response:
    """The hosted confirmation of a finished task, or the step that sends a `redirect` flow's customer back."""
    viewer = await viewer_from_request(request, settings)
    if viewer is None:
        return sign_in_redirect(request)
    elsewhere = gate(request, viewer)
    if elsewhere is not None:
        return elsewhere
    flow = flow_of(viewer.session)
    if flow is None or not flow.completed:
        return RedirectResponse("/", status_code=303)
    # A flow opens on one customer's session, so the session names its business.
    business = viewer.business(viewer.session.business_id) if viewer.session.business_id else None
    after = flow.after_completion
    redirect = after.type == AfterCompletionType.REDIRECT
    response = render_page(
        request,
        settings,
        "flow_done.html",
        locale=page_locale(request, preferred=viewer.session.locale),
        brand=business_brand(business) if business else portal_brand(settings),
        livemode=viewer.livemode,
        home_url="/",
        email=viewer.email,
        outcome=flow.completed,
        message=after.custom_message,
        return_url=after.return_url if redirect else viewer.return_url,
    )
    if redirect:
        response.headers["Refresh"] = f"0; url={quote(after.return_url, safe=_URL_SAFE)}"
    return response


def routes(settings: Settings) -> list[BaseRoute]:
    return [Route(DONE_PATH, functools.partial(done_page, settings=settings))]

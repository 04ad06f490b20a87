"""What the billing pages (`subscriptions`, `payment_methods`) share: the signed-in visit (the session's Viewer and
the reader's language), running a customer GraphQL operation in-process with the app's BillingContext, the frame a
page about one business wears, keeping a deep-link session on its task (gateway.pages.flows), and the few form and
redirect helpers.

The pages run GraphQL and render; every rule (who may pay what, which card may go) lives in billing/ behind the
schema's mutations, so a page answers exactly what a GraphQL client would get.
"""

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from access.deep_links import FlowType, flow_of
from access.sessions import remember_locale
from access.viewer import Viewer
from billing.errors import BillingError, BillingErrorCode
from gateway.http.csrf import csrf_form_valid
from gateway.http.request_auth import viewer_from_request
from gateway.http.request_ids import request_id_of
from gateway.pages import flows
from gateway.pages.common import (
    chosen_locale,
    graphql_brand,
    not_found_page,
    page_locale,
    portal_brand,
    refused_form_page,
    render_page,
    sign_in_redirect,
)
from gateway.pages.home import failed_query
from gateway.pages.messages import page_message
from gateway.payments import billing_of
from gateway.settings import Settings
from models.enums import Scope
from schema.customer import build_context, schema

NOT_FOUND = "NOT_FOUND"
# What a page needs of a business to wear its brand (see common.graphql_brand).
BUSINESS_FIELDS = "id name supportEmail branding { logoUrl primaryColor accentColor headline }"
METHOD_FIELDS = "id brand last4 expMonth expYear isDefault expired"
# A path on this site: one leading slash, never `//host` or `/\host` (browsers read both as another host), and
# nothing a browser would strip or reinterpret (whitespace, control characters, backslashes).
_SAME_SITE_PATH = re.compile(r"/(?![/\\])[^\s\\\x00-\x1f\x7f]*")


@dataclass(frozen=True)
class Visit:
    """One request of a signed-in customer."""

    request: Request
    settings: Settings
    viewer: Viewer
    locale: str

    async def run(self, operation: str, **variables: object) -> dict:
        """A query or mutation as this viewer, in this language; expected failures come back as payload errors."""
        context = build_context(self.viewer, self.locale, request_id_of(self.request), billing_of(self.request))
        result = await schema.execute(operation, variable_values=variables, context_value=context)
        if result.errors:
            raise failed_query(result.errors)
        return result.data or {}

    def page(
        self, template: str, business: dict, *, status: int = 200, error: str = "", notice: str = "", **context: Any
    ) -> Response:
        """A page about one business, under its brand; in the unified portal it links back to all businesses.
        `error` is a failure to announce, already in the reader's language, else the one the URL names; `notice`
        names what the last action did (see `notice`)."""
        unified = self.viewer.scope == Scope.UNIFIED
        return render_page(
            self.request,
            self.settings,
            template,
            locale=self.locale,
            brand=graphql_brand(business),
            livemode=self.viewer.livemode,
            status=status,
            home_url=f"/?{urlencode({'business': business['id']})}" if unified else "/",
            all_businesses_url="/" if unified else "",
            email=self.viewer.email,
            business=business,
            error=error or self._error_in_url(),
            notice=notice,
            **context,
        )

    def across_businesses(
        self, template: str, businesses: list[dict], business_id: str | None, **context: Any
    ) -> Response:
        """A list that spans businesses: under the chosen business's brand (always one in BUSINESS scope), else, in
        the unified portal, under the portal's own brand with every business."""
        business = next((business for business in businesses if business["id"] == business_id), None)
        if business is not None:
            return self.page(template, business, businesses=businesses, **context)
        return render_page(
            self.request,
            self.settings,
            template,
            locale=self.locale,
            brand=portal_brand(self.settings),
            livemode=self.viewer.livemode,
            home_url="/",
            all_businesses_url="/",
            email=self.viewer.email,
            business=None,
            businesses=businesses,
            error=self._error_in_url(),
            notice="",
            **context,
        )

    def business_filter(self) -> tuple[str | None, bool]:
        """The business a list is narrowed to (`?business=`, or the session's in BUSINESS scope) and whether that
        is one the viewer may see; None when the unified portal lists every business."""
        if self.viewer.scope == Scope.BUSINESS:
            return self.viewer.session.business_id, True
        asked = self.request.query_params.get("business") or None
        return asked, asked is None or self.viewer.business(asked) is not None

    def _error_in_url(self) -> str:
        """The message of the billing error code a redirect put in the URL (`?payment_error=CARD_DECLINED`), in the
        reader's language; an unknown code shows nothing, as it was not one of ours."""
        try:
            code = BillingErrorCode(self.request.query_params.get("payment_error", ""))
        except ValueError:  # no code, or not one of ours
            return ""
        return page_message(BillingError(code), self.locale)

    def notice(self, methods: list[dict]) -> str:
        """What the action that redirected here did: `card_added` (`?added=pm_…`, when that card is listed), else
        the `?updated=…` it named."""
        params = self.request.query_params
        if any(method["id"] == params.get("added") for method in methods):
            return "card_added"
        return params.get("updated", "")

    def not_found(self) -> Response:
        return not_found_page(self.request, self.settings, self.locale)

    @property
    def focused(self) -> bool:
        """Whether this is a deep-link session on its task, whose pages keep the customer there."""
        return flow_of(self.viewer.session) is not None

    async def finish(self, completes: tuple[FlowType, ...], outcome: str, otherwise: Response) -> Response:
        """After an action that did a `completes` flow's task (`outcome` says what was done): where that flow goes
        next; `otherwise` for every other session."""
        return await flows.finish(self.viewer.session, completes, outcome, otherwise)


PageHandler = Callable[[Visit], Awaitable[Response]]
FormHandler = Callable[[Visit, FormData], Awaitable[Response]]
Endpoint = Callable[..., Awaitable[Response]]


async def _visit(request: Request, settings: Settings) -> Visit | None:
    viewer = await viewer_from_request(request, settings)
    if viewer is None:
        return None
    await remember_locale(viewer.session, chosen_locale(request) or "")
    return Visit(request, settings, viewer, page_locale(request, preferred=viewer.session.locale))


def signed_in(handler: PageHandler) -> Endpoint:
    """An endpoint for signed-in customers; anyone else is sent to sign in."""

    async def endpoint(request: Request, *, settings: Settings) -> Response:
        visit = await _visit(request, settings)
        if visit is None:
            return sign_in_redirect(request)
        return flows.gate(request, visit.viewer) or await handler(visit)

    return endpoint


def signed_in_form(handler: FormHandler) -> Endpoint:
    """An endpoint for a signed-in customer's form; one without this visitor's CSRF token changes nothing."""

    async def endpoint(request: Request, *, settings: Settings) -> Response:
        visit = await _visit(request, settings)
        if visit is None:
            return sign_in_redirect(request)
        elsewhere = flows.gate(request, visit.viewer)
        if elsewhere is not None:
            return elsewhere
        form = await request.form()
        if not csrf_form_valid(request, form, settings):
            return refused_form_page(request, settings, portal_brand(settings), visit.viewer.livemode)
        return await handler(visit, form)

    return endpoint


def back_to_page(page_path: Callable[[str], str], parameter: str) -> Endpoint:
    """A GET of a form's address, as the language links of a refused form's page make: the page the form is on,
    keeping the query (the language asked for)."""

    @signed_in
    async def back(visit: Visit) -> Response:
        return back_with_query(visit, page_path(visit.request.path_params[parameter]))

    return back


def back_with_query(visit: Visit, path: str) -> Response:
    """To `path`, keeping this request's query (the language asked for)."""
    query = visit.request.url.query
    return redirect(f"{path}?{query}" if query else path)


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def form_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def same_site_path(value: str | None, default: str) -> str:
    """`value` when it is a path on this site, else `default`: a form or link can never send the customer away."""
    return value if value and _SAME_SITE_PATH.fullmatch(value) else default


def with_params(path: str, **params: str) -> str:
    """`path` with `params` set in its query string, replacing earlier values of those names; empty ones left out."""
    parts = urlsplit(path)
    kept = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    query = urlencode([*kept, *((key, value) for key, value in params.items() if value)])
    return f"{parts.path}?{query}" if query else parts.path


def route(path: str, endpoint: Endpoint, settings: Settings, method: str = "GET") -> Route:
    return Route(path, functools.partial(endpoint, settings=settings), methods=[method])

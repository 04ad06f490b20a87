"""The portal home (`/`) and signing out (`POST /logout`; with `Authorization: Bearer …`, that token's session).

The page is a client of the customer GraphQL schema like any other: it runs its query in-process with the
session's Viewer, so it sees exactly what the API would show. Both views start with what needs the customer
(subscriptions on hold or whose first payment failed, billing.attention), each with its button. A BUSINESS session
(or a unified one narrowed with `?business=bus_…`) sees one business's subscriptions, recent invoices and license
keys under that business's brand; a UNIFIED session sees them grouped by business, each group linking to its
narrowed view, and below them the businesses that have a record of its email not yet added
(gateway.pages.business_additions adds one).
"""

import functools
from urllib.parse import urlencode

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from access.sessions import end_session, remember_locale
from access.viewer import Viewer
from gateway.http.csrf import csrf_form_valid
from gateway.http.request_auth import bearer_token, viewer_from_request
from gateway.http.request_ids import request_id_of
from gateway.pages import flows
from gateway.pages.common import (
    PRICE_FIELDS,
    Brand,
    chosen_locale,
    clear_session_cookie,
    graphql_brand,
    not_found_page,
    page_locale,
    portal_brand,
    refused_form_page,
    render_page,
    revoke_cookie_session,
    sign_in_redirect,
)
from gateway.pages.login import SIGNED_OUT_PARAMETER, login_path_on_host
from gateway.settings import Settings
from models.enums import Scope
from schema.customer import build_context, schema

_BRANDING = "id name supportEmail branding { logoUrl primaryColor accentColor headline }"
_SUBSCRIPTIONS = f"""totalCount edges {{ node {{
  id status quantity product {{ id name }} price {{ {PRICE_FIELDS} }}
  previousBillingDate nextBillingDate cancelAtNextBillingDate cancelledAt trial {{ endsAt cardDeclined }}
  pausedUntil pauseAtNextBillingDate pauseEndsAt paymentRetry {{ nextAttemptAt }}
  paymentMethod {{ id brand last4 }}
}} }}"""
_INVOICES = "totalCount edges { node { id number issuedAt status total { formatted } pdfUrl summary } }"
_NEEDING_ACTION = "id status product { name } dues { formatted } paymentRetry { nextAttemptAt } business { name }"
_LICENSE_KEYS = "totalCount edges { node { id key status activationsLimit instancesCount expiresAt product { name } } }"

BUSINESS_QUERY = f"""
query BusinessPortal($businessId: ID!) {{
  viewer {{
    email returnUrl
    businesses {{ {_BRANDING} customer {{ name }} }}
    subscriptions(first: 50, businessId: $businessId) {{ {_SUBSCRIPTIONS} }}
    invoices(first: 6, businessId: $businessId) {{ {_INVOICES} }}
    licenseKeys(first: 50, businessId: $businessId) {{ {_LICENSE_KEYS} }}
    subscriptionsNeedingAction(businessId: $businessId) {{ {_NEEDING_ACTION} }}
  }}
  business: node(id: $businessId) {{ ... on Business {{ creditBalance {{ formatted }} }} }}
}}
"""

UNIFIED_QUERY = f"""
query UnifiedPortal {{
  viewer {{
    email
    businesses {{
      {_BRANDING}
      subscriptions(first: 10) {{ {_SUBSCRIPTIONS} }}
      invoices(first: 3) {{ {_INVOICES} }}
      licenseKeys(first: 10) {{ {_LICENSE_KEYS} }}
    }}
    businessesToAdd {{ id name }}
    subscriptionsNeedingAction {{ {_NEEDING_ACTION} }}
  }}
}}
"""


class PortalQueryError(RuntimeError):
    """The page's own query failed: a bug, or an unreachable database, not something the customer can fix."""


def failed_query(errors: list[GraphQLError]) -> PortalQueryError:
    """The failure of a page's query, raised from the first error's cause, which says whether the database was
    unreachable (gateway.http.request_ids then answers 503 rather than 500)."""
    failure = PortalQueryError("; ".join(error.message for error in errors))
    failure.__cause__ = next((error.original_error for error in errors if error.original_error), None)
    return failure


async def _query(request: Request, query: str, viewer: Viewer, locale: str, variables: dict | None = None) -> dict:
    context = build_context(viewer, locale, request_id_of(request))
    result = await schema.execute(query, variable_values=variables, context_value=context)
    if result.errors:
        raise failed_query(result.errors)
    return result.data or {}


async def _business_view(
    request: Request, settings: Settings, viewer: Viewer, locale: str, business_id: str
) -> Response:
    answer = await _query(request, BUSINESS_QUERY, viewer, locale, {"businessId": business_id})
    data = answer["viewer"]
    business = next(b for b in data["businesses"] if b["id"] == business_id)
    unified = viewer.scope == Scope.UNIFIED
    return render_page(
        request,
        settings,
        "home.html",
        locale=locale,
        brand=graphql_brand(business),
        livemode=viewer.livemode,
        home_url=f"/?{urlencode({'business': business_id})}" if unified else "/",
        email=data["email"],
        customer_name=(business.get("customer") or {}).get("name") or "",
        support_email=business.get("supportEmail") or "",
        credit=[money["formatted"] for money in answer["business"]["creditBalance"]],
        subscriptions=data["subscriptions"],
        invoices=data["invoices"],
        license_keys=data["licenseKeys"],
        needing_action=data["subscriptionsNeedingAction"],
        return_url=data["returnUrl"] or "",
        all_businesses_url="/" if unified else "",
    )


async def _unified_view(request: Request, settings: Settings, viewer: Viewer, locale: str) -> Response:
    data = (await _query(request, UNIFIED_QUERY, viewer, locale))["viewer"]
    businesses = [
        {**business, "brand": graphql_brand(business), "url": f"/?{urlencode({'business': business['id']})}"}
        for business in data["businesses"]
    ]
    brands: tuple[Brand, ...] = tuple(business["brand"] for business in businesses)
    return render_page(
        request,
        settings,
        "home_unified.html",
        locale=locale,
        brand=portal_brand(settings),
        other_brands=brands,
        livemode=viewer.livemode,
        home_url="/",
        email=data["email"],
        businesses=businesses,
        businesses_to_add=data["businessesToAdd"],
        needing_action=data["subscriptionsNeedingAction"],
    )


async def portal_home(request: Request, *, settings: Settings) -> Response:
    viewer = await viewer_from_request(request, settings)
    if viewer is None:
        return sign_in_redirect(request)
    elsewhere = flows.gate(request, viewer)
    if elsewhere is not None:
        return elsewhere
    await remember_locale(viewer.session, chosen_locale(request) or "")
    locale = page_locale(request, preferred=viewer.session.locale)
    if viewer.scope == Scope.BUSINESS and viewer.session.business_id:
        return await _business_view(request, settings, viewer, locale, viewer.session.business_id)
    business_id = request.query_params.get("business")
    if business_id is None:
        return await _unified_view(request, settings, viewer, locale)
    if viewer.business(business_id) is None:
        return not_found_page(request, settings, locale)
    return await _business_view(request, settings, viewer, locale, business_id)


async def sign_out(request: Request, *, settings: Settings) -> Response:
    if token := bearer_token(request):
        # An API client ending its own token, as POST /auth/logout does: no cookie, so no CSRF to check.
        await end_session(token)
        return Response(status_code=204)
    viewer = await viewer_from_request(request, settings)
    livemode = viewer.livemode if viewer else True
    form = await request.form()
    if not csrf_form_valid(request, form, settings):
        return refused_form_page(request, settings, portal_brand(settings), livemode)
    business_id = viewer.session.business_id if viewer and viewer.scope == Scope.BUSINESS else None
    await revoke_cookie_session(request, settings)
    signed_out = f"{login_path_on_host(request, business_id, livemode)}?{SIGNED_OUT_PARAMETER}=1"
    response = RedirectResponse(signed_out, status_code=303)
    clear_session_cookie(response, settings)
    return response


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route("/", functools.partial(portal_home, settings=settings)),
        Route("/logout", functools.partial(sign_out, settings=settings), methods=["POST"]),
    ]

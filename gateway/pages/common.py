"""What every page shares: the reader's language (chosen and remembered), the brand a page wears, rendering a
template with the CSRF token and the CSP nonce, the session cookie, and the error page that replaces a page (not
found, refused form, too many requests, server error)."""

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from access.sessions import live_session, revoke_session
from core.i18n import SUPPORTED_LOCALES, language_name, negotiate_locale, supported_locale
from gateway.brand_colors import Palette, brand_palette
from gateway.http.csrf import csrf_token, remember_visitor
from gateway.http.hosts import custom_business
from gateway.http.request_auth import SESSION_COOKIE, session_policy
from gateway.http.security_headers import CSP_NONCE
from gateway.settings import Settings
from gateway.templating import render
from models import Business

LOCALE_COOKIE = "portal_locale"
# A RecurringPrice as the pages ask the customer schema for it and the `recurring_price` filter reads it.
PRICE_FIELDS = "amount { amount currency } intervalCount interval tax"
# The request-state attribute a deep-link session's pages find their `focus` in (gateway.pages.flows).
FOCUS = "focus"
LOCALE_PARAMETER = "locale"
_LOCALE_COOKIE_SECONDS = 365 * 24 * 3600
# Ids become CSS class names in the page's <style>; anything else is left out.
_CSS_SAFE_ID = re.compile(r"^[A-Za-z0-9_]{1,40}$")


@dataclass(frozen=True)
class Brand:
    """What a page shows of whose portal it is."""

    name: str
    palette: Palette
    logo_url: str = ""
    headline: str = ""
    id: str = ""


def business_brand(business: Business) -> Brand:
    return Brand(
        name=business.name,
        palette=brand_palette(business.primary_color, business.accent_color),
        logo_url=business.logo_url,
        headline=business.headline,
        id=business.id if _CSS_SAFE_ID.match(business.id) else "",
    )


def graphql_brand(business: dict) -> Brand:
    """The brand of a GraphQL `Business { id name branding { logoUrl primaryColor accentColor headline } }`."""
    branding = business.get("branding") or {}
    return Brand(
        name=business["name"],
        palette=brand_palette(branding.get("primaryColor"), branding.get("accentColor")),
        logo_url=branding.get("logoUrl") or "",
        headline=branding.get("headline") or "",
        id=business["id"] if _CSS_SAFE_ID.match(business["id"]) else "",
    )


def portal_brand(settings: Settings) -> Brand:
    """The unified portal's own, neutral brand."""
    return Brand(name=settings.portal_name, palette=brand_palette(None, None))


def chosen_locale(request: Request) -> str | None:
    """The language the reader picked on this request (`?locale=`), if the portal speaks it."""
    return supported_locale(request.query_params.get(LOCALE_PARAMETER))


def picked_locale(request: Request) -> str | None:
    """The language the reader picked: on this request (`?locale=`), else earlier (the cookie)."""
    return chosen_locale(request) or supported_locale(request.cookies.get(LOCALE_COOKIE))


def page_locale(request: Request, preferred: str = "") -> str:
    """The reader's pick, else the session's or link's language, else the browser's Accept-Language."""
    return (
        picked_locale(request)
        or supported_locale(preferred)
        or negotiate_locale(request.headers.get("accept-language"))
    )


def sign_in_redirect(request: Request) -> RedirectResponse:
    """Where a visitor who is not signed in goes: the sign-in page, in the language they just picked, if they did."""
    picked = chosen_locale(request)
    return RedirectResponse(f"/login?{urlencode({LOCALE_PARAMETER: picked})}" if picked else "/login", status_code=303)


def _language_choice(request: Request, current: str) -> dict:
    """What the language switcher (language_switcher.html) offers: a link to this page again, its other query
    parameters kept, in each supported language."""
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != LOCALE_PARAMETER]
    return {
        "current": {"code": current, "name": language_name(current)},
        "options": [
            {
                "code": code,
                "name": language_name(code),
                "current": code == current,
                "href": f"{request.url.path}?{urlencode([*kept, (LOCALE_PARAMETER, code)])}",
            }
            for code in SUPPORTED_LOCALES
        ],
    }


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def render_page(
    request: Request,
    settings: Settings,
    template: str,
    *,
    locale: str,
    brand: Brand,
    livemode: bool = True,
    status: int = 200,
    other_brands: tuple[Brand, ...] = (),
    **context: object,
) -> HTMLResponse:
    """A page in the reader's language; sets the visitor (CSRF) and language cookies when they are new."""
    html = render(
        template,
        locale,
        brand=brand,
        other_brands=[other for other in other_brands if other.id],
        livemode=livemode,
        portal_name=settings.portal_name,
        csrf_token=csrf_token(request, settings),
        csp_nonce=getattr(request.state, CSP_NONCE),
        languages=_language_choice(request, locale),
        focus=getattr(request.state, FOCUS, None),
        **context,
    )
    # Pages show personal data and carry tokens: no cache may keep them.
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    remember_visitor(request, response, settings)
    if chosen_locale(request):
        response.set_cookie(
            LOCALE_COOKIE,
            locale,
            max_age=_LOCALE_COOKIE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )
    return response


def error_page(
    request: Request,
    settings: Settings,
    status: int,
    *,
    locale: str = "",
    brand: Brand | None = None,
    livemode: bool = True,
    request_id: str = "",
) -> HTMLResponse:
    """The page a person sees instead of the one they asked for (error.html), in their language, wearing the brand of
    the business whose page it is (on a custom domain, that business) or else the portal's own."""
    custom = custom_business(request)
    return render_page(
        request,
        settings,
        "error.html",
        locale=locale or page_locale(request),
        brand=brand or (business_brand(custom) if custom else portal_brand(settings)),
        livemode=livemode,
        status=status,
        error_status=status,
        back_url="/",
        request_id=request_id,
    )


def not_found_page(request: Request, settings: Settings, locale: str = "") -> HTMLResponse:
    return error_page(request, settings, 404, locale=locale)


def refused_form_page(request: Request, settings: Settings, brand: Brand, livemode: bool = True) -> HTMLResponse:
    """The answer to a form without this visitor's CSRF token: nothing was done."""
    return error_page(request, settings, 403, brand=brand, livemode=livemode)


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


async def revoke_cookie_session(request: Request, settings: Settings) -> None:
    """Revoke the session the `portal_session` cookie names, if it still lives."""
    token = request.cookies.get(SESSION_COOKIE)
    session = await live_session(token, session_policy(settings)) if token else None
    if session is not None:
        await revoke_session(session)


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.secure_cookies)

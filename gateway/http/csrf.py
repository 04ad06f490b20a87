"""CSRF protection for everything a browser sends with the portal's cookies: the HTML forms and cookie-authenticated
GraphQL writes.

Each visitor gets a random `portal_visitor` cookie; the CSRF token is HMAC-SHA256(secret_key, that value). A form
carries the token in the `csrf_token` field, a GraphQL client in the `X-CSRF-Token` header (pages also expose it in
`<meta name="csrf-token">`). Another site can make the browser send the cookie but can neither read the token nor
compute it without the secret key, so a forged request is refused.
"""

import hashlib
import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from core.tokens import same_secret
from gateway.settings import Settings

VISITOR_COOKIE = "portal_visitor"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
_VISITOR_COOKIE_SECONDS = 400 * 24 * 3600  # the longest lifetime browsers accept
_NEW_VISITOR = "csrf_new_visitor"


def _token_for(visitor: str, settings: Settings) -> str:
    return hmac.new(settings.secret_key.encode(), f"csrf:{visitor}".encode(), hashlib.sha256).hexdigest()


def _presented_visitor(request: Request) -> str | None:
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    return visitor if 20 <= len(visitor) <= 100 else None


def csrf_token(request: Request, settings: Settings) -> str:
    """The token to embed in this visitor's page; a first-time visitor gets a cookie (see `remember_visitor`)."""
    visitor = _presented_visitor(request) or getattr(request.state, _NEW_VISITOR, None)
    if visitor is None:
        visitor = secrets.token_urlsafe(32)
        setattr(request.state, _NEW_VISITOR, visitor)
    return _token_for(visitor, settings)


def remember_visitor(request: Request, response: Response, settings: Settings) -> None:
    """Set the visitor cookie on the response when `csrf_token` made a new one for this request."""
    visitor = getattr(request.state, _NEW_VISITOR, None)
    if visitor:
        response.set_cookie(
            VISITOR_COOKIE,
            visitor,
            max_age=_VISITOR_COOKIE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )


def csrf_value_valid(request: Request, presented: str | None, settings: Settings) -> bool:
    """Whether `presented` is this visitor's token: also the `state` of a round trip through another site (the
    payment processor's hosted page), which proves the return belongs to a journey this visitor started."""
    visitor = _presented_visitor(request)
    if not visitor or not presented:
        return False
    return same_secret(presented, _token_for(visitor, settings))


def csrf_form_valid(request: Request, form: FormData, settings: Settings) -> bool:
    """Whether a submitted form carries this visitor's token."""
    presented = form.get(FORM_FIELD)
    return csrf_value_valid(request, presented if isinstance(presented, str) else None, settings)


def csrf_header_valid(request: Request, settings: Settings) -> bool:
    """Whether a request carries this visitor's token in `X-CSRF-Token`: required on GraphQL writes authenticated
    by the session cookie (a Bearer token is never sent by the browser on its own and needs no check)."""
    return csrf_value_valid(request, request.headers.get(HEADER), settings)

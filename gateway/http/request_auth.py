"""Finding who a request acts for: the merchant API key it presents (`Authorization: Bearer sk_…`), or the portal
session (`Authorization: Bearer …` for GraphQL clients, the `portal_session` cookie for the pages). On a custom
domain only sessions of its business count (gateway.http.hosts)."""

from starlette.requests import Request

from access.sessions import SessionPolicy, viewer_for_token
from access.viewer import Viewer
from gateway.http.hosts import serves_viewer
from gateway.settings import Settings
from merchants.api_keys import authenticate_api_key
from models import ApiKey

SESSION_COOKIE = "portal_session"
UNAUTHENTICATED_MESSAGE = "A valid API key is required: Authorization: Bearer sk_test_… or sk_live_…"


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(idle_seconds=settings.session_idle_seconds, max_seconds=settings.session_max_seconds)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def presented_api_key(request: Request) -> ApiKey | None:
    """The merchant API key a request presents (`Authorization: Bearer sk_…`), if it is a valid one."""
    secret = bearer_token(request)
    return await authenticate_api_key(secret) if secret else None


def presented_session_token(request: Request) -> tuple[str | None, bool]:
    """The session token and whether it came from the cookie (cookie sessions need CSRF on writes)."""
    token = bearer_token(request)
    if token:
        return token, False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


async def viewer_from_request(request: Request, settings: Settings) -> Viewer | None:
    token, from_cookie = presented_session_token(request)
    if not token:
        return None
    viewer = await viewer_for_token(token, session_policy(settings), from_cookie=from_cookie)
    return viewer if viewer is not None and serves_viewer(request, viewer) else None

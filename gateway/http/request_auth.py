"""Finding the portal session a request presents: `Authorization: Bearer …` for GraphQL clients, the
`portal_session` cookie for the pages. On a custom domain only sessions of its business count (gateway.http.hosts)."""

from starlette.requests import Request

from access.sessions import SessionPolicy, viewer_for_token
from access.viewer import Viewer
from gateway.http.hosts import serves_viewer
from gateway.settings import Settings

SESSION_COOKIE = "portal_session"


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(idle_seconds=settings.session_idle_seconds, max_seconds=settings.session_max_seconds)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


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

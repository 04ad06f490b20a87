"""CORS for the customer API: a browser app on an origin a business lists (`Business.cors_origins`) may call
`/graphql` and the email-code sign-in (`/auth/*`, `/test/auth/*`) with a Bearer token.

The answer names the exact origin (with `Vary: Origin`), allows the Authorization and Content-Type headers and
POST, GET and OPTIONS, and never allows credentials: cookies stay same-site, so the pages' sessions and their CSRF
protection are untouched. An origin nobody lists gets no CORS header at all, and the browser keeps the response
from the calling page; by default nobody lists any.

Any business's origin is allowed on every token, not only its own business's: CORS without credentials protects
nothing a Bearer token does not already carry (whoever holds a token can use it from anywhere), and a preflight
carries no token to tell whose business it is for. The listed origins are read from the database at most once a
minute per process, so a change takes effect within `CACHE_SECONDS`.
"""

import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.middleware import HttpMiddleware
from models import Business

CACHE_SECONDS = 60.0
_PATH = "/graphql"
_PATH_PREFIXES = ("/auth/", "/test/auth/")
# A browser may reuse a preflight's answer this long (it caps the value itself: 2 hours in Chrome).
_PREFLIGHT_MAX_AGE = "600"
_ALLOWED = {
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
}
# Rate-limited answers say when to retry; errors name the request for support.
_EXPOSED = "Retry-After, X-Request-Id"


def _is_cors_path(path: str) -> bool:
    return path == _PATH or path.startswith(_PATH_PREFIXES)


class CorsMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._origins: frozenset[str] = frozenset()
        self._read_at = float("-inf")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_cors_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin", "")
        allowed = bool(origin) and origin in await self.listed_origins()
        if allowed and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            preflight = Response(status_code=204, headers={**_ALLOWED, "Access-Control-Allow-Origin": origin})
            preflight.headers.add_vary_header("Origin")
            await preflight(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.add_vary_header("Origin")
                if allowed:
                    response_headers["Access-Control-Allow-Origin"] = origin
                    response_headers["Access-Control-Expose-Headers"] = _EXPOSED
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def listed_origins(self) -> frozenset[str]:
        """Every origin some business lists, read again once the cached set is `CACHE_SECONDS` old."""
        if time.monotonic() - self._read_at >= CACHE_SECONDS:
            lists = await Business.all().values_list("cors_origins", flat=True)
            self._origins = frozenset(
                origin for listed in lists if isinstance(listed, list) for origin in listed if isinstance(origin, str)
            )
            self._read_at = time.monotonic()
        return self._origins

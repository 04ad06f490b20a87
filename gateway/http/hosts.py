"""Which site a request is for, by its Host header: the platform (the host of PORTAL_BASE_URL, and localhost or
127.0.0.1 for development and tests), a business's verified custom domain (merchants.custom_domains; a claim still
pending its DNS proof is nothing we serve), or nothing we serve, which gets a plain 400 "Unknown host".

The Host header is read as the client sent it: uvicorn's ProxyHeadersMiddleware (outermost in gateway.app) only
believes X-Forwarded-For/-Proto, never a forwarded host, so the proxy in front must pass Host through unchanged.

On a custom domain `request.state.custom_business` is that business (None on the platform), and the host is that
business's portal only: its `/login` is the business's sign-in page, and only sessions of that business open there
(`serves_viewer`). The merchant API answers only on the platform: an API key sent to a custom domain is refused,
so no integration is ever set up against a merchant's hostname, whose DNS may one day point somewhere else.

The operator's paths (`open_paths`: the health probes and the metrics, gateway.health and gateway.metrics) answer on
any host without looking one up: a load balancer or a scraper asks by an internal address, and a probe must not
depend on the custom domains' table.
"""

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from access.viewer import Viewer
from core.i18n import negotiate_locale
from gateway.http.middleware import HttpMiddleware
from gateway.templating import render
from merchants.api_keys import LIVE_KEY_PREFIX, TEST_KEY_PREFIX
from merchants.custom_domains import business_for_host
from models import Business
from models.enums import Scope as SessionScope

CUSTOM_BUSINESS = "custom_business"
CUSTOM_HOST = "custom_host"
DEVELOPMENT_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_MERCHANT_API_ELSEWHERE = "The merchant API answers only on the portal's own address, not on custom domains."


def host_of(headers: Headers) -> str:
    """The Host header's hostname, lower case, without port or trailing dot; empty when there is none."""
    host = headers.get("host", "").strip().lower()
    if host.startswith("["):  # an IPv6 literal, `[::1]:8000`
        return host[1 : host.find("]")] if "]" in host else ""
    return host.partition(":")[0].removesuffix(".")


def _presents_api_key(headers: Headers) -> bool:
    scheme, _, secret = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secret.strip().startswith((TEST_KEY_PREFIX, LIVE_KEY_PREFIX))


def _looks_like_hostname(host: str) -> bool:
    # Anything else cannot be a registered domain and is refused without asking the database.
    return 0 < len(host) <= 253 and all(char.isascii() and (char.isalnum() or char in ".-") for char in host)


class HostMiddleware(HttpMiddleware):
    """Refuses unknown hosts and marks requests to a custom domain with its business."""

    def __init__(self, app: ASGIApp, *, base_url: str, open_paths: frozenset[str] = frozenset()) -> None:
        super().__init__(app)
        self.platform_hosts = DEVELOPMENT_HOSTS | {(urlsplit(base_url).hostname or "").lower()}
        self.open_paths = open_paths

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        host = host_of(headers)
        if host in self.platform_hosts or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        business = await business_for_host(host) if _looks_like_hostname(host) else None
        if business is None:
            await _unknown_host(headers)(scope, receive, send)
        elif _presents_api_key(headers):
            body = {"code": "NOT_FOUND", "message": _MERCHANT_API_ELSEWHERE, "field": None}
            await JSONResponse(body, status_code=404)(scope, receive, send)
        else:
            state = scope.setdefault("state", {})
            state[CUSTOM_BUSINESS] = business
            state[CUSTOM_HOST] = host
            await self.app(scope, receive, send)


def _unknown_host(headers: Headers) -> PlainTextResponse:
    text = render("unknown_host.txt", negotiate_locale(headers.get("accept-language"))).strip()
    return PlainTextResponse(text, status_code=400)


def custom_business(request: Request) -> Business | None:
    """The business whose custom domain this request came to; None on the platform's host."""
    return getattr(request.state, CUSTOM_BUSINESS, None)


def custom_portal_url(request: Request) -> str | None:
    """`https://` and the custom domain this request came to; None on the platform's host."""
    return f"https://{getattr(request.state, CUSTOM_HOST)}" if custom_business(request) else None


def serves_business(request: Request, business_id: str | None) -> bool:
    """Whether this host shows that business's portal (None: the unified portal): the platform shows every one,
    a custom domain only its own."""
    custom = custom_business(request)
    return custom is None or business_id == custom.id


def serves_viewer(request: Request, viewer: Viewer) -> bool:
    """Whether a session opens on this host: on a custom domain only a session of that business."""
    business_id = viewer.session.business_id if viewer.scope == SessionScope.BUSINESS else None
    return serves_business(request, business_id)

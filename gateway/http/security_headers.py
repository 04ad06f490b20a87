"""Security headers on every HTTP response: a Content-Security-Policy that forbids framing and inline script,
X-Frame-Options, Referrer-Policy (sign-in and session links are in URLs, so no referrer ever leaves) and nosniff.

Each request gets a fresh CSP nonce in `request.state.csp_nonce`; the one inline `<style>` of a page (the business's
colours as CSS custom properties) carries it. A response that sets its own Content-Security-Policy keeps it.
"""

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from gateway.http.middleware import HttpMiddleware

CSP_NONCE = "csp_nonce"


def content_security_policy(
    nonce: str, *, scripts: tuple[str, ...] = (), frames: tuple[str, ...] = (), connects: tuple[str, ...] = ()
) -> str:
    """The policy of every page; a page that runs a processor's script (Stripe.js) names its origins: the script,
    the frames it opens (card fields, 3-D Secure) and the API it calls."""
    directives = [
        "default-src 'self'",
        f"style-src 'self' 'nonce-{nonce}'",
        # Business logos are merchant-hosted (https) or inline data: URIs.
        "img-src 'self' https: data:",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
    if scripts:
        directives.append(" ".join(("script-src", "'self'", *scripts)))
    if frames:
        directives.append(" ".join(("frame-src", *frames)))
    if connects:
        directives.append(" ".join(("connect-src", "'self'", *connects)))
    return "; ".join(directives)


class SecurityHeadersMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[CSP_NONCE] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", content_security_policy(nonce))
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_headers)

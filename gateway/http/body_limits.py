"""How much a request may send: up to PORTAL_MAX_BODY_BYTES to the APIs (GraphQL, the merchant endpoint), up to the
much smaller PORTAL_MAX_FORM_BYTES as an HTML form. A body past its limit is answered with 413 before anything
parses it: at once when its Content-Length says so, else as soon as the streamed (chunked) bytes pass the limit.

The answer speaks the client's language: a GraphQL error on the GraphQL endpoints, the merchant API's error object
elsewhere, the branded error page for a form (built by the composition root, gateway.app).
"""

from collections.abc import Callable, Collection

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.graphql.http import graphql_error_response
from gateway.http.middleware import HttpMiddleware
from gateway.rest.errors import RestErrorCode, error_response

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_CODE = "PAYLOAD_TOO_LARGE"


class BodyTooLarge(Exception):
    """The streamed body passed its limit; raised inside `receive`, answered by the middleware."""


def is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith(_FORM_TYPES)


def declared_length(request: Request) -> int:
    """The Content-Length, or 0 when there is none worth believing (the streamed bytes are counted anyway)."""
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else 0


class BodyLimitMiddleware(HttpMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_form_bytes: int,
        graphql_paths: Collection[str],
        too_large_form: Callable[[Request], Response],
    ) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes
        self.max_form_bytes = max_form_bytes
        self.graphql_paths = frozenset(graphql_paths)
        self.too_large_form = too_large_form

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        limit = self.max_form_bytes if is_form(request) else self.max_body_bytes
        if declared_length(request) > limit:
            await self.too_large(request, limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # An answer that has begun cannot become a 413; the server ends the connection instead.
            if not started:
                await self.too_large(request, limit)(scope, receive, send)

    def too_large(self, request: Request, limit: int) -> Response:
        message = f"The request body is larger than the {limit} bytes this endpoint accepts."
        if request.url.path in self.graphql_paths:
            return graphql_error_response(request, 413, _CODE, message)
        if is_form(request):
            return self.too_large_form(request)
        return error_response(RestErrorCode.PAYLOAD_TOO_LARGE, message)

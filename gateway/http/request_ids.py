"""Every request's id, and what an unexpected error does with it.

Each HTTP request gets a fresh random id, in `request.state.request_id` and in the `X-Request-Id` response header
of every answer. An exception that nothing below handled is logged once, as an ERROR with its traceback and the
request id, and answered with a 500 that names the id, so support can find the log line from what the client saw.
One that says the database cannot be reached is logged in one line and answered with a 503 and Retry-After: it is
an outage to wait out, not a bug.
(GraphQL masks its own unexpected errors with the same id: see schema.common.limits.)
"""

import logging
import secrets
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.middleware import HttpMiddleware
from models.database import is_unreachable

logger = logging.getLogger(__name__)

REQUEST_ID = "request_id"
REQUEST_ID_HEADER = "X-Request-Id"


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def request_id_of(request: Request) -> str:
    return getattr(request.state, REQUEST_ID)


class RequestIdMiddleware(HttpMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        *,
        server_error: Callable[[Request, str], Response],
        unavailable: Callable[[Request, str], Response],
    ) -> None:
        super().__init__(app)
        self.server_error = server_error
        self.unavailable = unavailable

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        scope.setdefault("state", {})[REQUEST_ID] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            # The log's filter (gateway.http.log_redaction) hides the secrets a path may carry.
            method, path = scope.get("method"), scope.get("path", "")
            if is_unreachable(error):
                answer = self.unavailable
                logger.error("The database is unreachable: %s %s (request %s): %r", method, path, request_id, error)
            else:
                answer = self.server_error
                logger.exception("Unexpected error on %s %s (request %s)", method, path, request_id)
            # Once the answer has begun nothing can replace it; the server ends the connection instead.
            if not started:
                await answer(Request(scope), request_id)(scope, receive, send_with_id)

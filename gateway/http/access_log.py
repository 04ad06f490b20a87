"""What each request comes to: one line in the request log and the request metrics, by the route's template.

The line names the client, the method, the address (secrets redacted by gateway.http.log_redaction's filter, which
gateway.app installs on this logger), the status, the time taken and the request id; under PORTAL_LOG_FORMAT=json
the request id, method, route template, status, duration in ms and client are fields of their own (gateway.logs).
The operator's own requests (`quiet_paths`: the health probes, metrics scrapes) are logged at DEBUG only, so a probe
every few seconds does not bury the log. This log replaces uvicorn's access log, which `portal serve` turns off.

Outermost of the portal's middlewares, so that it times and sees every answer, the 400 of an unknown host and the
500 of an unexpected error included.
"""

import logging
import time

from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.middleware import HttpMiddleware
from gateway.http.request_ids import REQUEST_ID
from gateway.metrics.instruments import observe_request

logger = logging.getLogger(__name__)

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/subscriptions/{subscription_id}`), never the address itself;
    UNMATCHED when no route did (a 404, an unknown host)."""
    route = scope.get("route")
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    if isinstance(route, Route):
        return route.path
    return UNMATCHED


def _address(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return scope.get("root_path", "") + scope["path"] + (f"?{query}" if query else "")


class AccessLogMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, quiet_paths: frozenset[str] = frozenset()) -> None:
        super().__init__(app)
        self.quiet_paths = quiet_paths

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        # What a client sees when the app fails before answering: the server's 500.
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            observe_request(scope["method"], route, status, seconds)
            self._log(scope, route, status, seconds)

    def _log(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        level = logging.DEBUG if scope["path"] in self.quiet_paths else logging.INFO
        if not logger.isEnabledFor(level):
            return
        client = (scope.get("client") or ("-",))[0]
        request_id = scope.get("state", {}).get(REQUEST_ID, "-")
        duration_ms = round(seconds * 1000, 1)
        fields = {
            "request_id": request_id,
            "method": scope["method"],
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "client": client,
        }
        # The address is an argument of its own, which the redacting filter rewrites without its secrets.
        logger.log(
            level,
            '%s "%s %s" %d %.1f ms %s',
            client,
            scope["method"],
            _address(scope),
            status,
            duration_ms,
            request_id,
            extra=fields,
        )

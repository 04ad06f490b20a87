"""`/graphql`: the customer schema over HTTP (GraphQL-over-HTTP: POST, and GET for queries only)."""

from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from core.i18n import formatting_locale
from gateway.graphql.http import SpecGraphQL, graphql_error_response
from gateway.http.csrf import csrf_header_valid
from gateway.http.request_auth import presented_session_token, viewer_from_request
from gateway.http.request_ids import request_id_of
from gateway.payments import billing_of
from gateway.settings import Settings
from schema.customer import CustomerContext, build_context, schema

GRAPHQL_PATH = "/graphql"
_CSRF_MESSAGE = "A request signed in by cookie needs the page's CSRF token in the X-CSRF-Token header."


def request_locale(request: Request) -> str:
    """`?locale=`, else the best-rated Accept-Language tag Babel knows, else English."""
    return formatting_locale(request.query_params.get("locale"), request.headers.get("accept-language"))


class CustomerGraphQL(SpecGraphQL):
    """The customer schema over HTTP. A POST authenticated by the session cookie must carry the page's CSRF token
    in `X-CSRF-Token` (only POST can write; a Bearer token is never sent by a browser on its own)."""

    metrics_name = "customer"

    def __init__(self, settings: Settings) -> None:
        super().__init__(schema, graphql_ide=None, allow_queries_via_get=True)
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        _, from_cookie = presented_session_token(request)
        if request.method == "POST" and from_cookie and not csrf_header_valid(request, self.settings):
            await graphql_error_response(request, 403, "CSRF_TOKEN_INVALID", _CSRF_MESSAGE)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def build_context(self, request: Request) -> CustomerContext:
        viewer = await viewer_from_request(request, self.settings)
        return build_context(viewer, request_locale(request), request_id_of(request), billing_of(request))


def routes(settings: Settings) -> list[BaseRoute]:
    return [Route(GRAPHQL_PATH, CustomerGraphQL(settings), methods=["GET", "POST"])]

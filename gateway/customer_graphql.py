"""`/graphql`: the customer schema over HTTP (GraphQL-over-HTTP: POST, and GET for queries only)."""

from babel import Locale, UnknownLocaleError
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from gateway.graphql_http import SpecGraphQL
from gateway.request_auth import viewer_from_request
from gateway.settings import Settings
from schema.customer import CustomerContext, build_context, schema


def request_locale(request: Request) -> str:
    """`?locale=`, else the best-rated Accept-Language tag Babel knows, else English."""
    candidates = [request.query_params.get("locale", "")]
    weighted = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weighted.append((float(quality or 1), tag.strip()))
        except ValueError:
            continue
    candidates += [tag for _, tag in sorted(weighted, key=lambda pair: -pair[0])]
    for tag in candidates:
        if not tag or tag == "*":
            continue
        try:
            return str(Locale.parse(tag.replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            continue
    return "en"


class CustomerGraphQL(SpecGraphQL):
    def __init__(self, settings: Settings) -> None:
        super().__init__(schema, graphql_ide=None, allow_queries_via_get=True)
        self.settings = settings

    async def build_context(self, request: Request) -> CustomerContext:
        return build_context(await viewer_from_request(request, self.settings), request_locale(request))


def routes(settings: Settings) -> list[BaseRoute]:
    return [Route("/graphql", CustomerGraphQL(settings), methods=["GET", "POST"])]

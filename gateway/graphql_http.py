"""GraphQL over HTTP as its specification asks, on top of strawberry's ASGI view.

Strawberry speaks the legacy `application/json` media type only. A client that asks for
`application/graphql-response+json` gets it, and with it the status codes the specification gives that media
type: 400 for a request the server refused to execute (syntax, validation, limits), 200 once execution started.
"""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL

GRAPHQL_RESPONSE = "application/graphql-response+json"


def prefers_graphql_response(request: Request) -> bool:
    """Whether the Accept header ranks the GraphQL response media type above plain JSON."""
    ranked: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        quality = next((p.removeprefix("q=") for p in params if p.startswith("q=")), "1")
        try:
            ranked[media_type.lower()] = float(quality)
        except ValueError:
            continue
    return ranked.get(GRAPHQL_RESPONSE, 0) > 0 and ranked[GRAPHQL_RESPONSE] >= ranked.get("application/json", 0)


def is_request_error(response_data: Any) -> bool:
    """No execution happened: no data, and no error points at a field."""
    if not isinstance(response_data, dict) or response_data.get("data") is not None:
        return False
    return all("path" not in error for error in response_data.get("errors") or [])


class SpecGraphQL(GraphQL):
    """Strawberry's view, plus the `application/graphql-response+json` media type."""

    async def get_context(self, request: Request, response: Response | Any) -> Any:
        if prefers_graphql_response(request):
            response.headers["content-type"] = GRAPHQL_RESPONSE
        return await self.build_context(request)

    async def build_context(self, request: Request) -> Any:
        raise NotImplementedError

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.headers.get("content-type") == GRAPHQL_RESPONSE:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            if is_request_error(response_data):
                response.status_code = 400
        return response

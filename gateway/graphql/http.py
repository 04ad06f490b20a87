"""GraphQL over HTTP as its specification asks, on top of strawberry's ASGI view.

Strawberry speaks the legacy `application/json` media type only. A client that asks for
`application/graphql-response+json` gets it, and with it the status codes the specification gives that media
type: 400 for a request the server refused to execute (syntax, validation, limits), answered without a `data` entry,
and 200 once execution started.

A request that is not a GraphQL request at all (a body that is not JSON, not UTF-8 or not an object; a mutation over
GET) is refused with a 4xx and a GraphQL error body, `{"errors": [{"message", "extensions": {"code"}}]}`, never a
crash: the connection stays usable. While the database cannot be reached, whatever the media type, the answer is 503
with Retry-After and the errors alone (code UNAVAILABLE): a partial answer would only mislead.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from gateway.graphql import operations
from gateway.http.browsers import wants_page
from gateway.http.json_body import LoneSurrogate, decode_json
from gateway.metrics.instruments import observe_graphql
from schema.common.limits import INTERNAL_SERVER_ERROR, UNAVAILABLE

GRAPHQL_RESPONSE = "application/graphql-response+json"
_NOT_JSON = "The request body must be JSON text in UTF-8."
_NOT_AN_OBJECT = 'A GraphQL request is a JSON object such as {"query": "{ viewer { email } }"}.'
# How long a client should wait before trying again while the database cannot be reached: a restart or a failover.
RETRY_AFTER_SECONDS = 5


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


def graphql_error_response(
    request: Request, status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A refusal in the GraphQL-over-HTTP shape, in the media type the client asked for."""
    media_type = f"{GRAPHQL_RESPONSE}; charset=utf-8" if prefers_graphql_response(request) else "application/json"
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status_code, headers=headers, media_type=media_type)


def is_request_error(response_data: Any) -> bool:
    """The client's request was refused before execution: no data, no error points at a field, none is ours."""
    if not isinstance(response_data, dict) or response_data.get("data") is not None:
        return False
    return all(
        "path" not in error and (error.get("extensions") or {}).get("code") != INTERNAL_SERVER_ERROR
        for error in response_data.get("errors") or []
    )


def is_unavailable(response_data: Any) -> bool:
    """The database could not be reached while answering: some error says UNAVAILABLE."""
    errors = response_data.get("errors") if isinstance(response_data, dict) else None
    return any((error.get("extensions") or {}).get("code") == UNAVAILABLE for error in errors or [])


def refusal_of(request: Request, refused: HTTPException) -> JSONResponse:
    """The answer to a request strawberry refused before executing it."""
    if request.method == "GET" and isinstance(refused.__cause__, InvalidOperationTypeError):
        # The specification: a mutation over GET is 405 Method Not Allowed, and halts.
        return graphql_error_response(request, 405, "METHOD_NOT_ALLOWED", refused.reason, {"Allow": "POST"})
    headers = {"Allow": "GET, POST"} if refused.status_code == 405 else None
    return graphql_error_response(
        request, refused.status_code, HTTPStatus(refused.status_code).name, refused.reason, headers
    )


class SpecGraphQL(GraphQL):
    """Strawberry's view, plus the `application/graphql-response+json` media type, GraphQL-shaped refusals and the
    count of operations by name and outcome (gateway.graphql.operations) under the schema's `metrics_name`."""

    metrics_name = "graphql"

    # Served over HTTP only (no websocket subscriptions), so the request is always an HTTP one.
    async def get_context(self, request: Request, response: Response | Any) -> Any:  # type: ignore[override]
        if prefers_graphql_response(request):
            response.headers["content-type"] = GRAPHQL_RESPONSE
        return await self.build_context(request)

    async def build_context(self, request: Request) -> Any:
        raise NotImplementedError

    def should_render_graphql_ide(self, request: Any) -> bool:
        # No IDE is served: a GET without a query is a malformed GraphQL request (400), not a page.
        return False

    # HTTP only, as above: strawberry's run is overloaded for websockets too.
    async def run(  # type: ignore[override]
        self, request: Request, context: Any = UNSET, root_value: Any = UNSET
    ) -> Response:
        if request.method == "GET" and "query" not in request.query_params and wants_page(request):
            raise StarletteHTTPException(404)  # a person opened the address in a browser: there is no page here
        try:
            return await super().run(request, context, root_value)
        except HTTPException as refused:
            return refusal_of(request, refused)

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        name = operations.operation_name(request_data.query, request_data.operation_name)
        try:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException:
            observe_graphql(self.metrics_name, name, operations.USER_ERROR)
            raise
        except Exception:
            observe_graphql(self.metrics_name, name, operations.ERROR)
            raise
        observe_graphql(self.metrics_name, name, operations.outcome(result.errors, result.data))
        return result

    def parse_json(self, data: str | bytes) -> Any:
        """The request (or its `variables`/`extensions` parameter) as a JSON object; anything else is a 400."""
        try:
            value = decode_json(data)
        except LoneSurrogate as error:
            raise HTTPException(400, error.message) from error
        except ValueError as error:  # bad JSON and bad UTF-8 alike
            raise HTTPException(400, _NOT_JSON) from error
        if not isinstance(value, dict):
            raise HTTPException(400, _NOT_AN_OBJECT)
        return value

    def encode_json(self, data: object) -> bytes:
        # orjson: the answer to a big page is thousands of values, and the standard encoder took a tenth of its time.
        return orjson.dumps(data)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        modern = sub_response.headers.get("content-type") == GRAPHQL_RESPONSE
        unavailable = is_unavailable(response_data)
        refused = modern and not unavailable and is_request_error(response_data)
        if refused or unavailable:
            # The specification: a request that never executed is answered without a `data` entry.
            response_data = {key: value for key, value in response_data.items() if key != "data"}
        response = super().create_response(response_data, sub_response)
        if modern:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            if refused:
                response.status_code = 400
        if unavailable:
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

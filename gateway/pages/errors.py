"""The answers to requests no page serves: an unknown address (404), a method the address does not take (405), a
JSON body whose strings are not text (400, on every API route at once), a form past the size limit (413), an
unexpected error (500) and a database that cannot be reached (503, with Retry-After). A browser, which asks for
`text/html`, gets the branded error page in its reader's language; an API client gets the JSON error the merchant
API answers with; a GraphQL client, on the GraphQL endpoints, GraphQL errors.

Pages that fail on their own terms render the same template through `gateway.pages.common.error_page` (too many
downloads, 429; a refused form, 403), or their own (an emailed link that has expired or was used, 410, is
link_problem.html, which offers a new link).
"""

import logging
from collections.abc import Collection, Mapping
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from gateway.graphql.http import RETRY_AFTER_SECONDS, graphql_error_response
from gateway.http.browsers import wants_page
from gateway.http.json_body import LoneSurrogate
from gateway.pages.common import error_page
from gateway.rest.errors import RestErrorCode, error_response
from gateway.settings import Settings
from schema.common.limits import UNAVAILABLE, UNAVAILABLE_MESSAGE

logger = logging.getLogger(__name__)


def _json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {"code": HTTPStatus(status).name, "message": message, "field": None}
    return JSONResponse(body, status_code=status, headers=headers)


def exception_handlers(settings: Settings) -> dict:
    """Starlette's handlers for the HTTP errors its routing raises (no such route, wrong method), and for a JSON body
    that gateway.http.json_body refused for a lone surrogate, wherever a route read it."""

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if not wants_page(request):
            return _json_error(error.status_code, error.detail, error.headers)
        response = error_page(request, settings, error.status_code)
        response.headers.update(error.headers or {})  # a 405 names the methods the address takes in `Allow`
        return response

    async def lone_surrogate(request: Request, error: Exception) -> Response:
        assert isinstance(error, LoneSurrogate)
        return error_response(RestErrorCode.INVALID_UNICODE, error.message, error.field)

    return {HTTPException: http_error, LoneSurrogate: lone_surrogate}


def too_large_form(settings: Settings, request: Request) -> Response:
    """The answer to a form post past PORTAL_MAX_FORM_BYTES, which is refused before any page sees it."""
    return error_page(request, settings, 413)


def server_error(settings: Settings, request: Request, request_id: str) -> Response:
    """The answer to an unexpected error, naming the request id the log has the traceback under."""
    if wants_page(request):
        try:
            return error_page(request, settings, 500, request_id=request_id)
        except Exception:  # the page itself failed (a broken template, say): the plain answer still goes out
            logger.exception("The error page failed (request %s)", request_id)
    return PlainTextResponse(f"Unexpected error. Request id: {request_id}", status_code=500)


def unavailable(settings: Settings, graphql_paths: Collection[str], request: Request, request_id: str) -> Response:
    """The answer while the database cannot be reached: 503 and when to try again, in the client's own shape."""
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.url.path in graphql_paths:
        return graphql_error_response(request, 503, UNAVAILABLE, UNAVAILABLE_MESSAGE, retry)
    if wants_page(request):
        page = error_page(request, settings, 503, request_id=request_id)
        page.headers.update(retry)
        return page
    return error_response(RestErrorCode.UNAVAILABLE, UNAVAILABLE_MESSAGE, retry_after=RETRY_AFTER_SECONDS)

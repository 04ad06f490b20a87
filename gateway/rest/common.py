"""What every Dodo-compatible REST endpoint of the merchant API shares: the API key, JSON bodies, Dodo's list shape
(`{"items": [...]}` with `page_size` and zero-based `page_number`) and the optional `Idempotency-Key` header.

An endpoint is `async def handler(call: MerchantCall) -> Response` wrapped by `merchant_endpoint`, which answers 401
without a valid key and turns a `RestError`, or any domain's DomainError, into its status and body
(gateway.rest.errors). Ids outside the key's business and mode answer exactly like missing ones: handlers look rows
up through `MerchantCall.scoped`.
"""

import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope
from tortoise.models import Model
from tortoise.queryset import QuerySet

from core.errors import DomainError
from gateway.http.json_body import decode_json
from gateway.http.request_auth import UNAUTHENTICATED_MESSAGE, presented_api_key
from gateway.rest.errors import RestError, RestErrorCode, error_response, not_found, rest_error
from merchants.api_keys import LIVE_KEY_PREFIX, TEST_KEY_PREFIX
from merchants.inputs import MerchantErrorCode
from models import ApiKey
from models.ids import find_by_client_id, matching_id

M = TypeVar("M", bound=Model)

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


_API_KEY_PREFIXES = tuple(f"bearer {prefix}".lower().encode() for prefix in (LIVE_KEY_PREFIX, TEST_KEY_PREFIX))


class ApiKeyRoute(Route):
    """A route that takes only requests presenting an API key, so that a portal page on the same path keeps it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        authorization = dict(scope.get("headers", [])).get(b"authorization", b"").lower()
        if not authorization.startswith(_API_KEY_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


@dataclass(frozen=True)
class MerchantCall:
    request: Request
    api_key: ApiKey

    @property
    def business_id(self) -> str:
        return self.api_key.business_id

    @property
    def livemode(self) -> bool:
        return self.api_key.livemode

    def scope(self, model: type[M]) -> QuerySet[M]:
        """The rows of `model` that belong to the key's business and mode."""
        return model.filter(business_id=self.business_id, livemode=self.livemode)

    async def scoped(self, model: type[M], client_id: object, kind: str) -> M:
        """The key's row with this id; a malformed, foreign or missing id raises the same 404."""
        row = await find_by_client_id(self.scope(model), client_id)
        if row is None:
            raise not_found(kind)
        return row

    async def json_body(self, accepted: Collection[str]) -> dict[str, Any]:
        """The request's JSON object; anything else is a 422, and so is a field outside `accepted`: a parameter of
        Dodo's that the portal does not do is refused by name, never ignored."""
        try:
            body = decode_json(await self.request.body())
        except ValueError:  # not UTF-8, not JSON, or nested past the parser's depth
            body = None
        if not isinstance(body, dict):
            raise RestError(RestErrorCode.INVALID_BODY, "The body must be a JSON object.")
        for name in body:
            if name not in accepted:
                message = f"{name} is not supported by this endpoint of the portal."
                raise RestError(MerchantErrorCode.INVALID_INPUT, message, name)
        return body

    def idempotency_key(self) -> str:
        """The `Idempotency-Key` header of a charging POST; without one, a fresh key, so the request runs once as sent
        (as in Dodo and Stripe, the header is what makes a retry safe)."""
        return self.request.headers.get("idempotency-key", "").strip() or f"rest-{secrets.token_urlsafe(24)}"

    def page(self) -> tuple[int, int]:
        """`(page_size, page_number)` from the query string: 10 and 0 by default, at most 100 a page."""
        return (
            self._query_int("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
            self._query_int("page_number", 0, 0, None),
        )

    def _query_int(self, name: str, default: int, low: int, high: int | None) -> int:
        text = self.request.query_params.get(name)
        if text is None:
            return default
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        if not text.isascii() or not text.isdigit() or not low <= int(text) <= (high if high is not None else 10**9):
            raise RestError(RestErrorCode.INVALID_QUERY, f"{name} must be a whole number {bounds}.", name)
        return int(text)


# How a list's own filter narrows its query by the parameter's value.
Filter = Callable[[QuerySet, str], QuerySet]
# What every list takes besides its own filters (a business is its one brand, so `brand_id` is its id).
_LIST_PARAMETERS = {"page_size", "page_number", "created_at_gte", "created_at_lte", "brand_id"}


def by_id(column: str, model: type[Model]) -> Filter:
    """A filter by a related row's id; an id that is not the model's matches nothing."""
    return lambda query, value: matching_id(query, column, value, model)


def by_status(statuses: type[StrEnum]) -> Filter:
    """A filter by one of the statuses."""

    def narrow(query: QuerySet, value: str) -> QuerySet:
        if value not in {str(status) for status in statuses}:
            message = f"status must be one of {', '.join(statuses)}."
            raise RestError(RestErrorCode.INVALID_QUERY, message, "status")
        return query.filter(status=value)

    return narrow


def _moment_parameter(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RestError(RestErrorCode.INVALID_QUERY, f"{name} must be an ISO 8601 time.", name) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _narrowed(call: MerchantCall, query: QuerySet, filters: Mapping[str, Filter]) -> QuerySet:
    """`query` narrowed by the query string; a parameter the list does not know is refused, never ignored."""
    params = call.request.query_params
    for name in params:
        if name not in filters and name not in _LIST_PARAMETERS:
            raise RestError(RestErrorCode.INVALID_QUERY, f"{name} is not a parameter of this list.", name)
    for name, narrow in filters.items():
        if name in params:
            query = narrow(query, params[name])
    if "brand_id" in params and params["brand_id"] != call.business_id:
        query = query.filter(pk__in=[])
    if "created_at_gte" in params:
        query = query.filter(created_at__gte=_moment_parameter("created_at_gte", params["created_at_gte"]))
    if "created_at_lte" in params:
        query = query.filter(created_at__lte=_moment_parameter("created_at_lte", params["created_at_lte"]))
    return query


# What turns a page's rows into its items, all at once: a relation the items show costs one statement a page.
PageBuilder = Callable[[list[Any]], Awaitable[list[dict[str, Any]]]]


def each(to_json: Callable[[Any], Awaitable[dict[str, Any]]]) -> PageBuilder:
    """The page builder of a row builder that loads nothing more (the page's query fetched what it shows)."""

    async def build(rows: list[Any]) -> list[dict[str, Any]]:
        return [await to_json(row) for row in rows]

    return build


async def list_response(
    call: MerchantCall, query: QuerySet, to_items: PageBuilder, filters: Mapping[str, Filter] | None = None
) -> JSONResponse:
    """One page of `query` narrowed by `filters` and creation time, newest first, in Dodo's list shape."""
    size, number = call.page()
    query = _narrowed(call, query, filters or {})
    rows = await query.order_by("-created_at", "-id").offset(size * number).limit(size)
    return JSONResponse({"items": await to_items(rows)})


Handler = Callable[[MerchantCall], Awaitable[Response]]


def merchant_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A REST endpoint that acts for the presented API key's business and mode."""

    async def endpoint(request: Request) -> Response:
        api_key = await presented_api_key(request)
        if api_key is None:
            return error_response(RestErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
        try:
            return await handler(MerchantCall(request, api_key))
        except RestError as error:
            return error.response()
        except DomainError as error:
            return rest_error(error).response()

    return endpoint

"""The merchant API, authenticated by API key (`Authorization: Bearer sk_…`; one business in one mode): the portal
session endpoint merchants know, `POST /customers/{customer_id}/customer-portal/session`, and the merchant GraphQL
schema at `/merchant/graphql`.

A customer of another business or mode answers exactly like a customer that does not exist.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from access.login_links import PortalLinkError, PortalLinkErrorCode, create_magic_link, customer_of_business
from gateway.graphql_http import SpecGraphQL, graphql_error_response
from gateway.payments import billing_of
from gateway.request_auth import bearer_token
from gateway.request_ids import request_id_of
from gateway.settings import Settings
from merchants.api_keys import authenticate_api_key
from models import ApiKey
from schema.merchant import schema as merchant_schema
from schema.merchant.context import MerchantContext

GRAPHQL_PATH = "/merchant/graphql"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="merchant-api"'}
UNAUTHENTICATED_MESSAGE = "A valid API key is required: Authorization: Bearer sk_test_… or sk_live_…"
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


async def presented_api_key(request: Request) -> ApiKey | None:
    secret = bearer_token(request)
    return await authenticate_api_key(secret) if secret else None


def error_response(status_code: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    headers = _CHALLENGE if status_code == 401 else None
    return JSONResponse({"code": code, "message": message, "field": field}, status_code=status_code, headers=headers)


def query_flag(request: Request, name: str) -> bool | None:
    """A boolean query parameter (absent is false); None when it is not a boolean."""
    return _BOOLEANS.get(request.query_params.get(name, "false").lower())


class MerchantGraphQL(SpecGraphQL):
    """The merchant schema over HTTP; a request without a valid API key is refused before GraphQL sees it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(merchant_schema, graphql_ide=None)
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        api_key = await presented_api_key(request)
        if api_key is None:
            refusal = graphql_error_response(request, 401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE, _CHALLENGE)
            await refusal(scope, receive, send)
            return
        request.state.api_key = api_key
        await super().__call__(scope, receive, send)

    async def build_context(self, request: Request) -> MerchantContext:
        return MerchantContext(
            api_key=request.state.api_key,
            base_url=self.settings.base_url,
            portal_name=self.settings.portal_name,
            magic_link_seconds=self.settings.magic_link_seconds,
            access_token_seconds=self.settings.access_token_seconds,
            request_id=request_id_of(request),
            billing=billing_of(request),
            webhooks_allow_private=self.settings.webhooks_allow_private,
        )


def routes(settings: Settings) -> list[BaseRoute]:
    async def create_portal_session(request: Request) -> JSONResponse:
        api_key = await presented_api_key(request)
        if api_key is None:
            return error_response(401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)
        send_email = query_flag(request, "send_email")
        if send_email is None:
            return error_response(422, "INVALID_SEND_EMAIL", "send_email must be true or false", "send_email")
        try:
            customer = await customer_of_business(
                business_id=api_key.business_id,
                livemode=api_key.livemode,
                customer_id=request.path_params["customer_id"],
            )
            link, _ = await create_magic_link(
                customer=customer,
                base_url=settings.base_url,
                link_seconds=settings.magic_link_seconds,
                portal_name=settings.portal_name,
                return_url=request.query_params.get("return_url", ""),
                send_email=send_email,
            )
        except PortalLinkError as error:
            status_code = 404 if error.code == PortalLinkErrorCode.CUSTOMER_NOT_FOUND else 422
            return error_response(status_code, error.code.value, error.message, error.field)
        return JSONResponse({"link": link})

    return [
        Route("/customers/{customer_id}/customer-portal/session", create_portal_session, methods=["POST"]),
        Route(GRAPHQL_PATH, MerchantGraphQL(settings)),
    ]

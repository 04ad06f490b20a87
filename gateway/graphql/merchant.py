"""`/merchant/graphql`: the merchant schema over HTTP, for the business and mode of the API key presented."""

from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gateway.graphql.http import SpecGraphQL, graphql_error_response
from gateway.http.request_auth import UNAUTHENTICATED_MESSAGE, presented_api_key
from gateway.http.request_ids import request_id_of
from gateway.payments import billing_of
from gateway.settings import Settings
from schema.merchant import schema as merchant_schema
from schema.merchant.context import MerchantContext

GRAPHQL_PATH = "/merchant/graphql"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="merchant-api"'}


class MerchantGraphQL(SpecGraphQL):
    """The merchant schema over HTTP; a request without a valid API key is refused before GraphQL sees it."""

    metrics_name = "merchant"

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
            secret_key=self.settings.secret_key,
            email_limits=self.settings.merchant_email_limits,
            webhooks_allow_private=self.settings.webhooks_allow_private,
            txt_lookup=request.app.state.txt_lookup,
        )


def routes(settings: Settings) -> list[BaseRoute]:
    return [Route(GRAPHQL_PATH, MerchantGraphQL(settings))]

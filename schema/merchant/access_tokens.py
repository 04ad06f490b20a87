"""Access tokens for merchants: a short-lived Bearer token for the customer GraphQL API, acting for one customer
in the business's portal, minted, listed (`customerAccessTokens`) and revoked with the API key
(access.access_tokens)."""

from datetime import datetime

import strawberry

from access.access_tokens import AccessTokenError, live_access_tokens, mint_access_token, revoke_access_token
from models import PortalSession
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError, user_error
from schema.customer.enums import Scope
from schema.merchant.context import MerchantContext


@strawberry.type(description="A Bearer token for the customer GraphQL API (/graphql), acting for one customer.")
class CustomerAccessToken:
    token_id: strawberry.ID = strawberry.field(description="Names the token to revoke it; never opens anything.")
    customer_id: strawberry.ID
    scope: Scope
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    api_key_prefix: str = strawberry.field(
        description="The first characters of the API key that minted it (sk_live_AbCd), never the key itself."
    )
    access_token: str | None = strawberry.field(
        description="The Bearer token itself, shown once: in createCustomerAccessToken's answer only."
    )


def _token_of(session: PortalSession, api_key_prefix: str, access_token: str | None = None) -> CustomerAccessToken:
    # A minted token always opens one customer's business portal (access.access_tokens.mint_access_token).
    assert session.customer_id is not None
    return CustomerAccessToken(
        token_id=strawberry.ID(session.id),
        customer_id=strawberry.ID(session.customer_id),
        scope=session.scope,
        created_at=session.created_at,
        expires_at=session.expires_at,
        revoked_at=session.revoked_at,
        api_key_prefix=api_key_prefix,
        access_token=access_token,
    )


@strawberry.input
class CreateCustomerAccessTokenInput:
    customer_id: strawberry.ID
    expires_in_seconds: int | None = strawberry.UNSET


@strawberry.input
class RevokeCustomerAccessTokenInput:
    token_id: strawberry.ID


@strawberry.type
class CustomerAccessTokenPayload:
    customer_access_token: CustomerAccessToken | None = strawberry.field(
        description="The token; null when errors is not empty."
    )
    errors: list[UserError]


@strawberry.type
class AccessTokenQuery:
    @strawberry.field(
        description="The business's minted tokens in the key's mode that still work (not expired, not revoked, "
        "their key not revoked), newest first; `customerId` narrows them to one customer."
    )
    async def customer_access_tokens(
        self,
        info: strawberry.Info[MerchantContext, None],
        customer_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CustomerAccessToken]:
        live = await live_access_tokens(api_key=info.context.api_key, customer_id=customer_id)

        def node(session: PortalSession) -> CustomerAccessToken:
            # live_access_tokens lists only sessions minted with one of the business's keys.
            assert session.minted_by_id is not None
            return _token_of(session, live.key_prefixes[session.minted_by_id])

        return await query_connection(live.sessions, node, first=first, after=after)


@strawberry.type
class AccessTokenMutations:
    @strawberry.mutation(
        description="A Bearer token for one customer's portal data, for 60 s to 24 h (1 h by default)."
    )
    async def create_customer_access_token(
        self, info: strawberry.Info[MerchantContext, None], input: CreateCustomerAccessTokenInput
    ) -> CustomerAccessTokenPayload:
        expires_in_seconds = input.expires_in_seconds
        try:
            minted = await mint_access_token(
                api_key=info.context.api_key,
                customer_id=input.customer_id,
                expires_in_seconds=None if expires_in_seconds is strawberry.UNSET else expires_in_seconds,
                default_seconds=info.context.access_token_seconds,
            )
        except AccessTokenError as error:
            return CustomerAccessTokenPayload(customer_access_token=None, errors=[user_error(error)])
        token = _token_of(minted.session, info.context.api_key.prefix, minted.access_token)
        return CustomerAccessTokenPayload(customer_access_token=token, errors=[])

    @strawberry.mutation(description="Revoke a minted customer token; it opens nothing afterwards.")
    async def revoke_customer_access_token(
        self, info: strawberry.Info[MerchantContext, None], input: RevokeCustomerAccessTokenInput
    ) -> CustomerAccessTokenPayload:
        try:
            session = await revoke_access_token(api_key=info.context.api_key, token_id=input.token_id)
        except AccessTokenError as error:
            return CustomerAccessTokenPayload(customer_access_token=None, errors=[user_error(error)])
        # revoke_access_token finds only minted sessions, their key loaded with them.
        assert session.minted_by is not None
        return CustomerAccessTokenPayload(customer_access_token=_token_of(session, session.minted_by.prefix), errors=[])

"""Access tokens for merchants: a short-lived Bearer token for the customer GraphQL API, acting for one customer
in the business's portal, minted and revoked with the API key (access.access_tokens)."""

from datetime import datetime

import strawberry
from strawberry.utils.str_converters import to_camel_case

from access.access_tokens import AccessTokenError, mint_access_token, revoke_access_token
from models import PortalSession
from schema.customer.enums import Scope
from schema.errors import UserError
from schema.merchant.context import MerchantContext


@strawberry.type(description="A Bearer token for the customer GraphQL API (/graphql), acting for one customer.")
class CustomerAccessToken:
    token_id: strawberry.ID = strawberry.field(description="Names the token to revoke it; never opens anything.")
    customer_id: strawberry.ID
    scope: Scope
    expires_at: datetime
    revoked_at: datetime | None
    access_token: str | None = strawberry.field(
        description="The Bearer token itself, shown once: in createCustomerAccessToken's answer only."
    )


def _token_of(session: PortalSession, access_token: str | None = None) -> CustomerAccessToken:
    return CustomerAccessToken(
        token_id=strawberry.ID(session.id),
        customer_id=strawberry.ID(session.customer_id),
        scope=session.scope,
        expires_at=session.expires_at,
        revoked_at=session.revoked_at,
        access_token=access_token,
    )


def _user_error(error: AccessTokenError) -> UserError:
    return UserError(code=error.code.value, field=to_camel_case(error.field), message=error.message)


@strawberry.type
class CustomerAccessTokenPayload:
    customer_access_token: CustomerAccessToken | None = strawberry.field(
        description="The token; null when errors is not empty."
    )
    errors: list[UserError]


@strawberry.type
class AccessTokenMutations:
    @strawberry.mutation(
        description="A Bearer token for one customer's portal data, for 60 s to 24 h (1 h by default)."
    )
    async def create_customer_access_token(
        self,
        info: strawberry.Info[MerchantContext, None],
        customer_id: strawberry.ID,
        expires_in_seconds: int | None = strawberry.UNSET,
    ) -> CustomerAccessTokenPayload:
        try:
            minted = await mint_access_token(
                api_key=info.context.api_key,
                customer_id=customer_id,
                expires_in_seconds=None if expires_in_seconds is strawberry.UNSET else expires_in_seconds,
                default_seconds=info.context.access_token_seconds,
            )
        except AccessTokenError as error:
            return CustomerAccessTokenPayload(customer_access_token=None, errors=[_user_error(error)])
        return CustomerAccessTokenPayload(
            customer_access_token=_token_of(minted.session, minted.access_token), errors=[]
        )

    @strawberry.mutation(description="Revoke a minted customer token; it opens nothing afterwards.")
    async def revoke_customer_access_token(
        self, info: strawberry.Info[MerchantContext, None], token_id: strawberry.ID
    ) -> CustomerAccessTokenPayload:
        try:
            session = await revoke_access_token(api_key=info.context.api_key, token_id=token_id)
        except AccessTokenError as error:
            return CustomerAccessTokenPayload(customer_access_token=None, errors=[_user_error(error)])
        return CustomerAccessTokenPayload(customer_access_token=_token_of(session), errors=[])

"""Custom domains for merchants: the business's hostnames (`Business.customDomains`), and adding or removing one,
thin over merchants.custom_domains (the rules, and what the operator must set up for a domain to work).

A domain serves the business in both modes, so any key lists them and only a live key changes them.
"""

from datetime import datetime

import strawberry
from strawberry.utils.str_converters import to_camel_case

from merchants.custom_domains import (
    CustomDomainError,
    add_custom_domain,
    custom_domains_of,
    remove_custom_domain,
)
from models import CustomDomain
from schema.connections import Connection, query_connection
from schema.errors import UserError
from schema.merchant.context import MerchantContext


@strawberry.type(name="CustomDomain", description="A hostname of the business's own that serves its branded portal.")
class CustomDomainNode:
    id: strawberry.ID
    hostname: str = strawberry.field(description="Lower case; an internationalised name in its xn-- form.")
    created_at: datetime = strawberry.field(description="When it was added; links use the oldest domain.")

    @classmethod
    def from_row(cls, row: CustomDomain) -> "CustomDomainNode":
        return cls(id=strawberry.ID(row.id), hostname=row.hostname, created_at=row.created_at)


@strawberry.type
class CustomDomainPayload:
    custom_domain: CustomDomainNode | None = strawberry.field(
        description="The domain added or removed; null when errors is not empty."
    )
    errors: list[UserError]


async def custom_domain_connection(
    context: MerchantContext, *, first: int | None, after: str | None
) -> Connection[CustomDomainNode]:
    """The key's business's domains, newest first."""
    return await query_connection(
        custom_domains_of(context.business_id), CustomDomainNode.from_row, first=first, after=after
    )


def _failed(error: CustomDomainError) -> CustomDomainPayload:
    field = to_camel_case(error.field) if error.field else None
    return CustomDomainPayload(
        custom_domain=None, errors=[UserError(code=error.code.value, field=field, message=error.message)]
    )


@strawberry.type
class CustomDomainMutations:
    @strawberry.mutation(description="Serve the business's portal on its own hostname; live keys only.")
    async def add_custom_domain(
        self, info: strawberry.Info[MerchantContext, None], hostname: str
    ) -> CustomDomainPayload:
        context = info.context
        try:
            domain = await add_custom_domain(
                context.api_key.business, hostname, platform_url=context.base_url, livemode=context.livemode
            )
        except CustomDomainError as error:
            return _failed(error)
        return CustomDomainPayload(custom_domain=CustomDomainNode.from_row(domain), errors=[])

    @strawberry.mutation(description="Stop serving the portal on a business hostname; live keys only.")
    async def remove_custom_domain(
        self, info: strawberry.Info[MerchantContext, None], hostname: str
    ) -> CustomDomainPayload:
        context = info.context
        try:
            domain = await remove_custom_domain(
                context.api_key.business, hostname, platform_url=context.base_url, livemode=context.livemode
            )
        except CustomDomainError as error:
            return _failed(error)
        return CustomDomainPayload(custom_domain=CustomDomainNode.from_row(domain), errors=[])

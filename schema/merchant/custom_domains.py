"""Custom domains for merchants: the business's claims (`Business.customDomains`), each with the TXT record that
proves it, and claiming, verifying or removing one, thin over merchants.custom_domains (the rules, and what the
operator must set up for a domain to work) and merchants.domain_verification (the check).

A domain serves the business in both modes, so any key lists them and only a live key changes them.
"""

from datetime import datetime

import strawberry

from merchants.custom_domains import (
    CustomDomainError,
    add_custom_domain,
    custom_domains_of,
    remove_custom_domain,
    txt_record_of,
)
from merchants.domain_verification import verify_custom_domain
from models import CustomDomain, enums
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError, user_error
from schema.merchant.context import MerchantContext

# The model's enum itself, registered: a plain alias, so the type checker reads it as a type.
CustomDomainStatus = enums.CustomDomainStatus
strawberry.enum(
    CustomDomainStatus,
    name="CustomDomainStatus",
    description="PENDING: not proven yet, serves nothing; VERIFIED: its TXT record was found, it serves the portal.",
)


@strawberry.type(description="A DNS TXT record to publish.")
class TxtRecord:
    name: str = strawberry.field(description="The record's full name, `_portal-challenge.` and the hostname.")
    value: str = strawberry.field(description="The record's value, exactly.")


@strawberry.type(
    name="CustomDomain",
    description="A hostname of the business's own; it serves the branded portal and appears in links once verified.",
)
class CustomDomainNode:
    id: strawberry.ID
    hostname: str = strawberry.field(description="Lower case; an internationalised name in its xn-- form.")
    status: CustomDomainStatus
    txt_record: TxtRecord = strawberry.field(description="Publish it, then call verifyCustomDomain (or wait).")
    created_at: datetime = strawberry.field(description="When it was claimed.")
    verified_at: datetime | None = strawberry.field(description="Links use the domain verified first.")
    last_checked_at: datetime | None = strawberry.field(description="When the TXT record was last looked for.")
    expires_at: datetime | None = strawberry.field(description="A pending claim not verified by then is dropped.")

    @classmethod
    def from_row(cls, row: CustomDomain) -> "CustomDomainNode":
        record = txt_record_of(row)
        return cls(
            id=strawberry.ID(row.id),
            hostname=row.hostname,
            status=row.status,
            txt_record=TxtRecord(name=record.name, value=record.value),
            created_at=row.created_at,
            verified_at=row.verified_at,
            last_checked_at=row.last_checked_at,
            expires_at=row.expires_at,
        )


@strawberry.input
class CustomDomainInput:
    hostname: str


@strawberry.type
class CustomDomainPayload:
    custom_domain: CustomDomainNode | None = strawberry.field(
        description="The domain claimed, verified or removed; null when errors is not empty."
    )
    errors: list[UserError]


async def custom_domain_connection(
    context: MerchantContext, *, first: int | None, after: str | None
) -> Connection[CustomDomainNode]:
    """The key's business's claims (expired ones gone), newest first."""
    return await query_connection(
        custom_domains_of(context.business_id), CustomDomainNode.from_row, first=first, after=after
    )


def _failed(error: CustomDomainError) -> CustomDomainPayload:
    return CustomDomainPayload(custom_domain=None, errors=[user_error(error)])


@strawberry.type
class CustomDomainMutations:
    @strawberry.mutation(description="Claim a hostname; it serves once its TXT record is verified. Live keys only.")
    async def add_custom_domain(
        self, info: strawberry.Info[MerchantContext, None], input: CustomDomainInput
    ) -> CustomDomainPayload:
        context = info.context
        try:
            domain = await add_custom_domain(
                context.api_key.business, input.hostname, platform_url=context.base_url, livemode=context.livemode
            )
        except CustomDomainError as error:
            return _failed(error)
        return CustomDomainPayload(custom_domain=CustomDomainNode.from_row(domain), errors=[])

    @strawberry.mutation(description="Stop serving the portal on a business hostname; live keys only.")
    async def remove_custom_domain(
        self, info: strawberry.Info[MerchantContext, None], input: CustomDomainInput
    ) -> CustomDomainPayload:
        context = info.context
        try:
            domain = await remove_custom_domain(
                context.api_key.business, input.hostname, platform_url=context.base_url, livemode=context.livemode
            )
        except CustomDomainError as error:
            return _failed(error)
        return CustomDomainPayload(custom_domain=CustomDomainNode.from_row(domain), errors=[])

    @strawberry.mutation(description="Look for a pending domain's TXT record now; live keys only.")
    async def verify_custom_domain(
        self, info: strawberry.Info[MerchantContext, None], input: CustomDomainInput
    ) -> CustomDomainPayload:
        context = info.context
        try:
            domain = await verify_custom_domain(
                context.api_key.business,
                input.hostname,
                platform_url=context.base_url,
                livemode=context.livemode,
                lookup=context.txt_lookup,
            )
        except CustomDomainError as error:
            return _failed(error)
        return CustomDomainPayload(custom_domain=CustomDomainNode.from_row(domain), errors=[])

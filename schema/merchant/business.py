"""The merchant schema's query root: the business and mode the API key acts for."""

import strawberry

from schema.connections import Connection
from schema.merchant.context import MerchantContext
from schema.merchant.custom_domains import CustomDomainNode, custom_domain_connection


@strawberry.type(name="Business", description="The business an API key belongs to.")
class MerchantBusiness:
    id: strawberry.ID
    name: str
    support_email: str

    @strawberry.field(description="Hostnames of the business's own that serve its portal.")
    async def custom_domains(
        self, info: strawberry.Info[MerchantContext, None], first: int | None = None, after: str | None = None
    ) -> Connection[CustomDomainNode]:
        return await custom_domain_connection(info.context, first=first, after=after)


@strawberry.type
class BusinessQuery:
    @strawberry.field(description="The business of the API key making the request.")
    def business(self, info: strawberry.Info[MerchantContext, None]) -> MerchantBusiness:
        business = info.context.api_key.business
        return MerchantBusiness(id=strawberry.ID(business.id), name=business.name, support_email=business.support_email)

    @strawberry.field(description="Whether the API key acts on live data (false: test data).")
    def livemode(self, info: strawberry.Info[MerchantContext, None]) -> bool:
        return info.context.livemode

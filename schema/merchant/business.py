"""The merchant schema's business: the one the API key belongs to, its profile, settings and branding, and the mode
the key acts in; `updateBusiness` is thin over merchants.businesses.update_business."""

from typing import Any

import strawberry

from merchants.businesses import BusinessChanges, update_business
from merchants.inputs import MerchantErrorCode, MerchantInputError, label
from models import Business as BusinessRow
from schema.common.connections import Connection
from schema.common.errors import UserError, user_error
from schema.merchant.context import MerchantContext
from schema.merchant.custom_domains import CustomDomainNode, custom_domain_connection
from schema.merchant.inputs import attempt, given

Info = strawberry.Info[MerchantContext, None]
UNSET = strawberry.UNSET


@strawberry.type(name="Business", description="The business an API key belongs to.")
class MerchantBusiness:
    id: strawberry.ID
    name: str
    support_email: str
    address_line1: str
    address_line2: str
    address_city: str
    address_state: str
    address_postal_code: str
    address_country: str = strawberry.field(description="ISO 3166 two-letter code; empty when not set.")
    logo_url: str
    icon_url: str
    primary_color: str
    accent_color: str
    headline: str
    website_url: str
    default_return_url: str
    allow_subscription_updates: bool = strawberry.field(description="Whether customers may change plan (default off).")
    allow_subscription_cancellation: bool = strawberry.field(description="Whether customers may cancel (default on).")
    invoice_prefix: str
    tax_rate_bp: int = strawberry.field(description="Tax on every price, in basis points (1025 is 10.25 %).")
    tax_id: str = strawberry.field(description="The business's tax ID (a VAT number in the EU), on its invoices.")
    cors_origins: list[str] = strawberry.field(
        description="Origins whose pages may call the customer GraphQL endpoint from a browser."
    )

    @classmethod
    def of(cls, row: BusinessRow) -> "MerchantBusiness":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            support_email=row.support_email,
            address_line1=row.address_line1,
            address_line2=row.address_line2,
            address_city=row.address_city,
            address_state=row.address_state,
            address_postal_code=row.address_postal_code,
            address_country=row.address_country,
            logo_url=row.logo_url,
            icon_url=row.icon_url,
            primary_color=row.primary_color,
            accent_color=row.accent_color,
            headline=row.headline,
            website_url=row.website_url,
            default_return_url=row.default_return_url,
            allow_subscription_updates=row.allow_subscription_updates,
            allow_subscription_cancellation=row.allow_subscription_cancellation,
            invoice_prefix=row.invoice_prefix,
            tax_rate_bp=row.tax_rate_bp,
            tax_id=row.tax_id,
            cors_origins=list(row.cors_origins),
        )

    @strawberry.field(description="Hostnames of the business's own that serve its portal.")
    async def custom_domains(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CustomDomainNode]:
        return await custom_domain_connection(info.context, first=first, after=after)


@strawberry.input(description="The fields to change; those left out keep their value. Null is refused.")
class BusinessInput:
    name: str | None = UNSET
    support_email: str | None = UNSET
    address_line1: str | None = UNSET
    address_line2: str | None = UNSET
    address_city: str | None = UNSET
    address_state: str | None = UNSET
    address_postal_code: str | None = UNSET
    address_country: str | None = strawberry.field(default=UNSET, description="ISO 3166 two-letter code.")
    logo_url: str | None = strawberry.field(default=UNSET, description="https://; empty to clear.")
    icon_url: str | None = strawberry.field(default=UNSET, description="https://; empty to clear.")
    primary_color: str | None = strawberry.field(default=UNSET, description="#rrggbb")
    accent_color: str | None = strawberry.field(default=UNSET, description="#rrggbb")
    headline: str | None = UNSET
    website_url: str | None = strawberry.field(default=UNSET, description="https://; empty to clear.")
    default_return_url: str | None = strawberry.field(default=UNSET, description="https://; empty to clear.")
    allow_subscription_updates: bool | None = UNSET
    allow_subscription_cancellation: bool | None = UNSET
    invoice_prefix: str | None = strawberry.field(default=UNSET, description="1 to 12 capital letters or digits.")
    tax_rate_bp: int | None = strawberry.field(default=UNSET, description="0 to 10000 basis points.")
    tax_id: str | None = strawberry.field(
        default=UNSET,
        description="At most 50 characters; checked for the business's country where the portal knows its numbers "
        "(EU VAT numbers, stored with their country prefix); empty to clear.",
    )
    cors_origins: list[str] | None = strawberry.field(
        default=UNSET,
        description="At most 20 origins such as https://app.example.com or https://app.example.com:8443 (no path; "
        "http:// only for localhost); replaces the list.",
    )


@strawberry.type
class BusinessPayload:
    business: MerchantBusiness | None = strawberry.field(description="Null when errors is not empty.")
    errors: list[UserError]


def _refusal(livemode: bool, values: dict[str, object]) -> UserError | None:
    """Why the request is refused before the domain sees it, if it is."""
    if not livemode:
        # The business is shared by both modes: what a test key changed would change the live portal too.
        message = "Business settings change with a live API key."
        return user_error(MerchantInputError(message, None, MerchantErrorCode.LIVE_KEY_REQUIRED))
    nulls = [field for field, value in values.items() if value is None]
    if nulls:
        # BusinessChanges reads None as "leave it as it is"; a null must not pass silently.
        message = f"{label(nulls[0])} must not be null"
        return user_error(MerchantInputError(message, nulls[0]))
    return None


@strawberry.type
class BusinessQuery:
    @strawberry.field(description="The business of the API key making the request.")
    def business(self, info: Info) -> MerchantBusiness:
        return MerchantBusiness.of(info.context.api_key.business)

    @strawberry.field(description="Whether the API key acts on live data (false: test data).")
    def livemode(self, info: Info) -> bool:
        return info.context.livemode


@strawberry.type
class BusinessMutations:
    @strawberry.mutation(description="Change the business's settings, branding or CORS origins (live key).")
    async def update_business(self, info: Info, input: BusinessInput) -> BusinessPayload:
        # BusinessInput's fields are BusinessChanges' own, of the same types.
        values: dict[str, Any] = given(input)
        refusal = _refusal(info.context.livemode, values)
        if refusal:
            return BusinessPayload(business=None, errors=[refusal])
        business = info.context.api_key.business
        row, errors = await attempt(update_business(business, BusinessChanges(**values)))
        return BusinessPayload(business=MerchantBusiness.of(row) if row else None, errors=errors)

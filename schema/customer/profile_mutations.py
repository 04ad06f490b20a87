"""Mutations on the customer's own profile: update name, phone, billing address, tax ID and language (one record,
the records of the businesses chosen or every record in scope), and ask to change the email address (confirmed by a
link sent to the new address). The rules are access.profile's and access.email_change's; this module turns the input
into their terms and their refusals into UserErrors."""

import strawberry

from access.email_change import request_email_change
from access.profile import records_to_update, update_profiles
from access.viewer import Viewer
from core.customer_fields import AddressChanges, ProfileChanges, ProfileError
from core.i18n import DEFAULT_LOCALE, supported_locale
from merchants.features import PortalFeatures
from schema.common.errors import UserError
from schema.customer.actions import features_for, not_found, user_errors
from schema.customer.customers import Customer


@strawberry.input(description="A billing address; only the parts given change, an empty string clears one.")
class AddressInput:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2, such as DE.")


@strawberry.input(description="Only the fields given change; an empty string clears one.")
class UpdateProfileInput:
    business_id: strawberry.ID | None = strawberry.field(
        default=None, description="The business whose record changes; in BUSINESS scope it may be left out."
    )
    business_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="The businesses whose records change: all of them or, if any refuses, none.",
    )
    apply_to_all_businesses: bool | None = strawberry.field(
        default=False, description="Change every record in scope instead: all of them or, if any refuses, none."
    )
    name: str | None = None
    phone_number: str | None = strawberry.field(
        default=None, description="Read in the billing country unless it starts with +; stored in E.164."
    )
    billing_address: AddressInput | None = None
    tax_id: str | None = strawberry.field(
        default=None, description="Checked for the billing country; EU VAT numbers are stored with their prefix."
    )
    locale: str | None = strawberry.field(
        default=None, description="The language the portal and its emails use: en, ja, sv or ar; empty for none."
    )


@strawberry.input
class RequestEmailChangeInput:
    new_email: str


@strawberry.type
class UpdateProfilePayload:
    customers: list[Customer]
    errors: list[UserError]


@strawberry.type
class RequestEmailChangePayload:
    errors: list[UserError]


def _locale(info: strawberry.Info) -> str:
    return supported_locale(info.context.locale) or DEFAULT_LOCALE


def _changes(input: UpdateProfileInput) -> ProfileChanges:
    address = input.billing_address
    return ProfileChanges(
        name=input.name,
        phone_number=input.phone_number,
        billing_address=AddressChanges(
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            state=address.state,
            postal_code=address.postal_code,
            country=address.country,
        )
        if address
        else None,
        tax_id=input.tax_id,
        locale=input.locale,
    )


async def _features(viewer: Viewer, business_ids: set[str]) -> dict[str, PortalFeatures]:
    return {business_id: await features_for(viewer, business_id) for business_id in sorted(business_ids)}


@strawberry.type
class ProfileMutations:
    @strawberry.mutation(
        description="Change name, phone, billing address, tax ID or language; future invoices use them."
    )
    async def update_profile(self, info: strawberry.Info, input: UpdateProfileInput) -> UpdateProfilePayload:
        viewer = info.context.signed_in_viewer()
        locale = _locale(info)
        business_id = str(input.business_id) if input.business_id is not None else None
        try:
            business_ids = None if input.business_ids is None else [str(id) for id in input.business_ids]
            records = records_to_update(viewer, business_id, bool(input.apply_to_all_businesses), locale, business_ids)
            if records is None:
                field = "businessId" if business_ids is None else "businessIds"
                return UpdateProfilePayload(customers=[], errors=[not_found(info, field)])
            features = await _features(viewer, {record.business_id for record in records})
            updated = await update_profiles(records, _changes(input), features, locale)
        except ProfileError as error:
            return UpdateProfilePayload(customers=[], errors=user_errors(info, error))
        return UpdateProfilePayload(customers=[Customer.from_row(row) for row in updated], errors=[])

    @strawberry.mutation(description="Send a new address a link; the email changes when it is confirmed.")
    async def request_email_change(
        self, info: strawberry.Info, input: RequestEmailChangeInput
    ) -> RequestEmailChangePayload:
        viewer = info.context.signed_in_viewer()
        portal = info.context.billing
        try:
            await request_email_change(
                viewer,
                input.new_email,
                features=await _features(viewer, {record.business_id for record in viewer.customers}),
                locale=_locale(info),
                base_url=portal.base_url,
                portal_name=portal.portal_name,
                secret_key=portal.secret_key,
            )
        except ProfileError as error:
            return RequestEmailChangePayload(errors=user_errors(info, error))
        return RequestEmailChangePayload(errors=[])

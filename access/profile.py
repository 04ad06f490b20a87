"""The customer's profile: what they may change (name, phone, billing address, tax ID, preferred language) and
updating one record, the records of the businesses chosen or every record in scope, all or nothing. How each value
is checked and normalised is core.customer_fields, which the merchant API shares, so the mutation, the profile page
and the API show the same words next to the same field.

The business's portal configuration (`customer_update`) decides which fields it lets the customer change; the
preferred language is the customer's own choice of how the portal and its emails speak to them, so it is always
theirs to change. Invoices keep the snapshot taken when they were issued: a change applies to future invoices only.

Uses merchants.features for the fields a business allows and their vocabulary (ProfileField).
"""

from collections.abc import Mapping, Sequence

from tortoise.transactions import in_transaction

from access.viewer import Viewer
from core.customer_fields import FieldError, ProfileChanges, ProfileError, ProfileErrorCode, checked_values_of
from core.i18n import translations
from merchants.features import PortalFeatures, ProfileField
from models import Customer
from models.enums import Scope

# The input field each one blames when a business does not allow it.
INPUT_FIELDS = {
    ProfileField.NAME: "name",
    ProfileField.EMAIL: "newEmail",
    ProfileField.PHONE_NUMBER: "phoneNumber",
    ProfileField.BILLING_ADDRESS: "billingAddress",
    ProfileField.TAX_ID: "taxId",
    ProfileField.LOCALE: "locale",
}


def asked_fields(changes: ProfileChanges) -> set[ProfileField]:
    """The fields a change asks to set."""
    given = {
        ProfileField.NAME: changes.name,
        ProfileField.PHONE_NUMBER: changes.phone_number,
        ProfileField.BILLING_ADDRESS: changes.billing_address,
        ProfileField.TAX_ID: changes.tax_id,
        ProfileField.LOCALE: changes.locale,
    }
    return {field for field, value in given.items() if value is not None}


def editable_fields(features: PortalFeatures) -> frozenset[ProfileField]:
    """What a business's portal configuration lets the customer change; the language is always theirs."""
    update = features.customer_update
    return frozenset((*(update.allowed_updates if update.enabled else ()), ProfileField.LOCALE))


def records_to_update(
    viewer: Viewer,
    business_id: str | None,
    apply_to_all: bool,
    locale: str,
    business_ids: Sequence[str] | None = None,
) -> tuple[Customer, ...] | None:
    """The records a profile change is for: every record in scope, the named businesses' (`business_id` and
    `business_ids` together), or (BUSINESS scope) the session's. None when any business named is not in scope, exists
    or not, so a change never reaches part of what was asked."""
    t = translations(locale)
    named = {*(business_ids or ()), *(() if business_id is None else (business_id,))}
    if apply_to_all and (business_id is not None or business_ids is not None):
        message = t.gettext("Choose one business or all of them, not both.")
        raise ProfileError([FieldError(ProfileErrorCode.INVALID_INPUT, "applyToAllBusinesses", message)])
    if business_ids is not None and not named:
        message = t.gettext("Choose at least one business.")
        raise ProfileError([FieldError(ProfileErrorCode.INVALID_INPUT, "businessIds", message)])
    if apply_to_all or (not named and viewer.scope == Scope.BUSINESS):
        return viewer.customers
    if not named:
        message = t.gettext("Choose a business, or apply the change to all your businesses.")
        raise ProfileError([FieldError(ProfileErrorCode.INVALID_INPUT, "businessId", message)])
    records = tuple(customer for customer in viewer.customers if customer.business_id in named)
    if {customer.business_id for customer in records} != named:
        return None
    return records


def refused_fields(
    customer: Customer, asked: set[ProfileField], features: PortalFeatures, locale: str
) -> list[FieldError]:
    """A NOT_ALLOWED error for each asked field the record's business does not let the customer change."""
    refused = sorted(asked - editable_fields(features), key=list(ProfileField).index)
    message = translations(locale).gettext("%(business)s does not let you change this here. Contact them instead.")
    return [
        FieldError(ProfileErrorCode.NOT_ALLOWED, INPUT_FIELDS[field], message % {"business": customer.business.name})
        for field in refused
    ]


async def update_profiles(
    customers: Sequence[Customer], changes: ProfileChanges, features: Mapping[str, PortalFeatures], locale: str
) -> tuple[Customer, ...]:
    """Apply the changes to every record, in one transaction; raises ProfileError, changing nothing, when any
    record's business refuses a field or any value is invalid for any record. `features` is by business id."""
    asked = asked_fields(changes)
    errors = [
        error
        for customer in customers
        for error in refused_fields(customer, asked, features[customer.business_id], locale)
    ]
    if errors:
        raise ProfileError(errors)
    planned = list(zip(customers, checked_values_of(customers, changes, locale), strict=True))
    async with in_transaction():
        for customer, values in planned:
            if values:
                for column, value in values.items():
                    setattr(customer, column, value)
                await customer.save(update_fields=list(values))
    return tuple(customer for customer, _ in planned)

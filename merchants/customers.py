"""A business's customer records as the merchant API manages them: create, update, get and list (by email), always
inside one business and one mode.

- Values are checked and normalised by the portal's own profile rules (core.customer_fields.checked_values: text limits,
  ISO country, phone in E.164, tax ID with python-stdnum), so a merchant cannot store what a customer could not.
- Creating a customer whose email the business already has in that mode answers that record unchanged
  (`created: false`), as Dodo Payments does; the check and the insert hold the business row's lock, so two
  concurrent creates of one email make one record.
- A merchant-created record is not verified: the portal trusts an email for a record only once its reader signs in
  with a link or code asked for in this business's portal (access.login_links, access.email_codes) or adds the
  business in their unified portal (access.business_additions), so the unified portal does not join this record
  until then. An email the merchant changes is unverified again, for the same reason; it may not be another
  customer's of the business and mode.
- `metadata` is the merchant's own flat object of text (core.inputs.metadata_problem).

Uses access.profile and core.inputs for the checks.
"""

from dataclasses import dataclass

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.customer_fields import (
    AddressChanges,
    FieldError,
    ProfileChanges,
    ProfileError,
    ProfileErrorCode,
    checked_values,
)
from core.inputs import email_problem, metadata_problem
from models import Business, Customer, normalize_email
from models.base import Columns
from models.ids import find_by_client_id

MERCHANT_LOCALE = "en"


@dataclass(frozen=True)
class CustomerFields:
    """What a merchant sets on a customer; None leaves a field as it is (an empty string clears it)."""

    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    billing_address: AddressChanges | None = None
    tax_id: str | None = None
    locale: str | None = None
    # Any JSON value the API was given: _checked refuses all but a flat object of text.
    metadata: object = None

    def profile_changes(self) -> ProfileChanges:
        return ProfileChanges(
            name=self.name,
            phone_number=self.phone_number,
            billing_address=self.billing_address,
            tax_id=self.tax_id,
            locale=self.locale,
        )


@dataclass(frozen=True)
class CustomerCreation:
    customer: Customer
    # False when the business already had a customer with this email: that one is answered, unchanged.
    created: bool = True


def refusal(field_name: str, message: str) -> ProfileError:
    return ProfileError([FieldError(ProfileErrorCode.INVALID_INPUT, field_name, message)])


def customers_of(business_id: str, livemode: bool, email: str | None = None) -> QuerySet[Customer]:
    """The business's customers in the mode, optionally only those with this email (compared normalised); a text
    that could not be an address (core.inputs) finds nobody without reaching the database's column limit."""
    query = Customer.filter(business_id=business_id, livemode=livemode)
    return query if email is None else with_email(query, email)


def with_email(query: QuerySet[Customer], email: str) -> QuerySet[Customer]:
    """The customers of `query` with this email (compared normalised)."""
    email = normalize_email(email)
    return query.filter(email=email) if not email_problem(email, "en") else query.filter(pk__in=[])


async def find_customer(business_id: str, livemode: bool, customer_id: object) -> Customer | None:
    """The business's customer with this id in the mode; None for any other id, existing elsewhere or not."""
    return await find_by_client_id(customers_of(business_id, livemode), customer_id)


def _checked(customer: Customer, fields: CustomerFields) -> Columns:
    """The columns to set, all checked before anything is written; raises ProfileError."""
    if fields.metadata is not None and (problem := metadata_problem(fields.metadata)):
        raise refusal("metadata", problem)
    values: Columns = dict(checked_values(customer, fields.profile_changes(), MERCHANT_LOCALE))
    if isinstance(fields.metadata, dict):
        values["metadata"] = dict(fields.metadata)
    return values


async def create_customer(business_id: str, livemode: bool, email: str, fields: CustomerFields) -> CustomerCreation:
    """A new customer record, or the business's existing one with this email (unchanged)."""
    email = normalize_email(email)
    if problem := email_problem(email, MERCHANT_LOCALE):
        raise refusal("email", problem)
    draft = Customer(business_id=business_id, livemode=livemode, email=email)
    values = _checked(draft, fields)
    async with in_transaction():
        await Business.filter(id=business_id).select_for_update().first()
        existing = await customers_of(business_id, livemode, email).order_by("created_at").first()
        if existing is not None:
            return CustomerCreation(existing, created=False)
        for column, value in values.items():
            setattr(draft, column, value)
        await draft.save()
    return CustomerCreation(draft)


def _new_email(customer: Customer, email: str | None) -> Columns:
    """The columns a change of email sets: the address, normalised, and unverified."""
    if email is None or normalize_email(email) == customer.email:
        return {}
    email = normalize_email(email)
    if problem := email_problem(email, MERCHANT_LOCALE):
        raise refusal("email", problem)
    return {"email": email, "email_verified": False}


async def update_customer(customer: Customer, fields: CustomerFields) -> Customer:
    """Change what `fields` names; raises ProfileError, changing nothing, when any value is refused."""
    values = {**_checked(customer, fields), **_new_email(customer, fields.email)}
    if not values:
        return customer
    async with in_transaction():
        if "email" in values:
            # The business row's lock, as in create_customer: one record per email, even against a concurrent create.
            await Business.filter(id=customer.business_id).select_for_update().first()
            if await customers_of(customer.business_id, customer.livemode, values["email"]).exists():
                raise refusal("email", "Another customer of the business has this email.")
        for column, value in values.items():
            setattr(customer, column, value)
        await customer.save(update_fields=list(values))
    return customer

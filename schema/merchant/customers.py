"""Customers in the merchant schema: get one, list them (optionally by email), create and update them. The rules are
merchants.customers'; an id outside the key's business and mode answers exactly like a missing one."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from core.customer_fields import AddressChanges, ProfileError
from merchants.customers import CustomerFields, create_customer, customers_of, find_customer, update_customer
from models import Customer as CustomerRow
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError, user_errors
from schema.merchant.context import MerchantContext
from schema.merchant.inputs import not_found

Info = strawberry.Info[MerchantContext, None]


@strawberry.type(name="BillingAddress")
class MerchantBillingAddress:
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code; empty when unknown.")


@strawberry.type(name="Customer", description="A customer record of the business in the key's mode.")
class MerchantCustomer:
    id: strawberry.ID
    email: str
    email_verified: bool = strawberry.field(
        description=(
            "True once the customer signed in with a link or code they asked for in this business's portal, or added"
            " the business to their unified portal (a magic link proves nothing: its merchant holds it too)."
        )
    )
    name: str
    phone_number: str = strawberry.field(description="E.164 (`+4930123456`); empty when unknown.")
    billing_address: MerchantBillingAddress
    tax_id: str
    locale: str
    metadata: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: CustomerRow) -> "MerchantCustomer":
        address = MerchantBillingAddress(
            line1=row.billing_line1,
            line2=row.billing_line2,
            city=row.billing_city,
            state=row.billing_state,
            postal_code=row.billing_postal_code,
            country=row.billing_country,
        )
        return cls(
            id=strawberry.ID(row.id),
            email=row.email,
            email_verified=row.email_verified,
            name=row.name,
            phone_number=row.phone_number,
            billing_address=address,
            tax_id=row.tax_id,
            locale=row.locale,
            metadata=JSON(row.metadata),
            created_at=row.created_at,
        )


@strawberry.input
class BillingAddressInput:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


@strawberry.input(description="What to set on a customer; an omitted field is left as it is, an empty one cleared.")
class CustomerInput:
    name: str | None = None
    phone_number: str | None = None
    billing_address: BillingAddressInput | None = None
    tax_id: str | None = None
    locale: str | None = None
    metadata: JSON | None = strawberry.field(default=None, description="Up to 50 string keys and string values.")

    def fields(self) -> CustomerFields:
        address = self.billing_address
        return CustomerFields(
            name=self.name,
            phone_number=self.phone_number,
            billing_address=AddressChanges(**vars(address)) if address is not None else None,
            tax_id=self.tax_id,
            locale=self.locale,
            metadata=self.metadata,
        )


@strawberry.input(description="A new customer; an email the business already has answers that customer.")
class CreateCustomerInput(CustomerInput):
    email: str


@strawberry.input
class UpdateCustomerInput(CustomerInput):
    customer_id: strawberry.ID


@strawberry.type
class CreateCustomerPayload:
    customer: MerchantCustomer | None
    created: bool = strawberry.field(description="False when the business already had this email: that customer.")
    errors: list[UserError]


@strawberry.type
class CustomerPayload:
    customer: MerchantCustomer | None
    errors: list[UserError]


@strawberry.type
class CustomerQuery:
    @strawberry.field(description="A customer of the business; null for any id outside the key's business and mode.")
    async def customer(self, info: Info, id: strawberry.ID) -> MerchantCustomer | None:
        row = await find_customer(info.context.business_id, info.context.livemode, id)
        return MerchantCustomer.from_row(row) if row else None

    @strawberry.field(description="The business's customers in the key's mode, newest first; `email` finds one.")
    async def customers(
        self, info: Info, first: int | None = None, after: str | None = None, email: str | None = None
    ) -> Connection[MerchantCustomer]:
        query = customers_of(info.context.business_id, info.context.livemode, email)
        return await query_connection(query, MerchantCustomer.from_row, first=first, after=after)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(description="Create a customer; an email the business already has answers that customer.")
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> CreateCustomerPayload:
        context = info.context
        try:
            creation = await create_customer(context.business_id, context.livemode, input.email, input.fields())
        except ProfileError as error:
            return CreateCustomerPayload(customer=None, created=False, errors=user_errors(error))
        customer = MerchantCustomer.from_row(creation.customer)
        return CreateCustomerPayload(customer=customer, created=creation.created, errors=[])

    @strawberry.mutation(description="Change a customer's name, phone, billing address, tax ID, locale or metadata.")
    async def update_customer(self, info: Info, input: UpdateCustomerInput) -> CustomerPayload:
        row = await find_customer(info.context.business_id, info.context.livemode, input.customer_id)
        if row is None:
            return CustomerPayload(customer=None, errors=[not_found("customer", field="customerId")])
        try:
            row = await update_customer(row, input.fields())
        except ProfileError as error:
            return CustomerPayload(customer=None, errors=user_errors(error))
        return CustomerPayload(customer=MerchantCustomer.from_row(row), errors=[])

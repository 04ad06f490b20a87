"""The customer record of the viewer in one business: profile and billing address."""

import strawberry

from models import Customer as CustomerRow
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness


@strawberry.type
class Address:
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")


@strawberry.type
class Customer(Node, OwnedByBusiness):
    name: str
    email: str
    email_verified: bool
    phone_number: str
    billing_address: Address
    tax_id: str
    locale: str

    @classmethod
    def from_row(cls, row: CustomerRow) -> "Customer":
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            name=row.name,
            email=row.email,
            email_verified=row.email_verified,
            phone_number=row.phone_number,
            billing_address=Address(
                line1=row.billing_line1,
                line2=row.billing_line2,
                city=row.billing_city,
                state=row.billing_state,
                postal_code=row.billing_postal_code,
                country=row.billing_country,
            ),
            tax_id=row.tax_id,
            locale=row.locale,
        )

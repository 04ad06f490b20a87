"""The customer record of the viewer in one business: profile and billing address, and what of it the business lets
the customer change."""

from datetime import datetime

import strawberry

from access import profile
from merchants import features
from models import Customer as CustomerRow
from schema.customer.actions import features_for
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


# The profile's own enum, registered as it is (see schema.customer.enums).
ProfileField = features.ProfileField
strawberry.enum(ProfileField, name="ProfileField", description="What a customer may change about themselves.")


@strawberry.type
class Customer(Node, OwnedByBusiness):
    name: str
    email: str
    email_verified: bool
    phone_number: str
    billing_address: Address
    tax_id: str
    locale: str
    updated_at: datetime = strawberry.field(description="When the record last changed (or was created).")

    @strawberry.field(description="What this business lets the customer change (EMAIL: through requestEmailChange).")
    async def editable_fields(self, info: strawberry.Info) -> list[ProfileField]:
        editable = profile.editable_fields(await features_for(info.context.signed_in_viewer(), self.business_id))
        return [field for field in features.ProfileField if field in editable]

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
            updated_at=row.updated_at or row.created_at,
        )

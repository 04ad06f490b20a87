"""What every customer-owned node shares: the business it belongs to, answered from the Viewer's businesses
without another query."""

from typing import TYPE_CHECKING, Annotated

import strawberry

if TYPE_CHECKING:
    from schema.customer.businesses import Business


@strawberry.type
class OwnedByBusiness:
    business_id: strawberry.Private[str]

    @strawberry.field
    def business(self, info: strawberry.Info) -> Annotated["Business", strawberry.lazy("schema.customer.businesses")]:
        # Imported here: the Business type nests every list whose nodes point back at it.
        from schema.customer.businesses import business_node

        return business_node(info, self.business_id)

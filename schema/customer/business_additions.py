"""`addBusiness`: the unified portal's customer confirms that a business's record of their email is theirs, and the
business joins their portal. The rules are access.business_additions'."""

import strawberry

from access.business_additions import add_business
from schema.common.errors import UserError
from schema.customer.actions import not_found
from schema.customer.businesses import Business, business_node


@strawberry.input
class AddBusinessInput:
    business_id: strawberry.ID = strawberry.field(description="One of viewer.businessesToAdd.")


@strawberry.type
class AddBusinessPayload:
    business: Business | None
    errors: list[UserError]


@strawberry.type
class BusinessAdditionMutations:
    @strawberry.mutation(
        description="UNIFIED scope: confirm that a business's record of this email is yours; it joins the portal."
    )
    async def add_business(self, info: strawberry.Info, input: AddBusinessInput) -> AddBusinessPayload:
        business_id = str(input.business_id)
        widened = await add_business(info.context.signed_in_viewer(), business_id)
        if widened is None:
            return AddBusinessPayload(business=None, errors=[not_found(info, "businessId")])
        info.context.widen(widened)
        return AddBusinessPayload(business=business_node(info, business_id), errors=[])

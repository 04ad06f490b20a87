"""Portal sessions for merchants: a one-time link that opens a customer's portal, optionally emailed to them."""

from datetime import datetime

import strawberry
from strawberry.utils.str_converters import to_camel_case

from access.login_links import PortalLinkError, create_magic_link, customer_of_business
from schema.errors import UserError
from schema.merchant.context import MerchantContext


@strawberry.type
class CreatePortalSessionPayload:
    link: str | None = strawberry.field(description="Opens the customer's portal once; null when errors is not empty.")
    expires_at: datetime | None = strawberry.field(description="When the unused link stops working.")
    errors: list[UserError]


@strawberry.type
class PortalSessionMutations:
    @strawberry.mutation(description="A one-time link into a customer's portal, valid 24 hours by default.")
    async def create_portal_session(
        self,
        info: strawberry.Info[MerchantContext, None],
        customer_id: strawberry.ID,
        send_email: bool | None = False,
        return_url: str | None = strawberry.UNSET,
        locale: str | None = strawberry.UNSET,
        configuration_id: strawberry.ID | None = strawberry.UNSET,
    ) -> CreatePortalSessionPayload:
        context = info.context
        try:
            customer = await customer_of_business(
                business_id=context.business_id, livemode=context.livemode, customer_id=customer_id
            )
            link, expires_at = await create_magic_link(
                customer=customer,
                base_url=context.base_url,
                link_seconds=context.magic_link_seconds,
                portal_name=context.portal_name,
                return_url=return_url or "",
                locale=locale or "",
                # An empty id names a configuration that does not exist, not the default one.
                configuration_id=configuration_id if isinstance(configuration_id, str) else None,
                send_email=bool(send_email),
            )
        except PortalLinkError as error:
            user_error = UserError(code=error.code.value, field=to_camel_case(error.field), message=error.message)
            return CreatePortalSessionPayload(link=None, expires_at=None, errors=[user_error])
        return CreatePortalSessionPayload(link=link, expires_at=expires_at, errors=[])

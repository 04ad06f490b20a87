"""Portal sessions for merchants: a one-time link that opens a customer's portal, optionally emailed to them, and
optionally on one task (a deep-link flow of access.deep_links: update the payment method, cancel, change plan or
confirm a plan change) with what follows it."""

from datetime import datetime

import strawberry

from access.deep_links import AfterCompletion, AfterCompletionType, Flow, FlowType, create_portal_link
from access.login_links import PortalLinkError, customer_of_business
from schema.common.errors import UserError, user_error
from schema.merchant.context import MerchantContext

# access.deep_links' enums themselves, registered: plain aliases, so the type checker reads them as types.
PortalFlowType = FlowType
PortalFlowAfterCompletionType = AfterCompletionType
strawberry.enum(PortalFlowType, name="PortalFlowType", description="The one task a portal link opens on.")
strawberry.enum(
    PortalFlowAfterCompletionType,
    name="PortalFlowAfterCompletionType",
    description="What the portal does once the flow's task is done.",
)


@strawberry.input(description="What the portal does once the flow's task is done.")
class PortalFlowAfterCompletionInput:
    type: PortalFlowAfterCompletionType = AfterCompletionType.PORTAL_HOMEPAGE
    return_url: str | None = strawberry.field(default=None, description="Where REDIRECT sends the customer.")
    custom_message: str | None = strawberry.field(
        default=None, description="HOSTED_CONFIRMATION's message, shown as plain text (at most 500 characters)."
    )


@strawberry.input(description="The one task a portal link opens on, with the portal's navigation hidden.")
class PortalFlowInput:
    type: PortalFlowType
    subscription_id: strawberry.ID | None = strawberry.field(
        default=None, description="The subscription the task is about (every type but PAYMENT_METHOD_UPDATE)."
    )
    product_id: strawberry.ID | None = strawberry.field(
        default=None, description="The plan SUBSCRIPTION_UPDATE_CONFIRM asks the customer to confirm."
    )
    quantity: int | None = strawberry.field(default=None, description="SUBSCRIPTION_UPDATE_CONFIRM's new quantity.")
    after_completion: PortalFlowAfterCompletionInput | None = None

    def to_flow(self) -> Flow:
        after = self.after_completion or PortalFlowAfterCompletionInput()
        return Flow(
            type=FlowType(self.type),
            subscription_id=self.subscription_id,
            product_id=self.product_id,
            quantity=self.quantity,
            after_completion=AfterCompletion(
                type=AfterCompletionType(after.type),
                return_url=after.return_url or "",
                custom_message=after.custom_message or "",
            ),
        )


@strawberry.input
class CreatePortalSessionInput:
    customer_id: strawberry.ID
    send_email: bool | None = strawberry.field(default=False, description="Also email the link to the customer.")
    return_url: str | None = strawberry.UNSET
    locale: str | None = strawberry.UNSET
    configuration_id: strawberry.ID | None = strawberry.UNSET
    flow: PortalFlowInput | None = strawberry.UNSET


@strawberry.type
class CreatePortalSessionPayload:
    link: str | None = strawberry.field(description="Opens the customer's portal once; null when errors is not empty.")
    expires_at: datetime | None = strawberry.field(description="When the unused link stops working.")
    errors: list[UserError]


@strawberry.type
class PortalSessionMutations:
    @strawberry.mutation(description="A one-time link into a customer's portal, valid 24 hours by default.")
    async def create_portal_session(
        self, info: strawberry.Info[MerchantContext, None], input: CreatePortalSessionInput
    ) -> CreatePortalSessionPayload:
        context = info.context
        configuration_id, flow = input.configuration_id, input.flow
        try:
            customer = await customer_of_business(
                business_id=context.business_id, livemode=context.livemode, customer_id=input.customer_id
            )
            link, expires_at = await create_portal_link(
                customer=customer,
                base_url=context.base_url,
                link_seconds=context.magic_link_seconds,
                portal_name=context.portal_name,
                secret_key=context.secret_key,
                return_url=input.return_url or "",
                locale=input.locale or "",
                # An empty id names a configuration that does not exist, not the default one.
                configuration_id=configuration_id if isinstance(configuration_id, str) else None,
                flow=flow.to_flow() if flow else None,
                send_email=bool(input.send_email),
                minted_by=context.api_key,
                email_limits=context.email_limits,
            )
        except PortalLinkError as error:
            return CreatePortalSessionPayload(link=None, expires_at=None, errors=[user_error(error)])
        return CreatePortalSessionPayload(link=link, expires_at=expires_at, errors=[])

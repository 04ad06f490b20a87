"""Deep-link flows (Stripe's `flow_data`, Paddle's deep links): a merchant's portal link that opens on one task
-- update the payment method, cancel a subscription, change its plan, or confirm one given plan change -- and says
what happens once the task is done: back to the merchant's site (`redirect`), a confirmation page with the
business's message (`hosted_confirmation`), or the portal home (`portal_homepage`, the default).

A flow is checked when the link is created, against the customer's own subscriptions (business and mode) and the
portal configuration the link names: the subscription must be in a state where the task makes sense (an ended
subscription cannot be cancelled again) and a confirmed plan must be one the subscription may change to
(billing.plan_changes.plan_options). It is stored as JSON on the link (LoginToken.flow) and carried over to the
session the link opens (PortalSession.flow), where `complete_flow` records that the task is done.

Uses access.login_links (the link itself, its errors and its return-URL check), billing.cancellation and
billing.plan_changes (what a subscription allows now) and merchants.portal_configurations (what the link's
configuration allows).
"""

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from access.login_links import PortalLinkError, PortalLinkErrorCode, checked_return_url, create_magic_link
from access.rate_limits import MerchantEmailLimits
from billing.cancellation import cancellation_options
from billing.plan_changes import Direction, plan_options
from core.inputs import TextLimit
from merchants.features import PortalFeatures
from merchants.portal_configurations import portal_features
from models import ApiKey, Business, Customer, PortalSession, Subscription
from models.ids import find_by_client_id

CUSTOM_MESSAGE = TextLimit(500)


class FlowType(StrEnum):
    PAYMENT_METHOD_UPDATE = "payment_method_update"
    SUBSCRIPTION_CANCEL = "subscription_cancel"
    SUBSCRIPTION_UPDATE = "subscription_update"
    SUBSCRIPTION_UPDATE_CONFIRM = "subscription_update_confirm"


class AfterCompletionType(StrEnum):
    PORTAL_HOMEPAGE = "portal_homepage"
    REDIRECT = "redirect"
    HOSTED_CONFIRMATION = "hosted_confirmation"


SUBSCRIPTION_FLOWS = (FlowType.SUBSCRIPTION_CANCEL, FlowType.SUBSCRIPTION_UPDATE, FlowType.SUBSCRIPTION_UPDATE_CONFIRM)
PLAN_CHANGE_FLOWS = (FlowType.SUBSCRIPTION_UPDATE, FlowType.SUBSCRIPTION_UPDATE_CONFIRM)


@dataclass(frozen=True)
class AfterCompletion:
    type: AfterCompletionType = AfterCompletionType.PORTAL_HOMEPAGE
    # Where `redirect` sends the customer.
    return_url: str = ""
    # What `hosted_confirmation` shows, as plain text.
    custom_message: str = ""


@dataclass(frozen=True)
class Flow:
    type: FlowType
    subscription_id: str | None = None
    product_id: str | None = None
    quantity: int | None = None
    after_completion: AfterCompletion = field(default_factory=AfterCompletion)
    # Empty while the task is open; once done, what was done (say `cancelled`), for the confirmation page.
    completed: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Flow":
        after = data.get("after_completion") or {}
        return cls(
            type=FlowType(data["type"]),
            subscription_id=data.get("subscription_id"),
            product_id=data.get("product_id"),
            quantity=data.get("quantity"),
            after_completion=AfterCompletion(
                type=AfterCompletionType(after.get("type", AfterCompletionType.PORTAL_HOMEPAGE)),
                return_url=after.get("return_url", ""),
                custom_message=after.get("custom_message", ""),
            ),
            completed=data.get("completed", ""),
        )


def _invalid(code: PortalLinkErrorCode, field_path: str, message: str) -> PortalLinkError:
    return PortalLinkError(code, f"flow.{field_path}", message)


def _field(present: bool, *, taken: bool, required: bool, field_path: str, what: str) -> None:
    """Refuse a field the flow's type does not take, or lacks when it requires it."""
    if present and not taken:
        raise _invalid(PortalLinkErrorCode.INVALID_FLOW, field_path, f"{field_path} is not taken by {what}")
    if required and not present:
        raise _invalid(PortalLinkErrorCode.INVALID_FLOW, field_path, f"{field_path} is required for {what}")


def _check_shape(flow: Flow) -> None:
    on_subscription, confirm = flow.type in SUBSCRIPTION_FLOWS, flow.type == FlowType.SUBSCRIPTION_UPDATE_CONFIRM
    _field(
        flow.subscription_id is not None,
        taken=on_subscription,
        required=on_subscription,
        field_path="subscription_id",
        what=flow.type,
    )
    _field(flow.product_id is not None, taken=confirm, required=confirm, field_path="product_id", what=flow.type)
    _field(flow.quantity is not None, taken=confirm, required=False, field_path="quantity", what=flow.type)
    after = flow.after_completion
    redirect = after.type == AfterCompletionType.REDIRECT
    _field(
        bool(after.return_url),
        taken=redirect,
        required=redirect,
        field_path="after_completion.return_url",
        what=after.type,
    )
    _field(
        bool(after.custom_message),
        taken=after.type == AfterCompletionType.HOSTED_CONFIRMATION,
        required=False,
        field_path="after_completion.custom_message",
        what=after.type,
    )


def _check_after_completion(after: AfterCompletion) -> None:
    try:
        checked_return_url(after.return_url)
    except PortalLinkError as error:
        raise _invalid(error.code, "after_completion.return_url", error.message) from None
    if not CUSTOM_MESSAGE.allows(after.custom_message):
        message = f"custom_message: {CUSTOM_MESSAGE.message()}"
        raise _invalid(PortalLinkErrorCode.INVALID_CUSTOM_MESSAGE, "after_completion.custom_message", message)


async def _subscription(customer: Customer, subscription_id: str | None) -> Subscription:
    """The customer's own subscription; any other id, existing or not, is simply not found."""
    own = Subscription.filter(customer_id=customer.id, business_id=customer.business_id, livemode=customer.livemode)
    subscription = await find_by_client_id(own, subscription_id)
    if subscription is None:
        raise _invalid(PortalLinkErrorCode.SUBSCRIPTION_NOT_FOUND, "subscription_id", "No such subscription")
    return subscription


async def _check_cancel(subscription: Subscription, business: Business, features: PortalFeatures) -> None:
    if not (await cancellation_options(subscription, business, features)).allowed:
        message = (
            "This subscription cannot be cancelled in the portal: it has ended or is set to cancel already, "
            "or the business or the portal configuration does not allow cancelling"
        )
        raise _invalid(PortalLinkErrorCode.FLOW_NOT_AVAILABLE, "subscription_id", message)


async def _check_plan_change(
    flow: Flow, subscription: Subscription, business: Business, features: PortalFeatures
) -> None:
    options = await plan_options(subscription, business, features)
    if not options:
        message = (
            "This subscription's plan cannot be changed in the portal: it is not active, "
            "or the business or the portal configuration does not allow plan changes"
        )
        raise _invalid(PortalLinkErrorCode.FLOW_NOT_AVAILABLE, "subscription_id", message)
    if flow.type != FlowType.SUBSCRIPTION_UPDATE_CONFIRM:
        return
    if flow.quantity is not None:
        limits = features.subscription_update.quantity
        if not limits.allows(flow.quantity):
            message = f"quantity must be from {limits.minimum} to {limits.maximum}"
            raise _invalid(PortalLinkErrorCode.INVALID_QUANTITY, "quantity", message)
    option = next((option for option in options if option.product.id == flow.product_id), None)
    if option is None:
        message = "product_id is not a plan this subscription may change to"
        raise _invalid(PortalLinkErrorCode.PRODUCT_NOT_AVAILABLE, "product_id", message)
    if option.direction == Direction.CURRENT and flow.quantity in (None, subscription.quantity):
        message = "product_id and quantity are the subscription's plan already: there is nothing to confirm"
        raise _invalid(PortalLinkErrorCode.PRODUCT_NOT_AVAILABLE, "product_id", message)


async def check_flow(flow: Flow, *, customer: Customer, configuration_id: str | None) -> None:
    """Raise PortalLinkError, naming `flow.…`, unless the flow's task makes sense for this customer now."""
    _check_shape(flow)
    _check_after_completion(flow.after_completion)
    business = await Business.get(id=customer.business_id)
    features = await portal_features(customer.business_id, customer.livemode, configuration_id)
    if flow.type == FlowType.PAYMENT_METHOD_UPDATE:
        if not features.payment_method_update.enabled:
            message = "The portal configuration does not allow updating payment methods"
            raise _invalid(PortalLinkErrorCode.FLOW_NOT_AVAILABLE, "type", message)
        return
    subscription = await _subscription(customer, flow.subscription_id)
    if flow.type == FlowType.SUBSCRIPTION_CANCEL:
        await _check_cancel(subscription, business, features)
    else:
        await _check_plan_change(flow, subscription, business, features)


async def create_portal_link(
    *,
    customer: Customer,
    base_url: str,
    link_seconds: int,
    portal_name: str,
    secret_key: str,
    return_url: str = "",
    locale: str = "",
    configuration_id: str | None = None,
    flow: Flow | None = None,
    send_email: bool = False,
    minted_by: ApiKey | None = None,
    email_limits: MerchantEmailLimits | None = None,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A merchant's one-time portal link (made with the `minted_by` key), opening on the flow's task when there is
    one; raises PortalLinkError and then writes nothing."""
    if flow is not None:
        await check_flow(flow, customer=customer, configuration_id=configuration_id)
    return await create_magic_link(
        customer=customer,
        base_url=base_url,
        link_seconds=link_seconds,
        portal_name=portal_name,
        secret_key=secret_key,
        return_url=return_url,
        locale=locale,
        configuration_id=configuration_id,
        flow=flow.to_json() if flow else None,
        send_email=send_email,
        minted_by=minted_by,
        email_limits=email_limits,
        now=now,
    )


def flow_of(session: PortalSession) -> Flow | None:
    """The deep-link flow a session follows, if any."""
    return Flow.from_json(session.flow) if session.flow else None


async def complete_flow(session: PortalSession, outcome: str) -> Flow | None:
    """Record that the session's task is done (`outcome` says how, say `cancelled`). A `portal_homepage` flow ends
    there and the session becomes an ordinary one; the others stay done, so the link cannot be used again for
    another task. The flow as it was, or None when the session had none."""
    flow = flow_of(session)
    if flow is None:
        return None
    done = flow.after_completion.type == AfterCompletionType.PORTAL_HOMEPAGE
    session.flow = None if done else replace(flow, completed=outcome).to_json()
    await session.save(update_fields=["flow"])
    return flow

"""The root of the customer schema: `viewer` (who is signed in and everything they may see) and `node`."""

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from access.business_additions import businesses_to_add
from billing.attention import needing_action
from billing.history import BillingHistoryStatus
from schema.common.connections import Connection
from schema.customer.billing_history import BillingHistoryConnection, billing_history_connection
from schema.customer.businesses import Business
from schema.customer.connections import load_connection
from schema.customer.customers import Customer
from schema.customer.enums import InvoiceStatus, LicenseKeyStatus, PaymentStatus, Scope, SubscriptionStatus
from schema.customer.invoices import CreditNote, Invoice
from schema.customer.license_keys import LicenseKey
from schema.customer.loaders import ListKind
from schema.customer.lookahead import selection_of
from schema.customer.node import Node
from schema.customer.payment_methods import PaymentMethod, saved_payment_methods
from schema.customer.purchases import Purchase
from schema.customer.subscriptions import Subscription


@strawberry.type(description="The signed-in customer: one business's record (BUSINESS) or every record of an email.")
class Viewer:
    email: str
    scope: Scope
    livemode: bool

    @strawberry.field(
        description='Where a "Return to {business}" button leads (BUSINESS scope); null when there is none.'
    )
    def return_url(self, info: strawberry.Info) -> str | None:
        return info.context.signed_in_viewer().return_url or None

    @strawberry.field(description="Businesses in scope, by name.")
    def businesses(self, info: strawberry.Info) -> list[Business]:
        return [Business.from_row(row) for row in info.context.signed_in_viewer().businesses]

    @strawberry.field(
        description="UNIFIED scope: businesses with a record of this email not yet added (addBusiness); else empty."
    )
    async def businesses_to_add(self, info: strawberry.Info) -> list[Business]:
        return [Business.from_row(row) for row in await businesses_to_add(info.context.signed_in_viewer())]

    @strawberry.field(description="The customer record in BUSINESS scope; null in UNIFIED scope (see Business).")
    def customer(self, info: strawberry.Info) -> Customer | None:
        row = info.context.signed_in_viewer().customer()
        return Customer.from_row(row) if row else None

    @strawberry.field
    async def subscriptions(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        business_id: strawberry.ID | None = None,
        status: list[SubscriptionStatus] | None = None,
    ) -> Connection[Subscription]:
        return await load_connection(
            info,
            ListKind.SUBSCRIPTIONS,
            Subscription.build,
            first=first,
            after=after,
            business_id=business_id,
            statuses=status,
        )

    @strawberry.field(
        description="What needs the customer first, at most 20: ON_HOLD subscriptions (their dues are owed), then "
        "FAILED ones whose first payment was declined (nothing is owed) that no live subscription to the product "
        "replaced."
    )
    async def subscriptions_needing_action(
        self, info: strawberry.Info, business_id: strawberry.ID | None = None
    ) -> list[Subscription]:
        viewer = info.context.signed_in_viewer()
        rows = await needing_action(viewer.subscriptions(None if business_id is None else [str(business_id)]))
        return await Subscription.build(info.context, rows, selection_of(info))

    @strawberry.field(description="Payments for one-time products.")
    async def purchases(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        business_id: strawberry.ID | None = None,
        status: list[PaymentStatus] | None = None,
    ) -> Connection[Purchase]:
        return await load_connection(
            info,
            ListKind.PURCHASES,
            Purchase.build,
            first=first,
            after=after,
            business_id=business_id,
            statuses=status,
        )

    @strawberry.field
    async def invoices(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        business_id: strawberry.ID | None = None,
        status: list[InvoiceStatus] | None = None,
    ) -> Connection[Invoice]:
        return await load_connection(
            info,
            ListKind.INVOICES,
            Invoice.build,
            first=first,
            after=after,
            business_id=business_id,
            statuses=status,
        )

    @strawberry.field(
        description="Invoices, failed payments and amounts owed now, newest first; page forward with `first`/`after` "
        "or back with `last`/`before`."
    )
    async def billing_history(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        business_id: strawberry.ID | None = None,
        status: list[BillingHistoryStatus] | None = None,
    ) -> BillingHistoryConnection:
        return await billing_history_connection(
            info,
            first=first,
            after=after,
            last=last,
            before=before,
            business_id=None if business_id is None else str(business_id),
            statuses=status,
        )

    @strawberry.field
    async def license_keys(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        business_id: strawberry.ID | None = None,
        status: list[LicenseKeyStatus] | None = None,
    ) -> Connection[LicenseKey]:
        return await load_connection(
            info,
            ListKind.LICENSE_KEYS,
            LicenseKey.build,
            first=first,
            after=after,
            business_id=business_id,
            statuses=status,
        )

    @strawberry.field
    async def payment_methods(
        self, info: strawberry.Info, business_id: strawberry.ID | None = None
    ) -> list[PaymentMethod]:
        return await saved_payment_methods(info, business_id)


# An id's prefix: how the viewer finds its row, and the node type that builds from it (each from rows of its own).
_NODE_TYPES: dict[str, tuple[Callable[[Any], Callable[[str], Awaitable[Any]]], Any]] = {
    "sub": (lambda viewer: viewer.get_subscription, Subscription),
    "inv": (lambda viewer: viewer.get_invoice, Invoice),
    "ref": (lambda viewer: viewer.get_refund, CreditNote),
    "pay": (lambda viewer: viewer.get_purchase, Purchase),
    "lic": (lambda viewer: viewer.get_license_key, LicenseKey),
    "pm": (lambda viewer: viewer.get_payment_method, PaymentMethod),
}


@strawberry.type
class Query:
    @strawberry.field(description="Who is signed in. Errors with code UNAUTHENTICATED without a valid session.")
    def viewer(self, info: strawberry.Info) -> Viewer | None:
        viewer = info.context.signed_in_viewer()
        return Viewer(email=viewer.email, scope=viewer.scope, livemode=viewer.livemode)

    @strawberry.field(description="Any object in the viewer's scope by id; null when there is none.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        viewer = info.context.signed_in_viewer()
        prefix = str(id).partition("_")[0]
        if prefix == "bus":
            row = viewer.business(str(id))
            return Business.from_row(row) if row else None
        if prefix == "cus":
            row = next((customer for customer in viewer.customers if customer.id == id), None)
            return Customer.from_row(row) if row else None
        if prefix not in _NODE_TYPES:
            return None
        getter, node_type = _NODE_TYPES[prefix]
        row = await getter(viewer)(str(id))
        return (await node_type.build(info.context, [row], selection_of(info, node_type)))[0] if row else None

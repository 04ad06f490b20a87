"""Businesses as the customer sees them: name, branding, and the customer's lists in that business.

Nested lists are how the unified portal groups by business; each kind costs one statement for all businesses.
"""

import strawberry

from billing.credits import credit_balances
from models import Business as BusinessRow
from schema.common.connections import Connection
from schema.customer.connections import load_connection
from schema.customer.customers import Customer
from schema.customer.enums import InvoiceStatus, LicenseKeyStatus, PaymentStatus, SubscriptionStatus
from schema.customer.invoices import Invoice
from schema.customer.license_keys import LicenseKey
from schema.customer.loaders import ListKind
from schema.customer.money import Money
from schema.customer.node import Node
from schema.customer.payment_methods import PaymentMethod, saved_payment_methods
from schema.customer.purchases import Purchase
from schema.customer.subscriptions import Subscription


@strawberry.type
class Branding:
    logo_url: str
    icon_url: str
    primary_color: str
    accent_color: str
    headline: str


@strawberry.type
class Business(Node):
    name: str
    support_email: str
    website_url: str
    branding: Branding
    allow_subscription_updates: bool
    allow_subscription_cancellation: bool

    @strawberry.field(description="The viewer's customer record in this business.")
    def customer(self, info: strawberry.Info) -> Customer | None:
        row = info.context.signed_in_viewer().customer(str(self.id))
        return Customer.from_row(row) if row else None

    @strawberry.field
    async def subscriptions(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        status: list[SubscriptionStatus] | None = None,
    ) -> Connection[Subscription]:
        return await load_connection(
            info, ListKind.SUBSCRIPTIONS, Subscription.build, **self._page(first, after), statuses=status
        )

    @strawberry.field
    async def invoices(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        status: list[InvoiceStatus] | None = None,
    ) -> Connection[Invoice]:
        return await load_connection(
            info, ListKind.INVOICES, Invoice.build, **self._page(first, after), statuses=status
        )

    @strawberry.field(description="Payments for one-time products.")
    async def purchases(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        status: list[PaymentStatus] | None = None,
    ) -> Connection[Purchase]:
        return await load_connection(
            info, ListKind.PURCHASES, Purchase.build, **self._page(first, after), statuses=status
        )

    @strawberry.field
    async def license_keys(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        status: list[LicenseKeyStatus] | None = None,
    ) -> Connection[LicenseKey]:
        return await load_connection(
            info, ListKind.LICENSE_KEYS, LicenseKey.build, **self._page(first, after), statuses=status
        )

    @strawberry.field(description="What this business owes the viewer (downgrades), used first by the next charges.")
    async def credit_balance(self, info: strawberry.Info) -> list[Money]:
        customer = info.context.signed_in_viewer().customer(str(self.id))
        balances = await credit_balances(customer.id) if customer else {}
        locale = info.context.locale
        return [Money.of(amount, currency, locale) for currency, amount in sorted(balances.items())]

    @strawberry.field
    async def payment_methods(self, info: strawberry.Info) -> list[PaymentMethod]:
        return await saved_payment_methods(info, str(self.id))

    def _page(self, first: int | None, after: str | None) -> dict:
        return {"first": first, "after": after, "business_id": str(self.id), "per_business": True}

    @classmethod
    def from_row(cls, row: BusinessRow) -> "Business":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            support_email=row.support_email,
            website_url=row.website_url,
            branding=Branding(
                logo_url=row.logo_url,
                icon_url=row.icon_url,
                primary_color=row.primary_color,
                accent_color=row.accent_color,
                headline=row.headline,
            ),
            allow_subscription_updates=row.allow_subscription_updates,
            allow_subscription_cancellation=row.allow_subscription_cancellation,
        )


def business_node(info: strawberry.Info, business_id: str) -> Business:
    """A business the viewer is a customer of; rows in scope always belong to one."""
    row = info.context.signed_in_viewer().business(business_id)
    assert row is not None, "a row in the viewer's scope belongs to a business in scope"
    return Business.from_row(row)

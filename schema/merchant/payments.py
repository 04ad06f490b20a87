"""Payments for merchants, with Dodo's field names: look one up, list them filtered by customer, subscription and
status, each with its invoice number and refunds. The one Payment type of the merchant schema: the subscription
mutations that charge answer it too."""

from datetime import datetime

import strawberry

from models import Customer, Payment, Subscription
from models.ids import find_by_client_id, matching_id
from schema.common.connections import Connection, query_connection
from schema.customer.enums import PaymentStatus
from schema.merchant.context import MerchantContext
from schema.merchant.loaders import child_connection
from schema.merchant.refunds import MerchantRefund
from schema.merchant.scoping import scoped


@strawberry.type(name="Payment", description="One charge attempt of a customer.")
class MerchantPayment:
    id: strawberry.ID
    customer_id: strawberry.ID
    subscription_id: strawberry.ID | None
    payment_method_id: strawberry.ID | None
    total_amount: int = strawberry.field(description="What was charged, tax included, in the currency's minor unit.")
    tax: int
    currency: str
    status: PaymentStatus
    card_last_four: str | None
    card_network: str | None
    error_code: str | None = strawberry.field(description="Why a failed payment failed (a decline code).")
    error_message: str | None
    next_action_url: str | None = strawberry.field(
        description="Where the customer confirms a REQUIRES_CUSTOMER_ACTION payment with their bank."
    )
    created_at: datetime

    @classmethod
    def from_row(cls, row: Payment) -> "MerchantPayment":
        return cls(
            id=strawberry.ID(row.id),
            customer_id=strawberry.ID(row.customer_id),
            subscription_id=strawberry.ID(row.subscription_id) if row.subscription_id else None,
            payment_method_id=strawberry.ID(row.payment_method_id) if row.payment_method_id else None,
            total_amount=row.total_amount,
            tax=row.tax,
            currency=row.currency,
            status=row.status,
            card_last_four=row.card_last_four or None,
            card_network=row.card_network or None,
            error_code=row.error_code,
            error_message=row.error_message,
            next_action_url=row.next_action_url or None,
            created_at=row.created_at,
        )

    @strawberry.field(description="The number of the invoice a succeeded payment was given.")
    async def invoice_number(self, info: strawberry.Info[MerchantContext, None]) -> str | None:
        return await info.context.loaders.invoice_numbers.load(self.id)

    @strawberry.field(description="The payment's refunds, newest first.")
    async def refunds(
        self, info: strawberry.Info[MerchantContext, None], first: int | None = None, after: str | None = None
    ) -> Connection[MerchantRefund]:
        loader = info.context.loaders.payment_refunds
        return await child_connection(loader, self.id, MerchantRefund.from_row, first=first, after=after)


@strawberry.type
class PaymentQuery:
    @strawberry.field(description="A payment of the API key's business and mode; null for any other id.")
    async def payment(self, info: strawberry.Info[MerchantContext, None], id: strawberry.ID) -> MerchantPayment | None:
        row = await find_by_client_id(scoped(Payment, info.context), id)
        return MerchantPayment.from_row(row) if row else None

    @strawberry.field(description="Payments, newest first, optionally of one customer, subscription or status.")
    async def payments(
        self,
        info: strawberry.Info[MerchantContext, None],
        first: int | None = None,
        after: str | None = None,
        customer_id: strawberry.ID | None = None,
        subscription_id: strawberry.ID | None = None,
        status: PaymentStatus | None = None,
    ) -> Connection[MerchantPayment]:
        query = matching_id(scoped(Payment, info.context), "customer_id", customer_id, Customer)
        query = matching_id(query, "subscription_id", subscription_id, Subscription)
        if status is not None:
            query = query.filter(status=status)
        return await query_connection(query, MerchantPayment.from_row, first=first, after=after)

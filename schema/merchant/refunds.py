"""Refunds for merchants: look one up, list them (by payment), and refund a payment in full or in part through
billing.refunds, once per idempotency key."""

from datetime import datetime

import strawberry

from billing.errors import BillingError
from billing.refunds import refund_payment
from models import Payment, Refund
from models import enums as model_enums
from models.ids import find_by_client_id, matching_id
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError, user_error
from schema.merchant.context import MerchantContext
from schema.merchant.inputs import not_found
from schema.merchant.scoping import scoped

# The model's enum itself, registered: a plain alias, so the type checker reads it as a type.
RefundStatus = model_enums.RefundStatus
strawberry.enum(RefundStatus, name="RefundStatus")


@strawberry.type(name="Refund", description="Money given back on a payment; a succeeded one has a credit note.")
class MerchantRefund:
    id: strawberry.ID
    payment_id: strawberry.ID
    customer_id: strawberry.ID
    amount: int = strawberry.field(description="In the currency's minor unit.")
    currency: str
    status: RefundStatus
    reason: str | None
    credit_note_number: str | None = strawberry.field(description="Set once the refund has succeeded.")
    created_at: datetime
    issued_at: datetime | None = strawberry.field(description="When the refund succeeded and its credit note issued.")

    @classmethod
    def from_row(cls, row: Refund) -> "MerchantRefund":
        return cls(
            id=strawberry.ID(row.id),
            payment_id=strawberry.ID(row.payment_id),
            customer_id=strawberry.ID(row.customer_id),
            amount=row.amount,
            currency=row.currency,
            status=row.status,
            reason=row.reason or None,
            credit_note_number=row.credit_note_number,
            created_at=row.created_at,
            issued_at=row.issued_at,
        )


@strawberry.input(description="A refund of a succeeded payment: in full without an amount, else in part.")
class CreateRefundInput:
    payment_id: strawberry.ID
    idempotency_key: str = strawberry.field(description="Unique per refund: a retry never refunds twice.")
    amount: int | None = None
    reason: str | None = None


@strawberry.type
class CreateRefundPayload:
    refund: MerchantRefund | None = strawberry.field(
        description="The refund (a retry's: the first one); null on errors."
    )
    errors: list[UserError]


@strawberry.type
class RefundQuery:
    @strawberry.field(description="A refund of the API key's business and mode; null for any other id.")
    async def refund(self, info: strawberry.Info[MerchantContext, None], id: strawberry.ID) -> MerchantRefund | None:
        row = await find_by_client_id(scoped(Refund, info.context), id)
        return MerchantRefund.from_row(row) if row else None

    @strawberry.field(description="Refunds, newest first; only those of one payment when paymentId is given.")
    async def refunds(
        self,
        info: strawberry.Info[MerchantContext, None],
        first: int | None = None,
        after: str | None = None,
        payment_id: strawberry.ID | None = None,
    ) -> Connection[MerchantRefund]:
        query = matching_id(scoped(Refund, info.context), "payment_id", payment_id, Payment)
        return await query_connection(query, MerchantRefund.from_row, first=first, after=after)


@strawberry.type
class RefundMutations:
    @strawberry.mutation(description="Refund a succeeded payment in full (no amount) or in part, once per key.")
    async def create_refund(
        self, info: strawberry.Info[MerchantContext, None], input: CreateRefundInput
    ) -> CreateRefundPayload:
        context = info.context
        payment = await find_by_client_id(scoped(Payment, context), input.payment_id)
        if payment is None:
            return CreateRefundPayload(refund=None, errors=[not_found("payment", field="paymentId")])
        try:
            refund = await refund_payment(
                payment, input.amount, input.reason or "", client_key=input.idempotency_key, context=context.billing
            )
        except BillingError as error:
            return CreateRefundPayload(refund=None, errors=[user_error(error)])
        return CreateRefundPayload(refund=MerchantRefund.from_row(refund), errors=[])

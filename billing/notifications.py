"""The emails billing sends, queued in the outbox in the transaction of the change they tell about: a payment
receipt, a failed payment (why, when it is tried again if it is, and a link to fix it), a subscription on hold, a
subscription reactivated, a cancellation confirmed (and when access ends), a plan changed (with its receipt when
something was charged), a refund issued (with its credit note).

Amounts travel as minor units and currency, dates as ISO text and reasons as English source strings: the worker
renders each email in the customer's language and formats them for it. Uses core.email_outbox for the outbox.
"""

from datetime import datetime

from billing.context import BillingContext
from billing.prices import subscription_price
from billing.tax import period_amounts
from core.email_outbox import branding_context, enqueue_email, sender_name
from models import Business, Customer, Invoice, Payment, Refund, Subscription

# The credit note download of gateway/pages/documents.py (schema.customer.invoices names the same path).
CREDIT_NOTE_PATH = "/credit-notes/{refund_id}/pdf"


class Notifier:
    """Queues one customer's billing emails at one business, in the customer's language."""

    def __init__(self, context: BillingContext, business: Business, customer: Customer, locale: str) -> None:
        self._context = context
        self._business = business
        self._customer = customer
        self._locale = locale

    async def _enqueue(self, template: str, **details: object) -> None:
        business, customer = self._business, self._customer
        await enqueue_email(
            to_email=customer.email,
            template=template,
            context={
                **branding_context(business, self._context.portal_name, customer.livemode),
                "customer_name": customer.name,
                "link": await self._context.sign_in_url(business, customer.livemode),
                **details,
            },
            locale=self._locale,
            business=business,
            livemode=customer.livemode,
            from_name=sender_name(business, self._context.portal_name),
            reply_to=business.support_email,
        )

    async def payment_receipt(self, payment: Payment, invoice: Invoice, product_name: str) -> None:
        await self._enqueue("payment_receipt", product_name=product_name, **_receipt(payment, invoice))

    async def payment_failed(
        self, payment: Payment, product_name: str, reason: str, *, next_attempt_at: datetime | None = None
    ) -> None:
        """`next_attempt_at`: when a failed renewal is charged again (billing.dunning); None once it is on hold."""
        await self._enqueue(
            "payment_failed",
            amount=payment.total_amount,
            currency=payment.currency,
            product_name=product_name,
            card_brand=payment.card_network,
            card_last4=payment.card_last_four,
            reason=reason,
            next_attempt_at=_iso(next_attempt_at) if next_attempt_at else "",
        )

    async def subscription_on_hold(self, subscription: Subscription, product_name: str, amount_due: int) -> None:
        await self._enqueue(
            "subscription_on_hold",
            product_name=product_name,
            amount=amount_due,
            currency=subscription.currency,
        )

    async def subscription_reactivated(
        self, subscription: Subscription, product_name: str, payment: Payment, invoice: Invoice
    ) -> None:
        """Active again, with the receipt of the payment that reactivated it: one email, not a receipt and then a
        second one to say what the receipt's payment did."""
        await self._enqueue(
            "subscription_reactivated",
            product_name=product_name,
            next_billing_date=_iso(subscription.next_billing_date),
            **_receipt(payment, invoice),
        )

    async def cancellation_confirmed(self, subscription: Subscription, product_name: str, ends_at: datetime) -> None:
        await self._enqueue(
            "cancellation_confirmed",
            product_name=product_name,
            ends_at=_iso(ends_at),
            ended=subscription.status == "cancelled",
        )

    async def plan_changed(
        self, subscription: Subscription, product_name: str, payment: Payment | None, invoice: Invoice | None
    ) -> None:
        await self._enqueue(
            "plan_changed",
            product_name=product_name,
            quantity=subscription.quantity,
            recurring_amount=subscription.recurring_pre_tax_amount,
            currency=subscription.currency,
            price=subscription_price(subscription, self._business).as_context(),
            price_with_tax=period_amounts(subscription, self._business).total,
            next_billing_date=_iso(subscription.next_billing_date),
            amount=payment.total_amount if payment else 0,
            invoice_number=invoice.number if invoice else "",
            card_brand=payment.card_network if payment else "",
            card_last4=payment.card_last_four if payment else "",
        )

    async def refund_issued(self, refund: Refund, payment: Payment) -> None:
        # Only a succeeded refund is announced, and it has its time of issue.
        assert refund.issued_at is not None
        await self._enqueue(
            "refund_issued",
            amount=refund.amount,
            currency=refund.currency,
            credit_note_number=refund.credit_note_number,
            reason=refund.reason,
            refunded_at=_iso(refund.issued_at),
            card_brand=payment.card_network,
            card_last4=payment.card_last_four,
            link=self._context.portal_url(CREDIT_NOTE_PATH.format(refund_id=refund.id)),
        )


def _receipt(payment: Payment, invoice: Invoice) -> dict[str, object]:
    """What a receipt says of a payment: the amount, its invoice, the card and the day."""
    return {
        "amount": payment.total_amount,
        "currency": payment.currency,
        "invoice_number": invoice.number,
        "card_brand": payment.card_network,
        "card_last4": payment.card_last_four,
        "paid_at": _iso(invoice.issued_at),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()

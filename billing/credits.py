"""The credit balance: what a business owes a customer, per currency, from downgrades and (when configured) the unused
time of an immediate cancellation. The next charges use it first, and the invoice shows "Credit applied".

The balance is the sum of the customer's CreditEntry rows in that currency: a grant adds a row, a charge that uses
credit adds a negative one in its settling transaction.
"""

from tortoise.functions import Sum

from models import CreditEntry, Customer, Payment
from models.base import column_values

GRANT_DOWNGRADE = "downgrade"
GRANT_CANCELLATION = "cancellation"
USED_BY_PAYMENT = "applied"


async def credit_balance(customer_id: str, currency: str) -> int:
    entries = CreditEntry.filter(customer_id=customer_id, currency=currency).annotate(balance=Sum("amount"))
    rows = await column_values(entries, "balance")
    return int(rows[0] or 0) if rows else 0


async def credit_balances(customer_id: str) -> dict[str, int]:
    """The customer's credit in each currency that has any."""
    rows = await (
        CreditEntry.filter(customer_id=customer_id)
        .annotate(balance=Sum("amount"))
        .group_by("currency")
        .values_list("currency", "balance")
    )
    return {currency: int(balance) for currency, balance in rows if balance}


async def customers_credit_balances(customer_ids: list[str]) -> dict[tuple[str, str], int]:
    """The credit of several customers, keyed (customer id, currency), in one statement."""
    rows = await (
        CreditEntry.filter(customer_id__in=customer_ids)
        .annotate(balance=Sum("amount"))
        .group_by("customer_id", "currency")
        .values_list("customer_id", "currency", "balance")
    )
    return {(customer_id, currency): int(balance) for customer_id, currency, balance in rows if balance}


async def grant_credit(
    customer: Customer, currency: str, amount: int, reason: str, subscription_id: str | None
) -> None:
    """Call inside the transaction of the change that earns the credit."""
    if amount > 0:
        await CreditEntry.create(
            business_id=customer.business_id,
            livemode=customer.livemode,
            customer_id=customer.id,
            currency=currency,
            amount=amount,
            reason=reason,
            subscription_id=subscription_id,
        )


async def use_credit(payment: Payment) -> None:
    """Record the credit a succeeded payment used; call inside its settling transaction."""
    if payment.credit_applied > 0:
        await CreditEntry.create(
            business_id=payment.business_id,
            livemode=payment.livemode,
            customer_id=payment.customer_id,
            currency=payment.currency,
            amount=-payment.credit_applied,
            reason=USED_BY_PAYMENT,
            subscription_id=payment.subscription_id,
            payment_id=payment.id,
        )

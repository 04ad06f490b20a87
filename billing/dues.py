"""What the next period of a subscription costs: its price, less the discount it still has, taxed, less the
customer's credit balance. A renewal charges it, and so does reactivating an on-hold subscription; the portal states
it, with its date, before a customer keeps a subscription going."""

from dataclasses import dataclass
from datetime import datetime

from billing.credits import credit_balance
from billing.discounts import active_discount, discount_amount
from billing.pauses import billing_continues_at
from billing.tax import Amounts, period_amounts
from models import Business, Subscription


async def period_charge(subscription: Subscription, business: Business) -> Amounts:
    discount = discount_amount(await active_discount(subscription), subscription.recurring_pre_tax_amount)
    balance = await credit_balance(subscription.customer_id, subscription.currency)
    return period_amounts(subscription, business, discount=discount, credit_balance=balance)


@dataclass(frozen=True)
class UpcomingCharge:
    amounts: Amounts
    at: datetime


async def upcoming_charge(subscription: Subscription, business: Business, now: datetime) -> UpcomingCharge | None:
    """The next period's charge and its date if the subscription goes on (see pauses.billing_continues_at)."""
    at = billing_continues_at(subscription, now)
    return UpcomingCharge(await period_charge(subscription, business), at) if at else None

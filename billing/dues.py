"""What the next period of a subscription costs: its price, less the discount it still has, taxed, less the
customer's credit balance. A renewal charges it, and so does reactivating an on-hold subscription; the portal states
it, with its date, before a customer keeps a subscription going."""

from dataclasses import dataclass
from datetime import datetime

from billing.credits import credit_balance, customers_credit_balances
from billing.discounts import active_discount, discount_amount, discounts_by_id
from billing.pauses import billing_continues_at
from billing.tax import Amounts, period_amounts
from models import Business, Subscription


async def period_charge(subscription: Subscription, business: Business) -> Amounts:
    discount = discount_amount(await active_discount(subscription), subscription.recurring_pre_tax_amount)
    balance = await credit_balance(subscription.customer_id, subscription.currency)
    return period_amounts(subscription, business, discount=discount, credit_balance=balance)


async def period_charges(subscriptions: list[Subscription], businesses: dict[str, Business]) -> dict[str, Amounts]:
    """period_charge of several subscriptions (keyed by id), in two statements however many there are; each
    subscription's business is in `businesses`."""
    if not subscriptions:
        return {}
    discounts = await discounts_by_id([row.discount_id for row in subscriptions if row.discount_cycles_remaining != 0])
    balances = await customers_credit_balances(list({row.customer_id for row in subscriptions}))
    charges = {}
    for row in subscriptions:
        discount = discount_amount(discounts.get(row.discount_id or ""), row.recurring_pre_tax_amount)
        balance = balances.get((row.customer_id, row.currency), 0)
        charges[row.id] = period_amounts(row, businesses[row.business_id], discount=discount, credit_balance=balance)
    return charges


@dataclass(frozen=True)
class UpcomingCharge:
    amounts: Amounts
    at: datetime


async def upcoming_charge(subscription: Subscription, business: Business, now: datetime) -> UpcomingCharge | None:
    """The next period's charge and its date if the subscription goes on (see pauses.billing_continues_at)."""
    at = billing_continues_at(subscription, now)
    return UpcomingCharge(await period_charge(subscription, business), at) if at else None

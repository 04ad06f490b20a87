"""What the next period of a subscription costs: its price, less the discount it still has, taxed, less the
customer's credit balance. A renewal charges it, and so does reactivating an on-hold subscription."""

from billing.credits import credit_balance
from billing.discounts import active_discount, discount_amount
from billing.tax import Amounts, period_amounts
from models import Business, Subscription


async def period_charge(subscription: Subscription, business: Business) -> Amounts:
    discount = discount_amount(await active_discount(subscription), subscription.recurring_pre_tax_amount)
    balance = await credit_balance(subscription.customer_id, subscription.currency)
    return period_amounts(subscription, business, discount=discount, credit_balance=balance)

"""The recurring price a customer is shown: of a subscription, of a plan it may change to, and of a subscription once
a discount applies. The amounts are billing's (the business's tax rate, the product's tax treatment, the quantity);
core.prices words them."""

from billing.discounts import discount_amount
from core.prices import RecurringPrice, price_tax
from models import Business, Discount, Product, Subscription


def subscription_price(subscription: Subscription, business: Business) -> RecurringPrice:
    """What each billing period of the subscription costs, for its quantity, before any discount."""
    return RecurringPrice(
        amount=subscription.recurring_pre_tax_amount,
        currency=subscription.currency,
        interval_count=subscription.payment_frequency_count,
        interval=subscription.payment_frequency_interval,
        tax=price_tax(business.tax_rate_bp, subscription.tax_inclusive),
    )


def plan_price(plan: Product, quantity: int, business: Business) -> RecurringPrice:
    """What each billing period of `plan` costs for `quantity`."""
    count, interval = plan.billing_cycle()
    return RecurringPrice(
        amount=plan.price * quantity,
        currency=plan.currency,
        interval_count=count,
        interval=interval,
        tax=price_tax(business.tax_rate_bp, plan.tax_inclusive),
    )


def discounted_price(price: RecurringPrice, discount: Discount) -> RecurringPrice:
    """The price of a period the discount applies to."""
    return price.with_amount(price.amount - discount_amount(discount, price.amount))

"""Tax on a charge: one rate per business, either added on top of a price or already included in it."""

from dataclasses import dataclass

from models import Business, Subscription


@dataclass(frozen=True)
class Amounts:
    """What a charge is made of, in minor units. An inclusive price has `subtotal == total`."""

    subtotal: int
    tax: int
    total: int


def split_tax(subtotal: int, rate_bp: int, inclusive: bool) -> Amounts:
    """The tax and total of a subtotal at `rate_bp` basis points; an inclusive price already contains its tax."""
    if inclusive:
        return Amounts(subtotal, subtotal - round(subtotal * 10000 / (10000 + rate_bp)), subtotal)
    tax = round(subtotal * rate_bp / 10000)
    return Amounts(subtotal, tax, subtotal + tax)


def period_amounts(subscription: Subscription, business: Business) -> Amounts:
    """What one billing period of the subscription costs, tax included."""
    return split_tax(subscription.recurring_pre_tax_amount, business.tax_rate_bp, subscription.tax_inclusive)

"""What a charge is made of: the price, less a discount, plus tax (one rate per business, added on top of a price or
already included in it), less the customer's credit balance. Every charge and invoice is computed here."""

from dataclasses import dataclass

from models import Business, Invoice, Subscription


@dataclass(frozen=True)
class Amounts:
    """A charge in minor units. `total` is what is charged; an inclusive price has its tax inside `subtotal`."""

    subtotal: int
    tax: int
    total: int
    discount: int = 0
    credit_applied: int = 0

    def add_up(self) -> bool:
        """Whether these are amounts a charge can have: none negative, and the total is the subtotal less the
        discount and the credit, with the tax either inside the subtotal or added on top."""
        if min(self.subtotal, self.tax, self.total, self.discount, self.credit_applied) < 0:
            return False
        net = self.subtotal - self.discount - self.credit_applied
        return self.total in (net, net + self.tax)


def split_tax(subtotal: int, rate_bp: int, inclusive: bool) -> Amounts:
    """The tax and total of a subtotal at `rate_bp` basis points; an inclusive price already contains its tax."""
    if inclusive:
        return Amounts(subtotal, subtotal - round(subtotal * 10000 / (10000 + rate_bp)), subtotal)
    tax = round(subtotal * rate_bp / 10000)
    return Amounts(subtotal, tax, subtotal + tax)


def charge_amounts(
    subtotal: int, *, rate_bp: int, inclusive: bool, discount: int = 0, credit_balance: int = 0
) -> Amounts:
    """The subtotal less the discount, taxed, then paid from the credit balance first."""
    discount = min(max(discount, 0), max(subtotal, 0))
    taxed = split_tax(subtotal - discount, rate_bp, inclusive)
    credit = min(max(credit_balance, 0), max(taxed.total, 0))
    return Amounts(subtotal, taxed.tax, taxed.total - credit, discount, credit)


def period_amounts(
    subscription: Subscription, business: Business, *, discount: int = 0, credit_balance: int = 0
) -> Amounts:
    """What one billing period of the subscription costs, tax included."""
    return charge_amounts(
        subscription.recurring_pre_tax_amount,
        rate_bp=business.tax_rate_bp,
        inclusive=subscription.tax_inclusive,
        discount=discount,
        credit_balance=credit_balance,
    )


def tax_included(invoice: Invoice) -> bool:
    """Whether an invoice's tax is inside its subtotal (prices with tax included) rather than added to it."""
    return invoice.tax > 0 and invoice.subtotal - invoice.discount - invoice.credit_applied == invoice.total

"""Proration: what changing a subscription's price in the middle of a period costs, exactly, in integer minor units.

The modes are Dodo Payments' `proration_billing_mode`:

- `prorated_immediately`: the unused share of the current price is credited and the remaining share of the new
  price charged now; the share is the remaining time of the period in seconds over its whole length. The cycle is
  unchanged.
- `full_immediately`: the full new price is charged now and the cycle restarts today; nothing is credited.
- `difference_immediately`: the full price difference is charged now (an upgrade), or credited (a downgrade). The
  cycle is unchanged.
- `do_not_bill`: nothing now; the new price applies from the next renewal.

A change to a plan billed at another interval (monthly to yearly) always restarts the cycle: the unused share of the
current price is credited and the full new price charged, since a share of one period means nothing in the other.

Rounding rule: shares are computed exactly (fractions) and each amount is rounded once, half up, to the currency's
minor unit. Amounts are already in minor units (cents; yen have none), so rounding to an integer is rounding to the
minor unit, and a yen amount is always whole.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction


class ProrationMode(StrEnum):
    PRORATED_IMMEDIATELY = "prorated_immediately"
    FULL_IMMEDIATELY = "full_immediately"
    DIFFERENCE_IMMEDIATELY = "difference_immediately"
    DO_NOT_BILL = "do_not_bill"


@dataclass(frozen=True)
class Proration:
    """`credit` is what the customer gets back for the current plan, `charge` what the new plan costs now."""

    mode: ProrationMode
    credit: int
    charge: int
    restarts_cycle: bool

    @property
    def net(self) -> int:
        return self.charge - self.credit

    @property
    def due_now(self) -> int:
        return max(self.net, 0)

    @property
    def leftover_credit(self) -> int:
        """What a downgrade leaves on the customer's credit balance."""
        return max(-self.net, 0)


def round_half_up(value: Fraction) -> int:
    """The nearest integer; exact halves go up (away from zero, as amounts here are never negative)."""
    return int((value + Fraction(1, 2)).__floor__())


def remaining_share(period_start: datetime, period_end: datetime, at: datetime) -> Fraction:
    """The share of the period still to come at `at`, between 0 and 1, in whole seconds."""
    length = int((period_end - period_start).total_seconds())
    if length <= 0:
        return Fraction(0)
    remaining = int((period_end - at).total_seconds())
    return Fraction(min(max(remaining, 0), length), length)


def prorate(
    mode: ProrationMode,
    *,
    current_amount: int,
    new_amount: int,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    same_interval: bool = True,
) -> Proration:
    """The credit and charge of moving from `current_amount` to `new_amount` (per period, minor units) at `at`."""
    if not same_interval and mode != ProrationMode.DO_NOT_BILL:
        unused = round_half_up(current_amount * remaining_share(period_start, period_end, at))
        return Proration(mode, unused, new_amount, True)
    if mode == ProrationMode.PRORATED_IMMEDIATELY:
        share = remaining_share(period_start, period_end, at)
        return Proration(mode, round_half_up(current_amount * share), round_half_up(new_amount * share), False)
    if mode == ProrationMode.FULL_IMMEDIATELY:
        return Proration(mode, 0, new_amount, True)
    if mode == ProrationMode.DIFFERENCE_IMMEDIATELY:
        difference = new_amount - current_amount
        return Proration(mode, max(-difference, 0), max(difference, 0), False)
    return Proration(mode, 0, 0, False)

"""Dunning: what happens between a failed renewal and the subscription going on hold.

A renewal whose charge fails is charged again on the days of the business's schedule (the default portal
configuration's `payment_retry.retry_after_days`, counted from the due date: by default 1, 3 and 7 days after it).
While it is retried the subscription stays `active`, as Dodo's statuses have no past-due one, and is *past due*:
`renewal_attempts` counts the failed charges of the renewal due at `next_billing_date`, `next_retry_at` says when the
next one is made. Every attempt has its own idempotency key, so an attempt that crashed is finished under its key,
never made twice. Only when the last retry fails does the subscription go on hold; an empty schedule puts it on hold
at the first failure. The customer may pay it at once (billing.reactivation), which renews it and ends the retries.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from models import Payment, Subscription
from models.enums import SubscriptionStatus

# `past_due` as a query, for the lists that show what is owed.
PAST_DUE = Q(status=SubscriptionStatus.ACTIVE, renewal_attempts__gt=0)


@dataclass(frozen=True)
class PaymentRetry:
    """A past-due subscription's dunning: how many charges of its renewal failed, and when the next one is made."""

    attempts: int
    next_attempt_at: datetime


def past_due(subscription: Subscription) -> bool:
    """Active, with a renewal that failed and is being retried."""
    return subscription.status == SubscriptionStatus.ACTIVE and subscription.renewal_attempts > 0


def payment_retry(subscription: Subscription) -> PaymentRetry | None:
    if not past_due(subscription) or subscription.next_retry_at is None:
        return None
    return PaymentRetry(subscription.renewal_attempts, subscription.next_retry_at)


@dataclass(frozen=True)
class RenewalAttempt:
    """One charge of a renewal: the renewal's due date and how many of its charges failed before this one."""

    subscription_id: str
    due: datetime
    failed_before: int

    @classmethod
    def now_due(cls, subscription: Subscription) -> "RenewalAttempt":
        """The charge the subscription's renewal is due for now."""
        return cls(subscription.id, subscription.next_billing_date, subscription.renewal_attempts)

    @classmethod
    def of(cls, payment: Payment, subscription: Subscription) -> "RenewalAttempt":
        """The charge a renewal payment was made for (one made before retries existed: the one due now)."""
        details = payment.details or {}
        if "renewal_due" not in details:
            return cls.now_due(subscription)
        return cls(subscription.id, datetime.fromisoformat(details["renewal_due"]), details["failed_before"])

    @property
    def key(self) -> str:
        """Its idempotency key: the first charge's is `renewal:{id}:{due}`, as it always was; each retry adds its
        number, so that it is a charge of its own and a crashed one is found again."""
        key = f"renewal:{self.subscription_id}:{self.due.isoformat()}"
        return f"{key}:retry:{self.failed_before}" if self.failed_before else key

    def details(self) -> dict[str, object]:
        """What its payment keeps, so that whoever settles it late knows which charge it was."""
        return {"renewal_due": self.due.isoformat(), "failed_before": self.failed_before}


def next_retry_at(schedule: tuple[int, ...], due: datetime, failed: int, now: datetime) -> datetime | None:
    """When the renewal due at `due` is charged again after its `failed`-th failed charge (at `now`), or None when
    the schedule has no retry left. It is the schedule's day after the due date, but never sooner after this failure
    than the schedule's gap between the two: a billing run that ran late does not make its retries one after another."""
    if failed > len(schedule):
        return None
    day = schedule[failed - 1]
    gap = day - (schedule[failed - 2] if failed > 1 else 0)
    return max(due + timedelta(days=day), now + timedelta(days=gap))

"""Billing periods: moving a date by a subscription's interval, the way calendars and customers expect, and whether
a subscription is still in its free trial."""

import calendar
from datetime import datetime, timedelta

from models import Subscription
from models.enums import Interval, SubscriptionStatus


def add_interval(moment: datetime, interval: Interval, count: int) -> datetime:
    """`moment` moved by `count` intervals; month ends clamp (31 Jan + 1 month = 28/29 Feb)."""
    if interval == Interval.DAY:
        return moment + timedelta(days=count)
    if interval == Interval.WEEK:
        return moment + timedelta(weeks=count)
    months = moment.month - 1 + count * (12 if interval == Interval.YEAR else 1)
    year, month = moment.year + months // 12, months % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def period_end(subscription: Subscription, start: datetime) -> datetime:
    """When a billing period of the subscription that starts at `start` ends."""
    return add_interval(start, subscription.payment_frequency_interval, subscription.payment_frequency_count)


def in_trial(subscription: Subscription, at: datetime) -> bool:
    """Active and its free trial not over yet: the first charge comes when the trial ends."""
    ends = subscription.trial_ends_at
    return subscription.status == SubscriptionStatus.ACTIVE and ends is not None and ends > at

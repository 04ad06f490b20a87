"""Billing periods: moving a date by a subscription's interval, the way calendars and customers expect."""

import calendar
from datetime import datetime, timedelta

from models import Subscription
from models.enums import Interval


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

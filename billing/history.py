"""The billing history: every invoice, every failed payment and every amount owed now (the dues of an on-hold
subscription, which reactivating it pays, or a past-due renewal, which Pay now settles) in one list, newest first,
paged both ways by a cursor, with where the page sits in the whole list ("21–40 of 48").

Three tables make one list: each is asked for its rows beside the cursor, the merged rows are cut to the page, and
each table counts its rows (all of them, and those newer than the page), so a page costs the same statements
whatever the history. An entry's moment orders it: an invoice's creation, a payment's attempt, the day an on-hold or
past-due subscription's unpaid period fell due.
"""

import heapq
import itertools
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from billing.dunning import PAST_DUE
from models import Invoice, Payment, Subscription
from models.enums import InvoiceStatus, PaymentStatus, SubscriptionStatus
from models.paging import Cursor, before, rows_beside


class BillingHistoryStatus(StrEnum):
    """An invoice's status, or FAILED (a payment that did not go through) or OPEN (owed now)."""

    PAID = InvoiceStatus.PAID.value
    REFUNDED = InvoiceStatus.REFUNDED.value
    PARTIALLY_REFUNDED = InvoiceStatus.PARTIALLY_REFUNDED.value
    VOID = InvoiceStatus.VOID.value
    FAILED = "failed"
    OPEN = "open"


_INVOICE_STATUSES = {status.value for status in InvoiceStatus}


@dataclass(frozen=True)
class HistoryRows:
    """The rows the history may show, already narrowed to what the reader may see."""

    invoices: QuerySet[Invoice]
    payments: QuerySet[Payment]
    subscriptions: QuerySet[Subscription]


@dataclass(frozen=True)
class _Source:
    query: QuerySet
    # The moment that orders the table's rows in the history.
    column: str


@dataclass(frozen=True)
class Entry:
    row: Invoice | Payment | Subscription
    at: datetime

    @property
    def status(self) -> BillingHistoryStatus:
        if isinstance(self.row, Invoice):
            return BillingHistoryStatus(self.row.status.value)
        return BillingHistoryStatus.FAILED if isinstance(self.row, Payment) else BillingHistoryStatus.OPEN

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.row.id)


@dataclass(frozen=True)
class HistoryPage:
    entries: list[Entry]
    total: int
    # How many entries come before the page, newest first.
    offset: int

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.entries) < self.total


def _sources(rows: HistoryRows, statuses: set[BillingHistoryStatus]) -> list[_Source]:
    """The tables (narrowed to the statuses asked for; none: every status) the history is made of."""
    wanted = statuses or set(BillingHistoryStatus)
    invoice_statuses = sorted(status.value for status in wanted if status.value in _INVOICE_STATUSES)
    sources = []
    if invoice_statuses:
        sources.append(_Source(rows.invoices.filter(status__in=invoice_statuses), "created_at"))
    if BillingHistoryStatus.FAILED in wanted:
        sources.append(_Source(rows.payments.filter(status=PaymentStatus.FAILED), "created_at"))
    if BillingHistoryStatus.OPEN in wanted:
        sources.append(
            _Source(rows.subscriptions.filter(Q(status=SubscriptionStatus.ON_HOLD) | PAST_DUE), "next_billing_date")
        )
    return sources


async def history_page(
    rows: HistoryRows,
    statuses: set[BillingHistoryStatus],
    *,
    size: int,
    cursor: Cursor | None,
    backwards: bool = False,
) -> HistoryPage:
    """`size` entries after `cursor` (older ones), or with `backwards` the `size` entries before it (newer ones),
    newest first either way; without a cursor the newest page (or, backwards, the oldest)."""
    sources = _sources(rows, statuses)
    per_source = [
        [
            Entry(row, getattr(row, source.column))
            for row in await rows_beside(
                source.query, column=source.column, cursor=cursor, backwards=backwards, limit=size
            )
        ]
        for source in sources
    ]
    # Merged keeping each table's own order, which its database collation decided (and its cursor filters follow);
    # across tables the id prefixes (inv_, pay_, sub_) break a tie the same way in any collation.
    merged = heapq.merge(*per_source, key=lambda entry: (entry.at, entry.row.id), reverse=not backwards)
    entries = list(itertools.islice(merged, size))
    if backwards:
        entries.reverse()
    total = sum([await source.query.count() for source in sources])
    newest = entries[0].cursor if entries else cursor
    offset = 0
    if newest is not None:
        offset = sum([await source.query.filter(before(newest, source.column)).count() for source in sources])
    return HistoryPage(entries, total, offset)

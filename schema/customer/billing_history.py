"""The billing history as the customer sees it (`viewer.billingHistory`): invoices, failed payments and amounts owed
now in one list, paged both ways (`first`/`after`, `last`/`before`), with the page's place in the whole list."""

from datetime import datetime
from typing import Self

import strawberry

from billing.history import BillingHistoryStatus, Entry, HistoryPage, HistoryRows, history_page
from billing.tax import Amounts
from models import Invoice as InvoiceRow
from models import Payment as PaymentRow
from models import Subscription as SubscriptionRow
from schema.common.connections import Edge, PageInfo, parse_after
from schema.common.limits import PublicError, page_size
from schema.customer.context import CustomerContext
from schema.customer.invoices import Invoice
from schema.customer.lookahead import Selection, selection_of
from schema.customer.money import Money
from schema.customer.owned import OwnedByBusiness
from schema.customer.purchases import Payment
from schema.customer.subscriptions import Subscription

strawberry.enum(
    BillingHistoryStatus,
    name="BillingHistoryStatus",
    description="An invoice's status, or FAILED (a payment that did not go through) or OPEN (owed now).",
)


@strawberry.type(description="One line of the billing history: an invoice, a failed payment or an amount owed now.")
class BillingHistoryEntry(OwnedByBusiness):
    id: strawberry.ID = strawberry.field(description="The invoice's, the payment's or (OPEN) the subscription's id.")
    status: BillingHistoryStatus
    date: datetime = strawberry.field(
        description="When it happened: the invoice was issued, the payment tried, the amount fell due."
    )
    amount: Money | None = strawberry.field(description="What was paid, tried, or (OPEN) is owed now.")
    invoice: Invoice | None = strawberry.field(description="Set for an invoice.")
    payment: Payment | None = strawberry.field(description="Set for a FAILED payment, with why it failed.")
    subscription: Subscription | None = strawberry.field(
        description=(
            "What a FAILED or OPEN entry is about: the subscription to pay (ON_HOLD, or ACTIVE with a `paymentRetry`) "
            "or try again (FAILED)."
        )
    )

    @classmethod
    async def build(cls, context: CustomerContext, entries: list[Entry], selection: Selection) -> list[Self]:
        """The entries with the invoices and subscriptions the selection shows, loaded for the whole page at once."""
        invoice_rows = [entry.row for entry in entries if isinstance(entry.row, InvoiceRow)]
        invoices = dict(
            zip(invoice_rows, await Invoice.build(context, invoice_rows, selection["invoice"]), strict=True)
        )
        open_rows = [entry.row for entry in entries if isinstance(entry.row, SubscriptionRow)]
        dues = dict(zip(open_rows, await context.loaders.dues.load_many(open_rows), strict=True))
        subscription_rows = open_rows + await _subscriptions_of(context, entries) if "subscription" in selection else []
        subscription_nodes = await Subscription.build(context, subscription_rows, selection["subscription"])
        subscriptions = {row.id: node for row, node in zip(subscription_rows, subscription_nodes, strict=True)}
        locale = context.locale
        return [
            cls(
                id=strawberry.ID(entry.row.id),
                business_id=entry.row.business_id,
                status=entry.status,
                date=entry.at,
                amount=_amount(entry.row, dues, locale),
                invoice=invoices.get(entry.row) if isinstance(entry.row, InvoiceRow) else None,
                payment=Payment.from_row(entry.row, locale) if isinstance(entry.row, PaymentRow) else None,
                subscription=subscriptions.get(_subscription_id(entry.row) or ""),
            )
            for entry in entries
        ]


def _subscription_id(row: InvoiceRow | PaymentRow | SubscriptionRow) -> str | None:
    """The subscription a failed payment or an open amount is about."""
    if isinstance(row, SubscriptionRow):
        return row.id
    return row.subscription_id if isinstance(row, PaymentRow) else None


async def _subscriptions_of(context: CustomerContext, entries: list[Entry]) -> list[SubscriptionRow]:
    """The subscriptions the page's failed payments are about, in one statement at most."""
    ids = {row.subscription_id for entry in entries if isinstance(row := entry.row, PaymentRow) and row.subscription_id}
    if not ids:
        return []
    return list(await context.signed_in_viewer().subscriptions().filter(id__in=ids))


def _amount(
    row: InvoiceRow | PaymentRow | SubscriptionRow, dues: dict[SubscriptionRow, Amounts | None], locale: str
) -> Money | None:
    """What an invoice came to, what a failed payment tried to charge, or what an on-hold or past-due subscription
    owes."""
    if isinstance(row, InvoiceRow):
        return Money.of(row.total, row.currency, locale)
    if isinstance(row, PaymentRow):
        return Money.of(row.total_amount, row.currency, locale)
    owed = dues.get(row)
    return Money.of(owed.total, row.currency, locale) if owed else None


@strawberry.type(description="A page of the billing history, newest first.")
class BillingHistoryConnection:
    total_count: int
    offset: int = strawberry.field(
        description="How many entries come before this page: it shows entries offset + 1 to offset + its edges."
    )
    page_info: PageInfo
    edges: list[Edge[BillingHistoryEntry]]

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[BillingHistoryEntry]:
        return [edge.node for edge in self.edges]


def _paging(first: int | None, after: str | None, last: int | None, before: str | None) -> tuple[int, bool, str | None]:
    """The page size, whether the page goes backwards (`last`/`before`), and its cursor."""
    if (first is not None or after is not None) and (last is not None or before is not None):
        raise PublicError("Page with `first`/`after` or with `last`/`before`, not both.")
    backwards = last is not None or before is not None
    return page_size(last if backwards else first), backwards, before if backwards else after


async def billing_history_connection(
    info: strawberry.Info,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    business_id: str | None,
    statuses: list[BillingHistoryStatus] | None,
) -> BillingHistoryConnection:
    viewer = info.context.signed_in_viewer()
    size, backwards, cursor = _paging(first, after, last, before)
    business_ids = None if business_id is None else [business_id]
    rows = HistoryRows(viewer.invoices(business_ids), viewer.payments(business_ids), viewer.subscriptions(business_ids))
    page: HistoryPage = await history_page(
        rows,
        set(statuses or ()),
        size=size,
        cursor=parse_after(cursor, "before" if backwards else "after"),
        backwards=backwards,
    )
    nodes = await BillingHistoryEntry.build(info.context, page.entries, selection_of(info).nodes)
    edges = [Edge(cursor=entry.cursor.encode(), node=node) for entry, node in zip(page.entries, nodes, strict=True)]
    return BillingHistoryConnection(
        total_count=page.total,
        offset=page.offset,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        edges=edges,
    )

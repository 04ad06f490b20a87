"""Dataloaders of the customer schema, made fresh for every request.

Lists (subscriptions, invoices, …) load a page of every business (or, for a subscription's invoices, of every
subscription) a query asks about in one statement; the rows those pages point at (products, invoice lines, license
key instances, …) are batched by id. A page of the dashboard therefore costs the same number of statements
whatever the number of businesses or rows.

The loaders of related rows are asked for a whole page's ids at once (schema.customer.lookahead): their keys are
tuples of ids, one per page, and the pages asking in the same turn of the event loop share one statement.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.queryset import QuerySet

from access.viewer import Viewer
from billing.payment_methods import declined_at
from billing.reactivation import dues_of
from billing.tax import Amounts
from models import Discount, Invoice, InvoiceLine, LicenseKeyInstance, PaymentItem, Product, Subscription
from models.enums import SubscriptionStatus
from models.paging import Cursor, Page, fetch_pages_after
from models.rows_in import rows_in


class ListKind(Enum):
    SUBSCRIPTIONS = "subscriptions"
    INVOICES = "invoices"
    PURCHASES = "purchases"
    LICENSE_KEYS = "license_keys"


@dataclass(frozen=True)
class ListKey:
    """One page request. `per_business` pages are asked by Business nodes and batched across businesses."""

    kind: ListKind
    business_id: str | None
    statuses: tuple[str, ...]
    first: int
    after: Cursor | None
    per_business: bool = False


@dataclass(frozen=True)
class SubscriptionPageKey:
    """One page of one subscription's invoices; subscriptions asking the same page are batched together."""

    subscription_id: str
    first: int
    after: Cursor | None


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _by_page(load: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[tuple[K, ...], list[V]]:
    """A dataloader keyed by a page's ids (a tuple) rather than by one id: `load` runs once for every page asked in
    the same turn, with the union of their ids. A future per page rather than per id: with a future per id, the
    futures of a page cost more time than its statement."""

    async def load_pages(pages: list[tuple[K, ...]]) -> list[list[V]]:
        ids = list(dict.fromkeys(key for page in pages for key in page))
        found = dict(zip(ids, await load(ids), strict=True))
        return [[found[key] for key in page] for page in pages]

    return DataLoader(load_pages)


def _grouped(rows: Iterable[Any], attribute: str, parent_ids: list[str]) -> list[list]:
    """Rows grouped by their parent, in the order of `parent_ids`."""
    grouped: dict[Hashable, list] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attribute)].append(row)
    return [grouped.get(parent_id, []) for parent_id in parent_ids]


class CustomerLoaders:
    def __init__(self, viewer: Viewer | None) -> None:
        self._viewer = viewer
        self.pages: DataLoader[ListKey, Page] = DataLoader(self._load_pages)
        self.products: DataLoader[tuple[str, ...], list[Product | None]] = _by_page(self._load_products)
        self.discounts: DataLoader[str, Discount | None] = DataLoader(self._load_discounts)
        self.payment_methods = _by_page(self._load_payment_methods)
        self.saved_payment_methods = DataLoader(self._load_saved_payment_methods)
        self.declined_at: DataLoader[str, datetime | None] = DataLoader(self._load_declined_at)
        self.invoice_lines = _by_page(self._children(InvoiceLine, "invoice_id", order=("position", "id")))
        self.license_key_instances = _by_page(
            self._children(LicenseKeyInstance, "license_key_id", order=("created_at", "id"))
        )
        self.purchase_items = _by_page(self._children(PaymentItem, "payment_id", order=("id",), related=("product",)))
        self.purchase_license_keys = _by_page(self._load_purchase_license_keys)
        self.invoice_refunds = _by_page(self._load_invoice_refunds)
        self.payment_invoices = _by_page(self._children(Invoice, "payment_id", order=("id",)))
        self.subscription_invoices: DataLoader[SubscriptionPageKey, Page] = DataLoader(self._load_subscription_invoices)
        self.dues: DataLoader[Subscription, Amounts | None] = DataLoader(self._load_dues)

    @property
    def viewer(self) -> Viewer:
        assert self._viewer is not None, "resolvers ask for the viewer before any loader"
        return self._viewer

    def _list_query(self, kind: ListKind, business_ids: list[str] | None, statuses: Sequence[str]) -> QuerySet:
        viewer = self.viewer
        if kind is ListKind.SUBSCRIPTIONS:
            return viewer.subscriptions(business_ids, [SubscriptionStatus(status) for status in statuses])
        query = {
            ListKind.INVOICES: viewer.invoices,
            ListKind.PURCHASES: viewer.purchases,
            ListKind.LICENSE_KEYS: viewer.license_keys,
        }[kind](business_ids)
        return query.filter(status__in=list(statuses)) if statuses else query

    async def _load_pages(self, keys: list[ListKey]) -> list[Page]:
        found: dict[ListKey, Page] = {}
        batches: dict[tuple, list[ListKey]] = defaultdict(list)
        for key in keys:
            if key.per_business:
                batches[(key.kind, key.statuses, key.first, key.after)].append(key)
            else:
                found[key] = await self._single_page(key)
        for batch in batches.values():
            found.update(await self._per_business_pages(batch))
        return [found[key] for key in keys]

    async def _single_page(self, key: ListKey) -> Page:
        # An empty business id names a business that does not exist, not "every business".
        business_ids = None if key.business_id is None else [key.business_id]
        query = self._list_query(key.kind, business_ids, key.statuses)
        return (await fetch_pages_after(query, partition=None, first=key.first, cursor=key.after)).get(None, Page())

    async def _per_business_pages(self, batch: list[ListKey]) -> dict[ListKey, Page]:
        first = batch[0]
        # Keys asked per business each name one.
        business_ids = [key.business_id for key in batch if key.business_id is not None]
        query = self._list_query(first.kind, business_ids, first.statuses)
        pages = await fetch_pages_after(query, partition="business_id", first=first.first, cursor=first.after)
        return {key: pages.get(key.business_id, Page()) for key in batch}

    async def _load_subscription_invoices(self, keys: list[SubscriptionPageKey]) -> list[Page]:
        """A page of invoices per subscription: one statement for every subscription that asks the same page."""
        batches: dict[tuple, list[SubscriptionPageKey]] = defaultdict(list)
        for key in keys:
            batches[(key.first, key.after)].append(key)
        found: dict[SubscriptionPageKey, Page] = {}
        for (first, cursor), batch in batches.items():
            query = self.viewer.invoices().filter(subscription_id__in=[key.subscription_id for key in batch])
            pages = await fetch_pages_after(query, partition="subscription_id", first=first, cursor=cursor)
            found.update({key: pages.get(key.subscription_id, Page()) for key in batch})
        return [found[key] for key in keys]

    async def _load_dues(self, subscriptions: list[Subscription]) -> list[Amounts | None]:
        """What every on-hold subscription asked about owes, in a constant number of statements."""
        businesses = {row.id: row for row in self.viewer.businesses}
        owed = await dues_of(subscriptions, businesses)
        return [owed.get(row.id) for row in subscriptions]

    async def _load_products(self, ids: list[str]) -> list[Product | None]:
        products = {product.id: product for product in await rows_in(Product, "id", ids, ("id",))}
        return [products.get(product_id) for product_id in ids]

    async def _load_discounts(self, ids: list[str]) -> list[Discount | None]:
        discounts = {discount.id: discount for discount in await Discount.filter(id__in=ids)}
        return [discounts.get(discount_id) for discount_id in ids]

    async def _load_payment_methods(self, ids: list[str]) -> list:
        methods = await self.viewer.payment_methods(include_detached=True).filter(id__in=ids)
        by_id = {method.id: method for method in methods}
        return [by_id.get(method_id) for method_id in ids]

    async def _load_saved_payment_methods(self, business_ids: list[str | None]) -> list[list]:
        """The usable saved methods per business (key None: of every business), default first."""
        named = [key for key in business_ids if key is not None]
        scoped = None if None in business_ids else named
        rows = await self.viewer.payment_methods(scoped).order_by("-is_default", "-created_at", "-id")
        grouped = dict(zip(named, _grouped(rows, "business_id", named), strict=True))
        return [rows if key is None else grouped[key] for key in business_ids]

    async def _load_declined_at(self, method_ids: list[str]) -> list[datetime | None]:
        """When each (already scoped) payment method's most recent charge failed, None when it did not; one
        statement."""
        declined = await declined_at(method_ids)
        return [declined.get(method_id) for method_id in method_ids]

    @staticmethod
    def _children(model: Any, parent: str, order: tuple[str, ...], related: tuple[str, ...] = ()) -> Callable:
        """A batch function loading the child rows of already scoped parents, grouped by parent id."""

        async def load(parent_ids: list[str]) -> list[list]:
            if related:
                query = model.filter(**{f"{parent}__in": parent_ids}).order_by(*order).select_related(*related)
                return _grouped(await query, parent, parent_ids)
            return _grouped(await rows_in(model, parent, parent_ids, order), parent, parent_ids)

        return load

    async def _load_invoice_refunds(self, invoice_ids: list[str]) -> list[list]:
        """The credit notes of every invoice asked about, in one statement, oldest first."""
        refunds = await self.viewer.refunds().filter(invoice_id__in=invoice_ids).order_by("issued_at", "id")
        return _grouped(refunds, "invoice_id", invoice_ids)

    async def _load_purchase_license_keys(self, payment_ids: list[str]) -> list[list]:
        keys = await self.viewer.license_keys().filter(payment_id__in=payment_ids).order_by("-created_at", "-id")
        return _grouped(keys, "payment_id", payment_ids)

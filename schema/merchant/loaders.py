"""Dataloaders of the merchant schema, made fresh for every request: what the nodes of a list ask about their own
rows (a payment's invoice number and refunds, a license key's devices, an endpoint's deliveries, a delivery's event
type and attempts) is loaded for the whole page in one statement, so a list costs the same statements for one row
as for a hundred. The parents are already scoped to the API key's business and mode; their children need no scope.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.functions import Count

from models import Event, Invoice, LicenseKeyInstance, Refund, WebhookAttempt, WebhookDelivery
from models.paging import Cursor, Page, fetch_pages_after
from schema.common.connections import Connection, connection, parse_after
from schema.common.limits import page_size


@dataclass(frozen=True)
class ChildPageKey:
    """One page of one parent's children; parents asking the same page share a statement."""

    parent_id: str
    first: int
    after: Cursor | None


def _child_pages(model: Any, parent: str) -> DataLoader[ChildPageKey, Page]:
    async def load(keys: list[ChildPageKey]) -> list[Page]:
        batches: dict[tuple, list[ChildPageKey]] = defaultdict(list)
        for key in keys:
            batches[(key.first, key.after)].append(key)
        found: dict[ChildPageKey, Page] = {}
        for (first, cursor), batch in batches.items():
            query = model.filter(**{f"{parent}__in": [key.parent_id for key in batch]})
            pages = await fetch_pages_after(query, partition=parent, first=first, cursor=cursor)
            found.update({key: pages.get(key.parent_id, Page()) for key in batch})
        return [found[key] for key in keys]

    return DataLoader(load)


async def _invoice_numbers(payment_ids: list[str]) -> list[str | None]:
    numbers = dict(await Invoice.filter(payment_id__in=payment_ids).values_list("payment_id", "number"))
    return [numbers.get(payment_id) for payment_id in payment_ids]


async def _instance_counts(license_key_ids: list[str]) -> list[int]:
    query = LicenseKeyInstance.filter(license_key_id__in=license_key_ids).annotate(rows=Count("id"))
    counts = dict(await query.group_by("license_key_id").values_list("license_key_id", "rows"))
    return [counts.get(license_key_id, 0) for license_key_id in license_key_ids]


async def _event_types(event_ids: list[str]) -> list[str]:
    types = dict(await Event.filter(id__in=event_ids).values_list("id", "type"))
    return [types[event_id] for event_id in event_ids]


class MerchantLoaders:
    def __init__(self) -> None:
        self.invoice_numbers: DataLoader[str, str | None] = DataLoader(_invoice_numbers)
        self.payment_refunds = _child_pages(Refund, "payment_id")
        self.instance_counts: DataLoader[str, int] = DataLoader(_instance_counts)
        self.license_key_instances = _child_pages(LicenseKeyInstance, "license_key_id")
        self.endpoint_deliveries = _child_pages(WebhookDelivery, "endpoint_id")
        self.event_types: DataLoader[str, str] = DataLoader(_event_types)
        self.delivery_attempts = _child_pages(WebhookAttempt, "delivery_id")


async def child_connection(
    loader: DataLoader[ChildPageKey, Page], parent_id: str, to_node: Callable, *, first: int | None, after: str | None
) -> Connection:
    """One page of a parent's children as a connection, loaded with its siblings' pages."""
    page = await loader.load(ChildPageKey(parent_id, page_size(first), parse_after(after)))
    return connection(page, [to_node(row) for row in page.rows])

"""Relay-style connections: `first`/`after` paging, `totalCount` and `pageInfo`, newest first."""

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from models.paging import Cursor, InvalidCursor, Page
from schema.customer.loaders import ListKey, ListKind
from schema.limits import PublicError, page_size

Node = TypeVar("Node")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    total_count: int
    page_info: PageInfo
    edges: list[Edge[Node]]

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[Node]:
        return [edge.node for edge in self.edges]


def parse_after(after: str | None) -> Cursor | None:
    if after is None:
        return None
    try:
        return Cursor.decode(after)
    except InvalidCursor:
        raise PublicError("`after` is not a cursor this API handed out.") from None


async def load_connection(
    info: strawberry.Info,
    kind: ListKind,
    to_node: Callable,
    *,
    first: int | None,
    after: str | None,
    business_id: str | None = None,
    statuses: list | None = None,
    per_business: bool = False,
) -> Connection:
    """One page of a list the viewer may see, through the request's batched page loader."""
    info.context.signed_in_viewer()
    key = ListKey(
        kind=kind,
        business_id=business_id,
        statuses=tuple(sorted(status.value for status in statuses or ())),
        first=page_size(first),
        after=parse_after(after),
        per_business=per_business,
    )
    return connection(await info.context.loaders.pages.load(key), to_node)


def connection(page: Page, to_node: Callable) -> Connection:
    edges = [Edge(cursor=Cursor.of(row).encode(), node=to_node(row)) for row in page.rows]
    return Connection(
        total_count=page.total,
        page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
        edges=edges,
    )

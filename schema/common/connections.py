"""Relay-style connections shared by both schemas: `first`/`after` paging, `totalCount` and `pageInfo`, newest
first."""

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry
from tortoise.queryset import QuerySet

from models.paging import Cursor, InvalidCursor, Page, fetch_page
from schema.common.limits import PublicError, page_size

Node = TypeVar("Node")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(
        default=False, description="Whether entries come before this page; lists paged forward only answer false."
    )
    start_cursor: str | None = None


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


def parse_after(after: str | None, argument: str = "after") -> Cursor | None:
    """The cursor passed as `argument` (`after`, or `before`)."""
    if after is None:
        return None
    try:
        return Cursor.decode(after)
    except InvalidCursor:
        raise PublicError(f"`{argument}` is not a cursor this API handed out.") from None


def connection(page: Page, nodes: list) -> Connection:
    """The page as a connection; `nodes` are its rows as the schema shows them, in the same order."""
    edges = [Edge(cursor=Cursor.of(row).encode(), node=node) for row, node in zip(page.rows, nodes, strict=True)]
    return Connection(
        total_count=page.total,
        page_info=PageInfo(
            has_next_page=page.has_next,
            end_cursor=edges[-1].cursor if edges else None,
            start_cursor=edges[0].cursor if edges else None,
        ),
        edges=edges,
    )


async def query_connection(query: QuerySet, to_node: Callable, *, first: int | None, after: str | None) -> Connection:
    """One page of `query` as a connection: two statements at most (the page, and the total after a cursor)."""
    page = await fetch_page(query, first=page_size(first), cursor=parse_after(after))
    return connection(page, [to_node(row) for row in page.rows])

"""The viewer's lists as connections, loaded through the request's batched page loader."""

from collections.abc import Callable

import strawberry

from schema.common.connections import Connection, connection, parse_after
from schema.common.limits import page_size
from schema.customer.loaders import ListKey, ListKind
from schema.customer.lookahead import selection_of


async def load_connection(
    info: strawberry.Info,
    kind: ListKind,
    build: Callable,
    *,
    first: int | None,
    after: str | None,
    business_id: str | None = None,
    statuses: list | None = None,
    per_business: bool = False,
) -> Connection:
    """One page of a list the viewer may see, through the request's batched page loader; `build` makes its nodes
    (a node type's `build`) with everything the query selects on them."""
    info.context.signed_in_viewer()
    key = ListKey(
        kind=kind,
        business_id=business_id,
        statuses=tuple(sorted(status.value for status in statuses or ())),
        first=page_size(first),
        after=parse_after(after),
        per_business=per_business,
    )
    page = await info.context.loaders.pages.load(key)
    return connection(page, await build(info.context, page.rows, selection_of(info).nodes))

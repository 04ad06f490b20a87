"""Look-ahead: what a query selects below a field, merged over aliases and fragments, and the batched loading of
what a list's nodes show.

A field that hands out nodes (a connection, `node`, a mutation's payload) reads its selection once, loads every
related row the nodes show in the request's batched dataloaders, and builds plain objects. Their fields then resolve
as attributes, synchronously: graphql-core completes them without an awaitable (and a task) per field, which is
where most of a big page's time used to go.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types.nodes import SelectedField

T = TypeVar("T")


@dataclass
class Selection:
    """The fields selected on one object, by GraphQL name, each with what it selects in turn."""

    fields: dict[str, "Selection"] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def __getitem__(self, name: str) -> "Selection":
        return self.fields.get(name) or Selection()

    def add(self, selections: Iterable[Any], type_names: frozenset[str]) -> "Selection":
        """Merge strawberry's selections into this one: a field asked twice (under aliases, in fragments) is asked
        once with everything either asks; a fragment on another type (below `node`) adds nothing."""
        for selection in selections:
            if isinstance(selection, SelectedField):
                self.fields.setdefault(selection.name, Selection()).add(selection.selections, frozenset())
            elif not type_names or selection.type_condition in (None, *type_names):
                # A fragment: inline or spread, on this type, an interface of it, or (below `node`) another type.
                self.add(selection.selections, type_names)
        return self

    def merge(self, other: "Selection") -> "Selection":
        for name, selection in other.fields.items():
            self.fields.setdefault(name, Selection()).merge(selection)
        return self


def selection_of(info: strawberry.Info, node_type: type | None = None) -> Selection:
    """What the field being resolved selects; with `node_type`, only what applies to that type (for a field whose
    type is an interface)."""
    return Selection().add(
        (child for selected in info.selected_fields for child in selected.selections), type_names_of(node_type)
    )


def nodes_of(connection: Selection) -> Selection:
    """What a connection selects on its nodes, through `edges { node }` and `nodes` alike."""
    return Selection().merge(connection["edges"]["node"]).merge(connection["nodes"])


def type_names_of(node_type: type | None) -> frozenset[str]:
    """The GraphQL names a fragment may use to reach `node_type`: its own and its interfaces'."""
    if node_type is None:
        return frozenset()
    definition = node_type.__strawberry_definition__
    return frozenset({definition.name, *(interface.name for interface in definition.interfaces)})


async def load_selected(selection: Selection, loads: dict[str, tuple[DataLoader, list]]) -> list[list]:
    """For each named field, what its dataloader holds for each key (None for a None key). The loads whose field
    is selected run concurrently, so their dataloaders batch with every other list's in the request; the others
    answer None for every key, as nothing will read them."""
    wanted = [name for name in loads if name in selection]
    found = await asyncio.gather(*(_load_many(*loads[name]) for name in wanted))
    by_name = dict(zip(wanted, found, strict=True))
    return [by_name.get(name) or [None] * len(keys) for name, (_, keys) in loads.items()]


async def _load_many(loader: DataLoader, keys: list) -> list:
    present = [key for key in keys if key is not None]
    values = dict(zip(present, await loader.load_many(present), strict=True))
    return [values.get(key) for key in keys]


async def build_grouped(build: Callable[[list], Awaitable[list[T]]], groups: Sequence[list | None]) -> list[list[T]]:
    """Nodes for rows grouped by parent (a purchase's license keys), built in one call, in the same groups; a group
    that was not loaded (None) builds empty."""
    groups = [group or [] for group in groups]
    built = await build([row for group in groups for row in group])
    ends = list(accumulate(len(group) for group in groups))
    return [built[end - len(group) : end] for group, end in zip(groups, ends, strict=True)]


async def built_node(info: strawberry.Info, build: Callable, row: Any, field_name: str) -> Any:
    """The node a mutation's payload carries in `field_name` (None without a row), built with what the mutation
    selects of it."""
    if row is None:
        return None
    return (await build(info.context, [row], selection_of(info)[field_name]))[0]

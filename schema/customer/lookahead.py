"""Look-ahead: what a query selects below a field, merged over aliases and fragments, and the batched loading of
what a list's nodes show.

A field that hands out nodes (a connection, `node`, a mutation's payload) reads its selection once, loads every
related row the nodes show in the request's batched dataloaders, and builds plain objects. Their fields then resolve
as attributes, synchronously: graphql-core completes them without an awaitable (and a task) per field, which is
where most of a big page's time used to go.
"""

import functools
import operator
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Any, TypeVar, cast

import strawberry
from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.dataloader import DataLoader
from strawberry.types.base import get_object_definition

T = TypeVar("T")


@dataclass(eq=False)
class Selection:
    """The fields selected on one object, by GraphQL name, each with what it selects in turn. Shared between
    requests (see `selection_of`), so never changed once built: `merge` into a new one."""

    fields: dict[str, "Selection"] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def __getitem__(self, name: str) -> "Selection":
        return self.fields.get(name) or _NOTHING

    def merge(self, other: "Selection") -> "Selection":
        for name, selection in other.fields.items():
            self.fields.setdefault(name, Selection()).merge(selection)
        return self

    @cached_property
    def nodes(self) -> "Selection":
        """What a connection selects on its nodes, through `edges { node }` and `nodes` alike."""
        return Selection().merge(self["edges"]["node"]).merge(self["nodes"])


_NOTHING = Selection()


def selection_of(info: strawberry.Info, node_type: type | None = None) -> Selection:
    """What the field being resolved selects; with `node_type`, only what applies to that type (for a field whose
    type is an interface)."""
    # graphql-core's nodes, not strawberry's `selected_fields`: converting those (arguments and all) for every list of
    # every business took more time than the lists' own rows.
    raw = info._raw_info
    return _selection(_Nodes(tuple(raw.field_nodes), raw.fragments), type_names_of(node_type))


class _Nodes:
    """The field's nodes in the parsed query, compared by identity: strawberry's parser cache hands out the same
    document for the same query, so the selection is read once per query and shape. The cache holds the nodes, so
    an id is never reused while its entry lives. The fragments come with the nodes' document."""

    __slots__ = ("fragments", "nodes")

    def __init__(self, nodes: tuple[FieldNode, ...], fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.nodes, self.fragments = nodes, fragments

    def __hash__(self) -> int:
        return hash(tuple(map(id, self.nodes)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Nodes) and all(map(operator.is_, self.nodes, other.nodes))


@functools.lru_cache(maxsize=1024)
def _selection(fields: _Nodes, type_names: frozenset[str]) -> Selection:
    selection = Selection()
    for node in fields.nodes:
        _add(selection, node.selection_set, fields.fragments, type_names)
    return selection


def _add(
    selection: Selection, selection_set: SelectionSetNode | None, fragments: dict, type_names: frozenset[str]
) -> None:
    """Merge what a selection set asks into `selection`: a field asked twice (under aliases, in fragments) is asked
    once with everything either asks; a fragment on another type (below `node`) adds nothing."""
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FieldNode):
            _add(selection.fields.setdefault(node.name.value, Selection()), node.selection_set, fragments, frozenset())
            continue
        # The one other kind of selection is an inline fragment.
        fragment = (
            fragments.get(node.name.value) if isinstance(node, FragmentSpreadNode) else cast(InlineFragmentNode, node)
        )
        condition = fragment.type_condition.name.value if fragment and fragment.type_condition else None
        if fragment and (not type_names or condition in (None, *type_names)):
            _add(selection, fragment.selection_set, fragments, type_names)


def type_names_of(node_type: type | None) -> frozenset[str]:
    """The GraphQL names a fragment may use to reach `node_type`: its own and its interfaces'."""
    if node_type is None:
        return frozenset()
    definition = get_object_definition(node_type, strict=True)
    return frozenset({definition.name, *(interface.name for interface in definition.interfaces)})


async def load_related(*loads: tuple[DataLoader, list, bool]) -> list[list]:
    """For each (loader, keys, wanted): what the loader (keyed by a tuple of keys) holds for each key, None for a
    None key. Every wanted load is asked before any is awaited, so their dataloaders batch with every other list's
    in the request; the others answer None for every key, as nothing will read them (their field is not selected)."""
    asked = [(keys, _ask(loader, keys) if wanted else None) for loader, keys, wanted in loads]
    return [await _answer(keys, pending) for keys, pending in asked]


def _ask(loader: DataLoader, keys: list) -> tuple[tuple, Awaitable[list]]:
    present = tuple(dict.fromkeys(key for key in keys if key is not None))
    return present, loader.load(present)


async def _answer(keys: list, pending: tuple[tuple, Awaitable[list]] | None) -> list:
    if pending is None:
        return [None] * len(keys)
    present, values = pending
    found = dict(zip(present, await values, strict=True))
    return [found.get(key) for key in keys]


async def build_grouped(build: Callable[[list], Awaitable[list[T]]], groups: Sequence[list | None]) -> list[list[T]]:
    """Nodes for rows grouped by parent (a purchase's license keys), built in one call, in the same groups; a group
    that was not loaded (None) builds empty."""
    filled = [group or [] for group in groups]
    built = await build([row for group in filled for row in group])
    ends = list(accumulate(len(group) for group in filled))
    return [built[end - len(group) : end] for group, end in zip(filled, ends, strict=True)]


async def built_node(info: strawberry.Info, build: Callable, row: Any, field_name: str) -> Any:
    """The node a mutation's payload carries in `field_name` (None without a row), built with what the mutation
    selects of it."""
    if row is None:
        return None
    return (await build(info.context, [row], selection_of(info)[field_name]))[0]

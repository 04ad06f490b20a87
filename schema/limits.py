"""What a GraphQL request may ask for: depth, aliases, tokens, page size and an estimated cost; and which
errors a client may read.

The validation rules are built once at import: strawberry's validation cache is keyed by the rule classes, so a
limiter built per request would miss the cache every time.
"""

from collections.abc import Iterator

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaskErrors, MaxTokensLimiter
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

MAX_DEPTH = 12
MAX_ALIASES = 15
MAX_TOKENS = 2000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_COST = 50_000


class PublicError(GraphQLError):
    """An error whose message is meant for the client (bad cursor, page too large); never masked."""


def page_size(first: int | None) -> int:
    """The page size a list field was asked for, or a clear error past the limit."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise PublicError(f"`first` must be between 0 and {MAX_PAGE_SIZE}.")
    return first


def _multiplier(node: FieldNode) -> int:
    """How many items a field may return: a connection's `first` (or the default page size), otherwise one."""
    selected = {child.name.value for child in node.selection_set.selections if isinstance(child, FieldNode)}
    if not selected & {"edges", "nodes"}:
        return 1
    for argument in node.arguments or ():
        if argument.name.value == "first":
            value = argument.value
            return max(int(value.value), 1) if isinstance(value, IntValueNode) else MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE


class CostRule(ValidationRule):
    """Refuses an operation whose estimated number of resolved fields exceeds MAX_COST: every field costs 1, and
    a paginated field multiplies the cost of what it selects by its page size."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: object) -> None:
        fragments = {
            definition.name.value: definition
            for definition in self.context.document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        cost = _selection_cost(node.selection_set, fragments, set())
        if cost > MAX_COST:
            self.report_error(PublicError(f"Query cost {cost} exceeds the maximum cost of {MAX_COST}."))


def _selection_cost(selection_set: SelectionSetNode | None, fragments: dict, visiting: set[str]) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in _flatten(selection_set, fragments, visiting):
        if selection.selection_set is None:
            total += 1
            continue
        children = _selection_cost(selection.selection_set, fragments, visiting)
        total += 1 + _multiplier(selection) * children
    return total


def _flatten(selection_set: SelectionSetNode, fragments: dict, visiting: set[str]) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _flatten(selection.selection_set, fragments, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in visiting:
                yield from _flatten(fragments[name].selection_set, fragments, visiting | {name})


_RULES: list[type[ValidationRule]] = [
    max_depth_rule(MAX_DEPTH, None),
    max_aliases_rule(MAX_ALIASES),
    CostRule,
]


class PortalLimits(AddValidationRules):
    """Depth, alias and cost limits, with rule classes shared by every request."""

    def __init__(self) -> None:
        super().__init__(_RULES)


class PortalTokenLimit(MaxTokensLimiter):
    def __init__(self) -> None:
        super().__init__(max_token_count=MAX_TOKENS)


def is_hidden(error: GraphQLError) -> bool:
    """Mask unexpected exceptions; validation and limit errors, and PublicErrors, reach the client as they are."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class PortalErrorMasking(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_hidden, error_message="Unexpected error.")

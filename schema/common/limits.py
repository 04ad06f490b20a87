"""What a GraphQL request may ask for: depth, aliases, tokens, page size and an estimated cost; which errors a
client may read, and how each error is logged. An error because the database cannot be reached is masked with code
UNAVAILABLE instead (the HTTP view answers it with 503 and Retry-After).

The validation rules are built once at import: strawberry's validation cache is keyed by the rule classes, so a
limiter built per request would miss the cache every time.
"""

import logging
from collections.abc import Iterator

from graphql import (
    ASTValidationRule,
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
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from models.database import is_unreachable

MAX_DEPTH = 12
MAX_ALIASES = 15
MAX_TOKENS = 2000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_COST = 50_000
UNEXPECTED_ERROR = "Unexpected error."
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
UNAVAILABLE = "UNAVAILABLE"
UNAVAILABLE_MESSAGE = "The service is briefly unavailable. Try again in a few seconds."
# Enough of a client's error to tell what went wrong, too little to copy a query or an input into the log.
_LOGGED_MESSAGE_LENGTH = 160

logger = logging.getLogger(__name__)
# Requests that are not GraphQL requests at all (no query, a mutation over GET): the HTTP view answers them with a 4xx.
_ANSWERED_BY_THE_VIEW = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


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
    children = node.selection_set.selections if node.selection_set else ()
    selected = {child.name.value for child in children if isinstance(child, FieldNode)}
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


_RULES: list[type[ASTValidationRule]] = [
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


def masked(error: GraphQLError, request_id: str) -> GraphQLError:
    """What the client sees of an unexpected error: where it happened, and the id that finds it in the log; an
    unreachable database says so (the original error is kept, for the pages' query to re-raise)."""
    unreachable = is_unreachable(error.original_error)
    return GraphQLError(
        UNAVAILABLE_MESSAGE if unreachable else UNEXPECTED_ERROR,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error if unreachable else None,
        extensions={"code": UNAVAILABLE if unreachable else INTERNAL_SERVER_ERROR, "requestId": request_id},
    )


def log_errors(errors: list[GraphQLError], request_id: str) -> None:
    """One line per request: an ERROR with the first unexpected error's traceback, else an INFO line naming the
    client's mistake — never the query text."""
    unexpected = [error for error in errors if is_hidden(error)]
    if unexpected and is_unreachable(unexpected[0].original_error):
        # An outage fails every request alike: one line each, not a traceback each.
        logger.error("GraphQL request %s: the database is unreachable (%r)", request_id, unexpected[0].original_error)
        return
    if unexpected:
        logger.error(
            "Unexpected error in GraphQL request %s at %s (%d unexpected)",
            request_id,
            ".".join(str(key) for key in unexpected[0].path or ()),
            len(unexpected),
            exc_info=unexpected[0].original_error,
        )
        return
    first = errors[0]
    code = (first.extensions or {}).get("code", "GRAPHQL_ERROR")
    logger.info(
        "GraphQL request %s answered with the client's error %s (%d in all; the first: %s)",
        request_id,
        code,
        len(errors),
        first.message[:_LOGGED_MESSAGE_LENGTH],
    )


class PortalErrorMasking(SchemaExtension):
    """Logs each request's errors once (see `log_errors`) and masks the unexpected ones as `Unexpected error.` with
    code INTERNAL_SERVER_ERROR and the request id; a client's mistakes (syntax, validation, limits, PublicError)
    reach the client as they are.

    Most errors arrive in the result; some escape the operation as an exception instead (a syntax error found by the
    parser cache, a bug inside another extension), and are logged and masked on their way out. The context of both
    schemas carries the `request_id` the gateway gave the request. Strawberry's own error log (a traceback and the
    query for every error, a client's mistakes included) is silenced by the gateway.
    """

    def on_operation(self) -> Iterator[None]:
        request_id = self.execution_context.context.request_id
        try:
            yield
        except _ANSWERED_BY_THE_VIEW:
            raise
        except Exception as escaped:
            error = escaped if isinstance(escaped, GraphQLError) else GraphQLError(str(escaped), original_error=escaped)
            log_errors([error], request_id)
            if is_hidden(error):
                raise masked(error, request_id) from escaped
            raise
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        log_errors(result.errors, request_id)
        result.errors = [masked(error, request_id) if is_hidden(error) else error for error in result.errors]

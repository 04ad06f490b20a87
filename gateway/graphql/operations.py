"""What the metrics say of a GraphQL operation: its name and its outcome.

The name is the request's `operationName`, else the name of the document's one operation, read from its first tokens
(a document without `operationName` may hold only one); `anonymous` when it has none. The outcome is `error` when
something unexpected failed (the errors the schemas mask, INTERNAL_SERVER_ERROR and UNAVAILABLE), `user_error` when
the client's request was refused (syntax, validation, limits, signed out) or a mutation's payload reported
UserErrors, and `ok` otherwise.
"""

from typing import Any

from graphql import GraphQLError, Lexer, Source, TokenKind

from schema.common.limits import INTERNAL_SERVER_ERROR, UNAVAILABLE

OK, USER_ERROR, ERROR = "ok", "user_error", "error"
_OPERATION_KEYWORDS = frozenset({"query", "mutation", "subscription"})


def operation_name(query: str | None, requested: str | None) -> str | None:
    """The operation's name, None when it is anonymous (or the document cannot be read)."""
    if requested:
        return requested
    if not query:
        return None
    try:
        return _first_operation_name(Lexer(Source(query)))
    except GraphQLError:
        return None


def _first_operation_name(lexer: Lexer) -> str | None:
    depth, in_fragment = 0, False
    token = lexer.advance()
    while token.kind != TokenKind.EOF:
        if token.kind == TokenKind.BRACE_L:
            if depth == 0 and not in_fragment:
                return None  # the `{ … }` shorthand of an anonymous query
            depth += 1
        elif token.kind == TokenKind.BRACE_R:
            depth -= 1
            in_fragment = in_fragment and depth > 0
        elif depth == 0 and token.kind == TokenKind.NAME:
            if token.value == "fragment":
                in_fragment = True
            elif token.value in _OPERATION_KEYWORDS and not in_fragment:
                following = lexer.advance()
                return following.value if following.kind == TokenKind.NAME else None
        token = lexer.advance()
    return None


def outcome(errors: list[GraphQLError] | None, data: dict[str, Any] | None) -> str:
    codes = [(error.extensions or {}).get("code") for error in errors or []]
    if any(code in (INTERNAL_SERVER_ERROR, UNAVAILABLE) for code in codes):
        return ERROR
    if codes or any(_reports_user_errors(payload) for payload in (data or {}).values()):
        return USER_ERROR
    return OK


def _reports_user_errors(payload: Any) -> bool:
    return isinstance(payload, dict) and bool(payload.get("errors"))

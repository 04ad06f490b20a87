"""The execution context that completes plain fields itself answers exactly as graphql-core would: the same data,
the same errors where a value cannot be completed, and middleware still sees every field."""

import enum
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from schema.common.plain_fields import PlainFieldExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


@strawberry.type
class Amount:
    value: int
    currency: str


@strawberry.type
class Line:
    name: str
    amount: Amount


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    count: int
    lines: list[Line]
    total: Amount | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def _item(name: Any = "a", count: Any = 1, line_name: Any = "l", currency: Any = "EUR") -> Item:
    line = Line(name=line_name, amount=Amount(value=3, currency="EUR"))
    total = Amount(value=6, currency=currency)
    return Item(name=name, note=None, colour=Colour.RED, count=count, lines=[line, line], total=total)


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [
            _item(),
            _item(name=None),  # a null in a non-null scalar
            _item(count="x"),  # a value Int refuses
            _item(line_name=None),  # a null deep in a list of objects
            _item(currency=None),  # a null in a nullable object's non-null field
        ]


QUERY = """
query ($withNote: Boolean!) {
  items {
    __typename name note @include(if: $withNote) colour count shout
    lines { name amount { value currency } }
    ... on Item { total { value ...Currency } }
  }
}
fragment Currency on Amount { currency }
"""


def execute(variables: dict, **options: Any) -> tuple[Any, Any]:
    plain = strawberry.Schema(query=Query, execution_context_class=PlainFieldExecutionContext, **options)
    ordinary = strawberry.Schema(query=Query, **options)
    return plain.execute_sync(QUERY, variables), ordinary.execute_sync(QUERY, variables)


@pytest.mark.parametrize("with_note", [True, False])
def test_answers_and_errors_are_graphql_cores(with_note: bool) -> None:
    plain, ordinary = execute({"withNote": with_note})

    assert plain.data == ordinary.data
    assert [(error.message, error.path) for error in plain.errors] == [
        (error.message, error.path) for error in ordinary.errors
    ]
    first = plain.data["items"][0]
    assert first["lines"][1] == {"name": "l", "amount": {"value": 3, "currency": "EUR"}}
    assert ("note" in first) is with_note
    assert first["__typename"] == "Item"
    assert plain.data["items"][1:4] == [None, None, None]
    assert plain.data["items"][4]["total"] is None
    assert [error.path for error in plain.errors] == [
        ["items", 1, "name"],
        ["items", 2, "count"],
        ["items", 3, "lines", 0, "name"],
        ["items", 4, "total", "currency"],
    ]


def test_a_resolving_extension_still_sees_plain_fields() -> None:
    seen: list[str] = []

    class Spy(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    plain, ordinary = execute({"withNote": True}, extensions=[Spy])

    assert plain.data == ordinary.data
    assert seen.count("currency") == 2 * seen.count("currency") // 2 > 0
    assert seen[: len(seen) // 2] == seen[len(seen) // 2 :]

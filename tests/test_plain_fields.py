"""The execution context that completes plain scalar attributes itself answers exactly as graphql-core would: the
same data, the same errors where a value cannot be completed, and middleware still sees every field."""

import enum
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension

from schema.common.plain_fields import PlainFieldExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    count: int

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [
            Item(name="a", note=None, colour=Colour.RED, count=1),
            Item(name=None, note="n", colour=Colour.RED, count="x"),
        ]  # type: ignore[arg-type]


QUERY = "{ items { name note colour count shout } }"


def run(**options: Any) -> Any:
    plain = strawberry.Schema(query=Query, execution_context_class=PlainFieldExecutionContext, **options)
    ordinary = strawberry.Schema(query=Query, **options)
    return plain.execute_sync(QUERY), ordinary.execute_sync(QUERY)


def test_answers_and_errors_are_graphql_cores() -> None:
    plain, ordinary = run()

    assert (
        plain.data
        == ordinary.data
        == {"items": [{"name": "a", "note": None, "colour": "RED", "count": 1, "shout": "A"}, None]}
    )
    assert [(error.message, error.path) for error in plain.errors] == [
        (error.message, error.path) for error in ordinary.errors
    ]
    assert plain.errors[0].path == ["items", 1, "name"]


def test_a_resolving_extension_still_sees_plain_fields() -> None:
    seen: list[str] = []

    class Spy(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    plain, _ = run(extensions=[Spy])

    assert plain.data["items"][0]["name"] == "a"
    assert seen.count("name") == 4  # two items, two schemas

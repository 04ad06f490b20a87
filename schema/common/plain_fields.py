"""The execution context both schemas run with: plain fields completed without graphql-core's per-field work.

Most of what a dashboard returns is attributes of objects the schema built itself: an id, an amount, a date, a
status, the lines of an invoice. graphql-core treats each of them like any field: it builds a resolve info, calls
strawberry's wrapper around `getattr`, asks whether the result is awaitable and walks `complete_value` down to the
scalar's coercion; about 2 µs a field, 1,500 times per dashboard.

A field is plain when strawberry itself calls it basic (no resolver, no extension, no arguments) and its type is a
scalar, an enum, or an object type (or a list of them) whose selected fields are all plain in turn. For a plain field
this context builds, once per request and selection, a function that reads the attributes and coerces them
directly. Anything else, and any value that would be an error (a null in a non-null field, a value a scalar refuses,
an object of the wrong type), goes the ordinary way for that whole field, so answers and errors are exactly
graphql-core's. A schema extension that wraps resolvers turns it off: it must see every field.
"""

from collections.abc import Callable, Iterable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

Completion = Callable[[Any], Any]


class Irregular(Exception):
    """A value the plain path does not complete: graphql-core completes it, and reports what is wrong with it."""


def _basic_attribute(field_def: GraphQLField) -> str | None:
    """The attribute a field only reads, or None when it resolves, is extended or takes arguments."""
    definition = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field or field_def.args:
        return None
    return definition.python_name if getattr(field_def.resolve, "_is_default", False) else None


def _non_null(inner: Completion) -> Completion:
    def complete(value: Any) -> Any:
        if value is None:
            raise Irregular
        return inner(value)

    return complete


def _nullable(inner: Completion) -> Completion:
    return lambda value: None if value is None else inner(value)


def _list_of(inner: Completion) -> Completion:
    def complete(value: Any) -> Any:
        if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
            raise Irregular
        return [inner(item) for item in value]

    return complete


def _leaf(coerce: Completion) -> Completion:
    def complete(value: Any) -> Any:
        try:
            coerced = coerce(value)
        except Exception as error:  # noqa: BLE001 - graphql-core reports it on the ordinary path
            raise Irregular from error
        if coerced is None or coerced is Undefined:
            raise Irregular
        return coerced

    return complete


def _object(object_type: GraphQLObjectType, fields: list[tuple[str, str | None, Completion]]) -> Completion:
    is_type_of = object_type.is_type_of

    def complete(value: Any) -> Any:
        # strawberry's is_type_of (for types with interfaces) looks at the value only.
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
            raise Irregular
        return {
            name: completion(object_type.name if attribute is None else getattr(value, attribute))
            for name, attribute, completion in fields
        }

    return complete


class PlainFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per field type and selection (by identity, the list kept alive beside it, as graphql-core's
        # collect_subfields does), for this request: its variables decide what @include and @skip select.
        self._completions: dict[tuple[GraphQLOutputType, int], tuple[FieldDetailsList, Completion | None]] = {}
        self._wrapped = bool(self.middleware_manager and self.middleware_manager.middlewares)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        field_def = parent_type.fields.get(field_details_list[0].node.name.value)
        attribute = None if field_def is None or self._wrapped else _basic_attribute(field_def)
        if attribute is not None and field_def is not None:
            completion = self._completion(field_def.type, field_details_list)
            if completion is not None:
                try:
                    return completion(getattr(source, attribute))
                except Exception:  # noqa: BLE001 - Irregular, or an attribute that fails: reported as graphql-core does
                    pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _completion(self, field_type: GraphQLOutputType, selection: FieldDetailsList) -> Completion | None:
        key = (field_type, id(selection))
        cached = self._completions.get(key)
        if cached is None:
            cached = self._completions[key] = (selection, self._build(field_type, selection))
        return cached[1]

    def _build(self, field_type: GraphQLOutputType, selection: FieldDetailsList) -> Completion | None:
        if isinstance(field_type, GraphQLNonNull):
            inner = self._build(field_type.of_type, selection)
            return None if inner is None else _non_null(inner)
        if isinstance(field_type, GraphQLList):
            item = self._build(field_type.of_type, selection)
            return None if item is None else _nullable(_list_of(item))
        if is_leaf_type(field_type):
            return _nullable(_leaf(field_type.coerce_output_value))
        if isinstance(field_type, GraphQLObjectType):
            fields = self._object_fields(field_type, selection)
            return None if fields is None else _nullable(_object(field_type, fields))
        return None

    def _object_fields(
        self, object_type: GraphQLObjectType, selection: FieldDetailsList
    ) -> list[tuple[str, str | None, Completion]] | None:
        grouped, deferred, _ = self.collect_subfields(object_type, selection)
        if deferred:
            return None
        fields: list[tuple[str, str | None, Completion]] = []
        for response_name, field_selection in grouped.items():
            field_name = field_selection[0].node.name.value
            if field_name == "__typename":
                fields.append((response_name, None, _nullable(lambda name: name)))
                continue
            field_def = object_type.fields.get(field_name)
            attribute = None if field_def is None else _basic_attribute(field_def)
            completion = None if attribute is None else self._completion(field_def.type, field_selection)
            if completion is None:
                return None
            fields.append((response_name, attribute, completion))
        return fields

"""The execution context both schemas run with: plain leaf fields completed without graphql-core's per-field work.

Most of what a dashboard returns is attributes of objects the schema built itself: an id, an amount, a date, a
status. graphql-core treats each of them like any field: it builds a resolve info, calls strawberry's wrapper around
`getattr`, asks whether the result is awaitable and walks `complete_value` down to the scalar's coercion; about 2 µs
a field, 1,500 times per dashboard. For a field strawberry itself calls basic (no resolver, no extension, no
arguments) whose type is a scalar or an enum, this context reads the attribute and coerces it directly. Anything
else, and any value that would be an error (a null in a non-null field, a value the scalar refuses), goes the
ordinary way, so answers and errors are exactly graphql-core's.
"""

from collections.abc import Callable
from typing import Any

from graphql import GraphQLField, GraphQLNonNull, GraphQLObjectType, Undefined, is_leaf_type
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_PlainField = tuple[str, Callable[[Any], Any], bool]
_NOT_PLAIN = None


def _plain_field(field_def: GraphQLField) -> _PlainField | None:
    """(attribute name, coercion, nullable) of a field that only reads a scalar attribute, else None."""
    definition = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field or field_def.args:
        return _NOT_PLAIN
    if not getattr(field_def.resolve, "_is_default", False):
        return _NOT_PLAIN
    nullable = not isinstance(field_def.type, GraphQLNonNull)
    named = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
    if not is_leaf_type(named):
        return _NOT_PLAIN
    return definition.python_name, named.coerce_output_value, nullable


class PlainFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    # Per object type (by identity: the two schemas have types of the same name) and field name. A schema never
    # changes once built, so this only grows to the number of fields.
    _plain_fields: dict[tuple[GraphQLObjectType, str], _PlainField | None] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        field_name = field_details_list[0].node.name.value
        key = (parent_type, field_name)
        try:
            plain = self._plain_fields[key]
        except KeyError:
            field_def = parent_type.fields.get(field_name)
            plain = self._plain_fields[key] = _plain_field(field_def) if field_def else _NOT_PLAIN
        if plain is not None and not self._wrapped_resolvers():
            attribute, coerce, nullable = plain
            value = getattr(source, attribute, Undefined)
            if value is None and nullable:
                return None
            if value is not None and value is not Undefined:
                try:
                    coerced = coerce(value)
                except Exception:  # noqa: BLE001 - the ordinary path below reports it as graphql-core would
                    coerced = None
                if coerced is not None and coerced is not Undefined:
                    return coerced
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _wrapped_resolvers(self) -> bool:
        """Whether a middleware (a schema extension with `resolve`) must see every field, plain or not."""
        return bool(self.middleware_manager and self.middleware_manager.middlewares)

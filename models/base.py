"""Field helpers, reading one column, and the abstract base every table shares.

Times are timezone-aware UTC (tortoise runs with `use_tz`); money is an integer in the
currency's minor unit next to an ISO 4217 code, never a float.
"""

from typing import Any, cast

from tortoise import fields
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.ids import id_factory

# Column values by name, as `Model.create` and `update` take them: each column has a type of its own.
Columns = dict[str, Any]


def id_field(prefix: str) -> fields.CharField[str]:
    """A primary key that defaults to a fresh `prefix_…` id."""
    return fields.CharField(max_length=40, primary_key=True, default=id_factory(prefix))


def currency_field() -> fields.CharField[str]:
    """An ISO 4217 currency code, upper case."""
    return fields.CharField(max_length=3)


def column_length(model: type[Model], name: str) -> int:
    """The most characters the text column `name` of `model` holds."""
    field = model._meta.fields_map[name]
    if not isinstance(field, fields.CharField):
        raise TypeError(f"{model.__name__}.{name} is not a text column of bounded length")
    return field.max_length


async def column_values(query: QuerySet[Any], column: str) -> list[Any]:
    """The value of `column` in each row of `query`."""
    # tortoise types a flat values_list as a list of tuples; it is the list of the values.
    return cast(list[Any], await query.values_list(column, flat=True))


class Timestamped(Model):
    """A row that knows when it was created; lists order by (created_at, id), newest first."""

    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True

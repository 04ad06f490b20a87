"""The rows a merchant request may see: those of the API key's business and mode, narrowed by client-sent ids that
are checked before they reach the database."""

from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.ids import id_prefix, is_well_formed_id
from schema.merchant.context import MerchantContext

M = TypeVar("M", bound=Model)


def scoped(model: type[M], context: MerchantContext) -> QuerySet[M]:
    return model.filter(business_id=context.business_id, livemode=context.livemode)


def matching_id(query: QuerySet[M], column: str, value: str | None, model: type[Model]) -> QuerySet[M]:
    """`query` narrowed to rows whose `column` is `value`; an id that could not be the model's matches nothing."""
    if value is None:
        return query
    return query.filter(**{column: value}) if is_well_formed_id(value, id_prefix(model)) else query.filter(id__in=[])

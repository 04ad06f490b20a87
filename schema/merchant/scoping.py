"""The rows a merchant request may see: those of the API key's business and mode."""

from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from schema.merchant.context import MerchantContext

M = TypeVar("M", bound=Model)


def scoped(model: type[M], context: MerchantContext) -> QuerySet[M]:
    return model.filter(business_id=context.business_id, livemode=context.livemode)

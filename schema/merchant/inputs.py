"""What merchant mutations share: the values an input object sets (unset fields left out), the UserError of a
refused value or of a domain rule, and the one answer for an id outside the API key's business and mode."""

import dataclasses
from collections.abc import Awaitable
from enum import Enum
from typing import TypeVar

import strawberry

from core.errors import DomainError
from merchants.inputs import MerchantErrorCode, MerchantInputError
from schema.common.errors import UserError, user_error, user_errors

Row = TypeVar("Row")


def given(value: object) -> object:
    """An input object as the domain functions take it: a dict of the fields it sets (snake_case), nested inputs
    as dicts, enums as their values; a field left out is absent, a field set to null is None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: given(item)
            for field in dataclasses.fields(value)
            if (item := getattr(value, field.name)) is not strawberry.UNSET
        }
    if isinstance(value, list):
        return [given(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value


def changes(value: object, id_field: str) -> dict[str, object]:
    """An update input as the domain functions take it: the fields it sets, without the id naming the row."""
    values = given(value)
    assert isinstance(values, dict)
    values.pop(id_field)
    return values


def not_found(what: str, field: str = "id") -> UserError:
    """The error for an id that is missing, malformed, or of another business or mode: always the same."""
    message = f"No {what} of this business and mode has this id."
    return user_error(MerchantInputError(message, field, MerchantErrorCode.NOT_FOUND))


async def attempt(work: Awaitable[Row]) -> tuple[Row | None, list[UserError]]:
    """What a domain call made, or the UserErrors of what it refused (then nothing was written)."""
    try:
        return await work, []
    except DomainError as error:
        return None, user_errors(error)

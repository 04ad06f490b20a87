"""What merchant mutations share: the values an input object sets (unset fields left out), the UserError of a
refused value or of a domain rule, and the one answer for an id outside the API key's business and mode."""

import dataclasses
from collections.abc import Awaitable
from enum import Enum
from typing import TYPE_CHECKING, TypeVar

import strawberry

from core.errors import DomainError
from merchants.inputs import MerchantErrorCode, MerchantInputError
from schema.common.errors import UserError, user_error, user_errors

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Row = TypeVar("Row")


def given(input: "DataclassInstance") -> dict[str, object]:
    """An input object as the domain functions take it: a dict of the fields it sets (snake_case), nested inputs
    as dicts, enums as their values; a field left out is absent, a field set to null is None."""
    return {
        field.name: _plain(value)
        for field in dataclasses.fields(input)
        if (value := getattr(input, field.name)) is not strawberry.UNSET
    }


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return given(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value


def changes(input: "DataclassInstance", id_field: str) -> dict[str, object]:
    """An update input as the domain functions take it: the fields it sets, without the id naming the row."""
    values = given(input)
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

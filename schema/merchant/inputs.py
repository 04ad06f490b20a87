"""What merchant mutations share: the values an input object sets (unset fields left out), the UserError of a
refused value or of a billing rule, and the one answer for an id outside the API key's business and mode."""

import dataclasses
from collections.abc import Awaitable
from enum import Enum
from typing import TypeVar

import strawberry
from strawberry.utils.str_converters import to_camel_case

from billing.errors import BillingError
from merchants.inputs import MerchantInputError
from schema.common.errors import UserError

NOT_FOUND = "NOT_FOUND"

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


def camel_path(field: str | None) -> str | None:
    """`features.subscription_cancel.mode` as the schema spells it: `features.subscriptionCancel.mode`."""
    return None if field is None else ".".join(to_camel_case(part) for part in field.split("."))


def user_error(error: MerchantInputError) -> UserError:
    return UserError(code=error.code, field=camel_path(error.field), message=error.message)


def from_billing_error(error: BillingError) -> UserError:
    """A billing rule's refusal, its English message with its parameters filled in."""
    message = error.message % error.params if error.params else error.message
    return UserError(code=str(error.code), field=error.field, message=message)


def not_found(what: str, field: str = "id") -> UserError:
    """The error for an id that is missing, malformed, or of another business or mode: always the same."""
    return UserError(code=NOT_FOUND, field=field, message=f"No {what} of this business and mode has this id.")


async def attempt(work: Awaitable[Row]) -> tuple[Row | None, list[UserError]]:
    """What a domain call made, or the UserError of the value it refused (then nothing was written)."""
    try:
        return await work, []
    except MerchantInputError as error:
        return None, [user_error(error)]

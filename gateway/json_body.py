"""Reading the JSON object body of the public API calls (license API, email-code sign-in): named string fields,
each required or optional, and a `BadBody` naming the field to blame for anything else."""

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

# The fields a call names: a string each, or None for an optional one that is absent or null.
Body = dict[str, Any]


@dataclass(frozen=True)
class StringField:
    name: str
    # An optional field may be absent or null; a present one is a string like a required one.
    required: bool = True


class BadBody(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


async def string_fields(request: Request, fields: tuple[StringField, ...]) -> Body:
    """The named string fields of a JSON object body; anything else is a BadBody."""
    not_an_object = f'The request body must be a JSON object in UTF-8, such as {{"{fields[0].name}": "…"}}.'
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, or nested past the parser's depth
        raise BadBody(not_an_object) from error
    if not isinstance(body, dict):
        raise BadBody(not_an_object)
    values: Body = {}
    for field in fields:
        value = body.get(field.name)
        if value is None and not field.required:
            values[field.name] = None
        elif isinstance(value, str):
            values[field.name] = value
        else:
            kind = "a string" if field.required else "a string or null"
            raise BadBody(f"{field.name} must be {kind}.", field.name)
    return values

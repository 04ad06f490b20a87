"""The JSON edge: `decode_json`, the one decoder of every JSON body and GraphQL parameter the gateway reads, and the
named string fields of the public API calls' bodies (license API, email-code sign-in), each required or optional,
with a `BadBody` naming the field to blame for anything else.

A string holding a lone UTF-16 surrogate escape (`"\\ud800"`) is JSON's grammar but not text: no database, email or
answer can encode it. `decode_json` raises `LoneSurrogate` for it, which the composition root answers with a 400
on every REST route at once (gateway.pages.errors) and the GraphQL view with its own 400 (gateway.graphql.http).
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

_SURROGATE = re.compile(r"[\ud800-\udfff]")

# The fields a call names: a string each, or None for an optional one that is absent or null.
Body = dict[str, Any]


@dataclass(frozen=True)
class StringField:
    name: str
    # An optional field may be absent or null; a present one is a string like a required one.
    required: bool = True


class LoneSurrogate(Exception):
    """A JSON text whose strings are not all Unicode text; `field` is the path of the first such value, if known."""

    def __init__(self, field: str | None) -> None:
        self.field = field
        where = f" in {field}" if field else ""
        self.message = (
            f"A JSON string{where} holds a lone UTF-16 surrogate (\\ud800 to \\udfff), which is no Unicode character."
        )
        super().__init__(self.message)


def decode_json(raw: bytes | str) -> Any:
    """The value of a JSON text in UTF-8; a ValueError for anything that is not one, a LoneSurrogate for one whose
    strings are not all text (orjson refuses those; the standard library would accept them)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        field = _lone_surrogate_at(raw)
        if field is None:
            raise
        raise LoneSurrogate(field or None) from None


def _lone_surrogate_at(raw: bytes | str) -> str | None:
    """The path (`""` for the top) of a value holding a lone surrogate, when the text is JSON otherwise; else None."""
    try:
        return _surrogate_in(json.loads(raw), "")
    except (ValueError, RecursionError):
        return None


def _surrogate_in(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, list):
        children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    elif isinstance(value, dict):
        if any(_SURROGATE.search(key) for key in value):
            return path  # the key itself: naming it would echo what cannot be encoded
        children = [(f"{path}.{key}" if path else key, item) for key, item in value.items()]
    else:
        return None
    return next((found for here, item in children if (found := _surrogate_in(item, here)) is not None), None)


class BadBody(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


async def string_fields(request: Request, fields: tuple[StringField, ...]) -> Body:
    """The named string fields of a JSON object body; anything else is a BadBody."""
    not_an_object = f'The request body must be a JSON object in UTF-8, such as {{"{fields[0].name}": "…"}}.'
    try:
        body = decode_json(await request.body())
    except ValueError as error:  # not UTF-8, not JSON, or nested past the parser's depth
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

"""Prefixed random identifiers (`cus_…`, `sub_…`) and the secrets behind tokens, and the one rule for an id a
client sends.

An id says what it names at a glance and carries enough randomness (~143 bits) that
guessing one is hopeless; nothing about it reveals order or volume.

A client-supplied id (a GraphQL `ID` argument, a URL path segment) that is empty, too long or malformed is answered
exactly like an id that does not exist: `find_by_client_id` checks it before any query is sent, so no such id
reaches the database, whose column would refuse it with an error instead of finding nothing.
"""

import functools
import re
import secrets
import string
from collections.abc import Callable
from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 24
ID_MAX_LENGTH = 40
# Demo ids such as `bus_demo_northwind` carry underscores after the prefix.
_ID_BODY = re.compile(r"[A-Za-z0-9_]+")

M = TypeVar("M", bound=Model)


def new_id(prefix: str) -> str:
    """A fresh id such as `cus_3kTq…` for the given prefix."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_ID_LENGTH))


@functools.cache
def id_factory(prefix: str) -> Callable[[], str]:
    """The primary-key default `new_{prefix}_id`: a named function, because tortoise's migrations describe and
    import a callable default by its name (a functools.partial has none)."""

    def factory() -> str:
        return new_id(prefix)

    factory.__name__ = factory.__qualname__ = f"new_{prefix}_id"
    factory.prefix = prefix  # type: ignore[attr-defined]
    return factory


def is_well_formed_id(value: object, prefix: str) -> bool:
    """Whether `value` could be an id with this prefix: `{prefix}_` and letters, digits or `_`, at most 40 long."""
    if not isinstance(value, str) or len(value) > ID_MAX_LENGTH or not value.startswith(f"{prefix}_"):
        return False
    return _ID_BODY.fullmatch(value, len(prefix) + 1) is not None


def id_prefix(model: type[Model]) -> str:
    """The prefix of a model's ids, as its primary key's default (`id_factory`) makes them."""
    return str(model._meta.pk.default.prefix)


async def find_by_client_id(rows: type[M] | QuerySet[M], client_id: object) -> M | None:
    """The row with a client's id among `rows` (a model, or a query already narrowed to what the client may
    see); None for an id that does not exist there or could not exist at all."""
    query = rows.all() if isinstance(rows, type) else rows
    if not is_well_formed_id(client_id, id_prefix(query.model)):
        return None
    return await query.get_or_none(id=client_id)


def matching_id(rows: QuerySet[M], column: str, client_id: object, model: type[Model]) -> QuerySet[M]:
    """`rows` narrowed to those whose `column` holds a client's id of `model`; None narrows nothing, and an id that
    could not be one of `model`'s matches nothing (it never reaches the database)."""
    if client_id is None:
        return rows
    if not is_well_formed_id(client_id, id_prefix(model)):
        return rows.filter(pk__in=[])
    return rows.filter(**{column: client_id})


def __getattr__(name: str) -> Callable[[], str]:
    """Resolves `from models.ids import new_cus_id`, as the generated migrations write it."""
    match = re.fullmatch(r"new_([a-z]+)_id", name)
    if match is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return id_factory(match[1])

"""Prefixed random identifiers (`cus_…`, `sub_…`) and the secrets behind tokens.

An id says what it names at a glance and carries enough randomness (~143 bits) that
guessing one is hopeless; nothing about it reveals order or volume.
"""

import functools
import re
import secrets
import string
from collections.abc import Callable

_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 24


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
    return factory


def __getattr__(name: str) -> Callable[[], str]:
    """Resolves `from models.ids import new_cus_id`, as the generated migrations write it."""
    match = re.fullmatch(r"new_([a-z]+)_id", name)
    if match is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return id_factory(match[1])

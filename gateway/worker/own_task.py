"""Each worker pass runs as an asyncio task of its own.

tortoise keeps a task's current transaction in a context variable, and a transaction whose BEGIN fails (the
connection closed by PostgreSQL restarting) leaves it set, on a connection already back in the pool. In the context
of a loop that runs for the life of the process, every later pass would then run inside that dead transaction and
fail for good. A task runs in a copy of the context, so whatever a failed pass leaves there ends with it."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def in_own_task(work: Coroutine[Any, Any, T]) -> T:
    """Await `work` as a task of its own (cancelled with the caller)."""
    return await asyncio.create_task(work)

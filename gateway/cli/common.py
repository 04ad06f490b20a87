"""What several `portal` commands share: the error a user can fix, running a command's work with the database
open, and finding the business a command names."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.context import TortoiseContext

from gateway.settings import Settings
from models import Business
from models.database import tortoise_config
from models.ids import find_by_client_id

T = TypeVar("T")


class CommandError(Exception):
    """A failure the user can fix; its message is printed without a traceback and the exit code is 1."""


def run_with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` in a fresh event loop with the database open."""

    async def connected() -> T:
        # A context of the command's own rather than the process-wide fallback: the command also runs inside a
        # process that has a database open already (the tests call `main` in-process).
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(settings.database_url))
            return await work()

    return asyncio.run(connected())


async def business_of(business_id: str) -> Business:
    """The business a command names by id; a CommandError when there is none."""
    business = await find_by_client_id(Business, business_id)
    if business is None:
        raise CommandError(f"no business {business_id}")
    return business

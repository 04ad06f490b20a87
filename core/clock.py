"""The clock: every "now" of the portal is timezone-aware UTC, read here, so a test or a billing run that moves time
has one place to move it.

A recorded history (the demo's) replays what happened at the moment it happened: inside `frozen_at(moment)` every
"now" of this task is that moment, the ORM's own `created_at`/`updated_at` stamps included. Other tasks keep the
real time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from tortoise import timezone as orm_timezone

_frozen: ContextVar[datetime | None] = ContextVar("frozen_clock", default=None)
_orm_now = orm_timezone.now


def utcnow() -> datetime:
    return _frozen.get() or datetime.now(UTC)


def _orm_clock() -> datetime:
    return _frozen.get() or _orm_now()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Every "now" of this task inside the block is `moment`."""
    token = _frozen.set(moment)
    # tortoise stamps auto_now fields with its own clock, read through this module attribute.
    orm_timezone.now = _orm_clock
    try:
        yield
    finally:
        _frozen.reset(token)

"""The clock: every "now" of the portal is timezone-aware UTC, read here, so a test or a billing run that moves time
has one place to move it."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)

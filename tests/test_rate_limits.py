"""Rate limits: a subject gets its allowance per window, concurrent hits are all counted, windows reset."""

import asyncio
from datetime import UTC, datetime, timedelta

from access.rate_limits import RateLimit, hit
from models import RateLimitBucket

THREE_A_MINUTE = RateLimit("test_three", limit=3, window_seconds=60)
START = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)


async def test_a_subject_is_refused_past_its_limit_until_the_next_window() -> None:
    answers = [await hit(THREE_A_MINUTE, "203.0.113.7", START + timedelta(seconds=i)) for i in range(5)]

    assert answers == [True, True, True, False, False]
    assert await hit(THREE_A_MINUTE, "203.0.113.7", START + timedelta(seconds=60))


async def test_subjects_and_limits_count_separately() -> None:
    other_limit = RateLimit("test_other", limit=1, window_seconds=60)
    for _ in range(3):
        await hit(THREE_A_MINUTE, "203.0.113.7", START)

    assert not await hit(THREE_A_MINUTE, "203.0.113.7", START)
    assert await hit(THREE_A_MINUTE, "198.51.100.1", START)
    assert await hit(other_limit, "203.0.113.7", START)


async def test_concurrent_hits_are_all_counted() -> None:
    answers = await asyncio.gather(*(hit(THREE_A_MINUTE, "203.0.113.7", START) for _ in range(8)))

    assert sorted(answers) == [False] * 5 + [True] * 3


async def test_buckets_store_no_subject_and_old_ones_are_deleted() -> None:
    await hit(THREE_A_MINUTE, "alice@example.com", START)
    await hit(THREE_A_MINUTE, "alice@example.com", START + timedelta(hours=2))

    keys = await RateLimitBucket.all().values_list("key", flat=True)
    assert len(keys) == 1
    assert "alice" not in keys[0]

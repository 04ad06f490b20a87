"""Fixed-window rate limits shared by every process: one RateLimitBucket row counts the hits of one key in one window.

A hit is a single atomic upsert (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`, which SQLite and PostgreSQL both
run), so concurrent web processes never lose a count. Keys hold a SHA-256 of the subject (an email, an address),
never the subject itself. Buckets of windows long past are deleted lazily, when a new bucket is opened.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise import connections

from core.clock import utcnow
from models import RateLimitBucket

# Every window is at most this long, so older buckets can no longer decide anything.
_LONGEST_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` hits per subject in each window of `window_seconds`."""

    name: str
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if not 0 < self.window_seconds <= _LONGEST_WINDOW.total_seconds():
            raise ValueError(f"a rate-limit window lasts between 1 s and {_LONGEST_WINDOW}")


SIGN_IN_PER_EMAIL = RateLimit("sign_in_email", limit=5, window_seconds=900)
SIGN_IN_PER_ADDRESS = RateLimit("sign_in_address", limit=20, window_seconds=900)
LINK_ATTEMPTS_PER_ADDRESS = RateLimit("link_attempt_address", limit=30, window_seconds=900)
# Typing an emailed sign-in code: each code dies after 5 wrong tries, each email has a daily budget of wrong ones
# (access.code_budget), and this bounds the tries of one client address over all emails.
CODE_ATTEMPTS_PER_ADDRESS = RateLimit("code_attempt_address", limit=30, window_seconds=900)
# An email change mails whatever address was typed, maybe a stranger's: a few an hour per signed-in account.
EMAIL_CHANGE_PER_ACCOUNT = RateLimit("email_change_account", limit=5, window_seconds=3600)
# The public license API (no API key): 3 calls a second per key, as Polar allows, counted over 10 s so an app that
# activates and validates at start-up fits; an address (an office behind one NAT) gets twice that.
# Rendering a PDF costs real CPU (a Japanese one about 300 ms): a session gets a generous but bounded number.
PDF_RENDERS_PER_SESSION = RateLimit("pdf_session", limit=30, window_seconds=60)
LICENSE_CALLS_PER_KEY = RateLimit("license_key", limit=30, window_seconds=10)
LICENSE_CALLS_PER_ADDRESS = RateLimit("license_address", limit=60, window_seconds=10)
_HOUR = 3600


@dataclass(frozen=True)
class MerchantEmailLimits:
    """The emails a merchant may have the portal send on demand (a portal link's email) in each hour: to one customer
    email of the business, and from the business in all. The numbers are the deployment's (gateway/settings.py)."""

    per_recipient: int
    per_business: int

    async def refusal(self, business_id: str, recipient: str, now: datetime) -> int | None:
        """Count one email; None while both limits allow it, else the seconds until the refusing windows end."""
        limits = [
            (RateLimit("merchant_email_recipient", self.per_recipient, _HOUR), f"{business_id}:{recipient}"),
            (RateLimit("merchant_email_business", self.per_business, _HOUR), business_id),
        ]
        # Both counters take the hit, so refused requests still count against the business.
        refused = [limit for limit, subject in limits if not await hit(limit, subject, now)]
        return max(retry_after_seconds(limit, now) for limit in refused) if refused else None


def _bucket_key(rate_limit: RateLimit, subject: str) -> str:
    return f"{rate_limit.name}:{hashlib.sha256(subject.encode()).hexdigest()}"


def _window_start(rate_limit: RateLimit, now: datetime) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % rate_limit.window_seconds, UTC)


def retry_after_seconds(rate_limit: RateLimit, now: datetime) -> int:
    """Seconds until the limit's current window ends and a refused subject may try again."""
    return rate_limit.window_seconds - int(now.timestamp()) % rate_limit.window_seconds


async def hit(rate_limit: RateLimit, subject: str, now: datetime | None = None) -> bool:
    """Count one attempt by `subject`; True while its attempts in the current window stay within the limit."""
    now = (now or utcnow()).astimezone(UTC)
    hits = await _count_hit(_bucket_key(rate_limit, subject), _window_start(rate_limit, now), now)
    if hits == 1:
        await RateLimitBucket.filter(window_start__lt=now - _LONGEST_WINDOW).delete()
    return hits <= rate_limit.limit


async def _count_hit(key: str, start: datetime, now: datetime) -> int:
    connection = connections.get("default")
    table = RateLimitBucket._meta.db_table
    marks = ["$1", "$2", "$3"] if connection.capabilities.dialect == "postgres" else ["?", "?", "?"]
    query = (
        f'INSERT INTO "{table}" ("key", "window_start", "hits", "created_at") VALUES ({marks[0]}, {marks[1]}, 1, '
        f'{marks[2]}) ON CONFLICT ("key", "window_start") DO UPDATE SET "hits" = "{table}"."hits" + 1 RETURNING "hits"'
    )
    rows = await connection.execute_query_dict(query, [key, start, now])
    return int(rows[0]["hits"])

"""Merchant API keys: one business in one mode per key, shown once, stored only as a SHA-256 hash.

A key reads `sk_test_…` or `sk_live_…` so its mode shows at a glance and secret scanners recognise it; the first
characters stay visible as `prefix` so a merchant can tell keys apart. Uses core.tokens to make and hash secrets.
"""

from datetime import datetime, timedelta

from core.clock import utcnow
from core.tokens import hash_token, new_token
from models import ApiKey, Business
from models.ids import find_by_client_id

TEST_KEY_PREFIX = "sk_test_"
LIVE_KEY_PREFIX = "sk_live_"

_SHOWN_CHARACTERS = 12
# Writing last_used_at on every call would turn each API read into a write; a minute's precision is plenty.
_TOUCH_AFTER = timedelta(seconds=60)


def key_prefix(livemode: bool) -> str:
    return LIVE_KEY_PREFIX if livemode else TEST_KEY_PREFIX


async def create_api_key(business: Business, livemode: bool, name: str = "") -> tuple[str, ApiKey]:
    """A new key and its row; the secret is returned this once and never again."""
    secret, secret_hash = new_token(key_prefix(livemode))
    api_key = await ApiKey.create(
        business=business,
        livemode=livemode,
        name=name,
        secret_hash=secret_hash,
        prefix=secret[:_SHOWN_CHARACTERS],
    )
    return secret, api_key


async def list_api_keys(business: Business) -> list[ApiKey]:
    """The business's keys in both modes, newest first, revoked ones included."""
    return await ApiKey.filter(business=business).order_by("-created_at", "-id")


async def revoke_api_key(key_id: str, now: datetime | None = None) -> ApiKey | None:
    """Revoke a key for good (revoking twice keeps the first time), and with it the tokens, magic links and sessions
    it made, which every lookup checks against the key; None when no key has that id."""
    api_key = await find_by_client_id(ApiKey, key_id)
    if api_key is not None and api_key.revoked_at is None:
        api_key.revoked_at = now or utcnow()
        await api_key.save(update_fields=["revoked_at"])
    return api_key


async def authenticate_api_key(secret: str, now: datetime | None = None) -> ApiKey | None:
    """The unrevoked key a presented secret names, with its business loaded; None for anything else.

    Looking the secret up by its hash leaks nothing through timing: no stored secret is compared byte by byte.
    """
    if not secret.startswith((TEST_KEY_PREFIX, LIVE_KEY_PREFIX)):
        return None
    api_key = await ApiKey.get_or_none(secret_hash=hash_token(secret), revoked_at__isnull=True).select_related(
        "business"
    )
    if api_key is None or not secret.startswith(key_prefix(api_key.livemode)):
        return None
    now = now or utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at >= _TOUCH_AFTER:
        api_key.last_used_at = now
        await api_key.save(update_fields=["last_used_at"])
    return api_key

"""Merchant API keys: shown once, stored hashed, recognisable by mode, useless once revoked."""

import hashlib
from datetime import UTC, datetime, timedelta

from merchants.api_keys import authenticate_api_key, create_api_key, list_api_keys, revoke_api_key
from models import ApiKey, Business

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def make_business(name: str = "Acme") -> Business:
    return await Business.create(name=name, support_email="help@acme.example")


async def test_a_new_key_is_shown_once_and_only_its_hash_is_kept() -> None:
    business = await make_business()

    test_secret, test_key = await create_api_key(business, livemode=False, name="CI")
    live_secret, live_key = await create_api_key(business, livemode=True)

    assert test_secret.startswith("sk_test_") and live_secret.startswith("sk_live_")
    assert len(test_secret) - len("sk_test_") >= 43  # 256 bits in URL-safe base64
    stored = await ApiKey.get(id=test_key.id)
    assert stored.secret_hash == hashlib.sha256(test_secret.encode()).hexdigest()
    assert test_secret not in {stored.secret_hash, stored.prefix}
    assert stored.prefix == test_secret[:12] and stored.name == "CI"
    assert (live_key.livemode, test_key.livemode) == (True, False)


async def test_a_key_authenticates_as_its_business_and_mode() -> None:
    business = await make_business()
    secret, api_key = await create_api_key(business, livemode=False)

    found = await authenticate_api_key(secret)

    assert found.id == api_key.id and found.business.name == "Acme" and found.livemode is False


async def test_unknown_malformed_and_revoked_keys_authenticate_nothing() -> None:
    secret, api_key = await create_api_key(await make_business(), livemode=True)
    assert await authenticate_api_key("sk_live_" + "A" * 43) is None
    assert await authenticate_api_key("sk_test_" + secret.removeprefix("sk_live_")) is None
    assert await authenticate_api_key("") is None

    await revoke_api_key(api_key.id)

    assert await authenticate_api_key(secret) is None


async def test_revoking_is_permanent_and_unknown_ids_are_reported() -> None:
    _, api_key = await create_api_key(await make_business(), livemode=True)

    first = await revoke_api_key(api_key.id, now=NOW)
    again = await revoke_api_key(api_key.id, now=NOW + timedelta(days=1))

    assert first.revoked_at == again.revoked_at == NOW
    assert await revoke_api_key("key_missing") is None


async def test_listing_shows_both_modes_newest_first_with_revoked_keys() -> None:
    business = await make_business()
    _, old = await create_api_key(business, livemode=True, name="old")
    _, new = await create_api_key(business, livemode=False, name="new")
    await create_api_key(await make_business("Globex"), livemode=True)
    await revoke_api_key(old.id)

    keys = await list_api_keys(business)

    assert [(key.name, key.revoked_at is not None) for key in keys] == [("new", False), ("old", True)]


async def test_last_use_is_recorded_at_most_once_a_minute() -> None:
    secret, api_key = await create_api_key(await make_business(), livemode=True)

    await authenticate_api_key(secret, now=NOW)
    await authenticate_api_key(secret, now=NOW + timedelta(seconds=30))
    assert (await ApiKey.get(id=api_key.id)).last_used_at == NOW

    await authenticate_api_key(secret, now=NOW + timedelta(seconds=61))
    assert (await ApiKey.get(id=api_key.id)).last_used_at == NOW + timedelta(seconds=61)

"""Portal sessions end after an idle hour and after their absolute lifetime, and tokens are stored only hashed."""

from datetime import timedelta

from access.access_tokens import mint_access_token
from access.sessions import SessionPolicy, open_session, viewer_for_token
from core.clock import utcnow
from core.tokens import SESSION_PREFIX, hash_token
from gateway.http.request_auth import SESSION_COOKIE
from merchants.api_keys import create_api_key
from models import Business, PortalSession
from models.enums import Scope
from tests.support import factories

POLICY = SessionPolicy(idle_seconds=3600, max_seconds=86400)


async def open_for_ada(now):
    owned = await factories.customer_with_history(await factories.business("Northwind"), "ada@example.com")
    return await open_session(
        scope=Scope.BUSINESS, livemode=True, email="ada@example.com", customer=owned.customer, policy=POLICY, now=now
    )


async def test_a_session_dies_after_an_idle_hour():
    start = utcnow()
    token, _ = await open_for_ada(start)
    assert await viewer_for_token(token, POLICY, start + timedelta(minutes=59)) is not None
    assert await viewer_for_token(token, POLICY, start + timedelta(minutes=59 + 61)) is None


async def test_activity_keeps_a_session_alive_until_its_absolute_lifetime():
    start = utcnow()
    token, _ = await open_for_ada(start)
    for minutes in range(50, 24 * 60, 50):
        assert await viewer_for_token(token, POLICY, start + timedelta(minutes=minutes)) is not None
    assert await viewer_for_token(token, POLICY, start + timedelta(hours=24, minutes=1)) is None


async def test_only_a_hash_of_the_token_is_stored():
    token, session = await open_for_ada(utcnow())
    assert token.startswith(SESSION_PREFIX) and len(token) >= len(SESSION_PREFIX) + 43  # 256 bits in base64
    stored = await PortalSession.get(id=session.id)
    assert stored.token_hash == hash_token(token)
    assert token not in str(await PortalSession.filter(id=session.id).values())


async def test_a_client_ends_its_own_bearer_session_and_ending_it_again_is_harmless(client):
    token, session = await open_for_ada(utcnow())
    _, api_key = await create_api_key(await Business.get(id=session.business_id), livemode=True)
    minted = await mint_access_token(
        api_key=api_key, customer_id=session.customer_id, expires_in_seconds=None, default_seconds=3600
    )

    for bearer in (token, minted.access_token):
        ended = await client.post("/auth/logout", headers={"Authorization": f"Bearer {bearer}"})
        again = await client.post("/auth/logout", headers={"Authorization": f"Bearer {bearer}"})

        assert (ended.status_code, again.status_code) == (204, 204)
        assert await viewer_for_token(bearer, POLICY) is None
    unknown = await client.post("/auth/logout", headers={"Authorization": "Bearer cps_unknown"})
    assert unknown.status_code == 204


async def test_the_api_logout_takes_no_cookie_for_a_bearer_token(client):
    token, _ = await open_for_ada(utcnow())
    client.cookies.set(SESSION_COOKIE, token)

    refused = await client.post("/auth/logout")

    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHENTICATED"
    assert await viewer_for_token(token, POLICY, from_cookie=True) is not None


async def test_the_pages_logout_ends_a_bearer_session_too(client):
    token, _ = await open_for_ada(utcnow())

    ended = await client.post("/logout", headers={"Authorization": f"Bearer {token}"})

    assert ended.status_code == 204
    assert await viewer_for_token(token, POLICY) is None

"""Portal sessions end after an idle hour and after their absolute lifetime, and tokens are stored only hashed."""

from datetime import timedelta

from access.sessions import SessionPolicy, open_session, utcnow, viewer_for_token
from access.tokens import SESSION_PREFIX, hash_token
from models import PortalSession
from models.enums import Scope
from tests import factories

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

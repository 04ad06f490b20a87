"""Portal sessions: opening one, turning a presented token into a Viewer, and ending one.

A session dies after an idle period and after an absolute lifetime, whichever comes first; the limits come from
the caller (gateway settings) as a SessionPolicy. A session a merchant minted for a GraphQL client
(access.access_tokens) is a Bearer credential only: it never opens anything presented as a browser cookie, where the
pages' forms would trust it, and it lives until the expiry its merchant was told, used or idle. A session that rests
on an API key (minted with it, or opened by a magic link made with it) dies when the key is revoked: every lookup
reads the key, so no session outlives its key's revocation, however the two race.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from access.viewer import Viewer, customers_in_scope
from core.clock import utcnow
from core.tokens import SESSION_PREFIX, hash_token, new_token
from models import ApiKey, Customer, LoginToken, PortalSession, normalize_email
from models.enums import Scope

# Writing last_seen_at on every request would make each read a write; a minute's slack costs nothing.
_TOUCH_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle_seconds: int = 3600
    max_seconds: int = 86400


async def open_session(
    *,
    scope: Scope,
    livemode: bool,
    email: str,
    customer: Customer | None = None,
    policy: SessionPolicy,
    return_url: str = "",
    locale: str = "",
    configuration_id: str | None = None,
    minted_by: ApiKey | None = None,
    link: LoginToken | None = None,
    flow: dict | None = None,
    now: datetime | None = None,
) -> tuple[str, PortalSession]:
    """Open a session and return its token (shown once) with the stored row."""
    now = now or utcnow()
    token, token_hash = new_token(SESSION_PREFIX)
    session = await PortalSession.create(
        token_hash=token_hash,
        scope=scope,
        livemode=livemode,
        email=normalize_email(email),
        business_id=customer.business_id if customer else None,
        customer=customer,
        configuration_id=configuration_id,
        flow=flow,
        return_url=return_url,
        locale=locale,
        minted_by=minted_by,
        link=link,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=policy.max_seconds),
    )
    return token, session


async def live_session(
    token: str, policy: SessionPolicy, now: datetime | None = None, *, from_cookie: bool = False
) -> PortalSession | None:
    """The session a token names, if it is neither revoked, idle too long, past its lifetime nor resting on a revoked
    API key (and, presented as a cookie, not a minted one)."""
    if not token.startswith(SESSION_PREFIX):
        return None
    now = now or utcnow()
    session = await PortalSession.get_or_none(token_hash=hash_token(token), revoked_at__isnull=True).select_related(
        "minted_by", "link__minted_by"
    )
    if session is None or session.expires_at <= now:
        return None
    if revoked_key(session.minted_by) or (session.link is not None and revoked_key(session.link.minted_by)):
        return None
    minted = session.minted_by_id is not None
    if from_cookie and minted:
        return None
    if not minted and session.last_seen_at + timedelta(seconds=policy.idle_seconds) <= now:
        return None
    if now - session.last_seen_at >= _TOUCH_AFTER:
        session.last_seen_at = now
        await session.save(update_fields=["last_seen_at"])
    return session


async def viewer_for_token(
    token: str, policy: SessionPolicy, now: datetime | None = None, *, from_cookie: bool = False
) -> Viewer | None:
    """The Viewer of a presented session token, or None when the token opens nothing."""
    session = await live_session(token, policy, now, from_cookie=from_cookie)
    if session is None:
        return None
    return Viewer(session=session, customers=await customers_in_scope(session))


def revoked_key(api_key: ApiKey | None) -> bool:
    """Whether the API key a token or a link was made with is revoked: revoking a key ends all it made."""
    return api_key is not None and api_key.revoked_at is not None


async def revoke_session(session: PortalSession, now: datetime | None = None) -> None:
    session.revoked_at = now or utcnow()
    await session.save(update_fields=["revoked_at"])


async def end_session(token: str, now: datetime | None = None) -> None:
    """End the session a presented token names (its holder signing out); a token of an ended session, or of none,
    changes nothing, so signing out twice is harmless."""
    if token.startswith(SESSION_PREFIX):
        ended = now or utcnow()
        await PortalSession.filter(token_hash=hash_token(token), revoked_at__isnull=True).update(revoked_at=ended)


async def remember_locale(session: PortalSession, locale: str) -> None:
    """Keep the language the customer picked for the rest of the session."""
    if locale and locale != session.locale:
        session.locale = locale
        await session.save(update_fields=["locale"])

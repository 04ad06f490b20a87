"""Access tokens a merchant mints so a GraphQL client (its own app, a third-party tool) can act for one customer
without a browser: a BUSINESS-scope portal session opened by an API key (`PortalSession.minted_by`), shown once,
listed and revocable by its id (the session's) with any key of the same business and mode.

A minted token is a Bearer credential only and lives until the expiry its merchant was told, or until it or the key
that minted it is revoked (access.sessions says how all of it is enforced). A customer or token of another business
or mode answers exactly like one that does not exist.

Uses access.sessions (the session behind a token).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise.queryset import QuerySet

from access.sessions import SessionPolicy, open_session, revoke_session
from core.clock import utcnow
from core.errors import DomainError
from models import ApiKey, Customer, PortalSession
from models.enums import Scope
from models.ids import find_by_client_id, matching_id

MIN_SECONDS = 60
MAX_SECONDS = 86400


class AccessTokenErrorCode(StrEnum):
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    INVALID_EXPIRES_IN_SECONDS = "INVALID_EXPIRES_IN_SECONDS"
    TOKEN_NOT_FOUND = "TOKEN_NOT_FOUND"


class AccessTokenError(DomainError[AccessTokenErrorCode]):
    """A mint or revoke request that cannot be honoured, naming the offending input (snake_case)."""

    def __init__(self, code: AccessTokenErrorCode, field: str, message: str) -> None:
        super().__init__(code, field, message)


@dataclass(frozen=True)
class MintedToken:
    """A fresh token (shown once) and the session it opens."""

    access_token: str
    session: PortalSession


@dataclass(frozen=True)
class LiveTokens:
    """The tokens still alive (newest first, for paging) and the prefix of the key that minted each, by key id."""

    sessions: QuerySet[PortalSession]
    key_prefixes: dict[str, str]


def checked_lifetime(expires_in_seconds: object, default_seconds: int) -> int:
    """The token's lifetime in seconds: the requested one (a whole number in bounds), else the deployment's."""
    if expires_in_seconds is None:
        return default_seconds
    # bool is an int to Python, never to a caller.
    if (
        isinstance(expires_in_seconds, bool)
        or not isinstance(expires_in_seconds, int)
        or not MIN_SECONDS <= expires_in_seconds <= MAX_SECONDS
    ):
        raise AccessTokenError(
            AccessTokenErrorCode.INVALID_EXPIRES_IN_SECONDS,
            "expires_in_seconds",
            f"expires_in_seconds must be a whole number from {MIN_SECONDS} to {MAX_SECONDS}",
        )
    return expires_in_seconds


async def mint_access_token(
    *,
    api_key: ApiKey,
    customer_id: object,
    expires_in_seconds: object,
    default_seconds: int,
    now: datetime | None = None,
) -> MintedToken:
    """A Bearer token into the key's customer's business portal; raises AccessTokenError."""
    seconds = checked_lifetime(expires_in_seconds, default_seconds)
    customers = Customer.filter(business_id=api_key.business_id, livemode=api_key.livemode)
    customer = await find_by_client_id(customers, customer_id)
    if customer is None:
        raise AccessTokenError(AccessTokenErrorCode.CUSTOMER_NOT_FOUND, "customer_id", "No such customer")
    token, session = await open_session(
        scope=Scope.BUSINESS,
        livemode=customer.livemode,
        email=customer.email,
        customer=customer,
        policy=SessionPolicy(idle_seconds=seconds, max_seconds=seconds),
        locale=customer.locale,
        minted_by=api_key,
        now=now,
    )
    return MintedToken(access_token=token, session=session)


async def revoke_access_token(
    *, api_key: ApiKey, token_id: object, customer_id: str | None = None, now: datetime | None = None
) -> PortalSession:
    """End a token minted in the key's business and mode (of that customer, when given); revoking twice is
    harmless and keeps the first time. Raises AccessTokenError."""
    minted = PortalSession.filter(
        business_id=api_key.business_id, livemode=api_key.livemode, minted_by_id__isnull=False
    ).select_related("minted_by")
    if customer_id is not None:
        minted = minted.filter(customer_id=customer_id)
    session = await find_by_client_id(minted, token_id)
    if session is None:
        raise AccessTokenError(AccessTokenErrorCode.TOKEN_NOT_FOUND, "token_id", "No such access token")
    if session.revoked_at is None:
        await revoke_session(session, now)
    return session


async def live_access_tokens(*, api_key: ApiKey, customer_id: object = None, now: datetime | None = None) -> LiveTokens:
    """The tokens minted in the key's business and mode (with any of its keys) that still open a portal: neither
    expired nor revoked, nor minted with a revoked key; of one customer when `customer_id` is given (an id outside
    the business and mode, or malformed, finds none)."""
    keys = await ApiKey.filter(business_id=api_key.business_id, livemode=api_key.livemode, revoked_at__isnull=True)
    sessions = PortalSession.filter(
        business_id=api_key.business_id,
        livemode=api_key.livemode,
        minted_by_id__in=[key.id for key in keys],
        revoked_at__isnull=True,
        expires_at__gt=now or utcnow(),
    )
    return LiveTokens(
        sessions=matching_id(sessions, "customer_id", customer_id, Customer),
        key_prefixes={key.id: key.prefix for key in keys},
    )

"""Email-code sign-in for native apps and scripts: a 6-digit code emailed on request, exchanged once for a Bearer
token (a portal session like the one a sign-in link opens).

Whom a code may be sent to, the shared allowance of sign-in emails and the session a code opens are the sign-in
link's own rules (access.login_links), so the two ways in never disagree. Requesting a code answers nothing, so a
caller cannot tell a known email from an unknown one.

A code is stored as HMAC-SHA256 under a key derived from the deployment's secret key, over the mode, business,
email and code. A plain or salted hash would not do: with only 10^6 codes, anyone holding a leaked table would
recover every code by trying them all; without the secret key, which is not in the database, they cannot. A code
works once, for 15 minutes and 5 wrong tries, and a newer code for the same email, business and mode voids the
older ones. Every refusal of a code looks the same to the caller. The tries are bounded per client address
(access.rate_limits) and per email over every business and the unified portal (access.code_budget): while the
email's budget is spent, its code sign-in is paused, and no code is sent either.

Uses access.login_links, access.rate_limits, access.code_budget, core.email_outbox and access.sessions.
"""

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from access import code_budget, rate_limits
from access.login_links import open_sign_in_session, sign_in_request_allowed, sign_in_target
from access.sessions import SessionPolicy
from core.clock import utcnow
from core.email_outbox import branding_context, enqueue_email, seal, sender_name
from core.tokens import same_secret
from models import Business, EmailCode, PortalSession, normalize_email
from models.ids import find_by_client_id

EMAIL_CODE_TEMPLATE = "email_code"
CODE_SECONDS = 15 * 60
MAX_ATTEMPTS = 5
_CODE_SPACE = 10**6


class EmailCodeRefused(Exception):
    """The code opens nothing; `retry_after` (seconds) is set when the rate limits, not the code, refused."""

    def __init__(self, retry_after: int | None = None) -> None:
        super().__init__("code refused")
        self.retry_after = retry_after


def code_hash(code: str, *, email: str, business_id: str | None, livemode: bool, secret_key: str) -> str:
    """What is stored of a code: bound to its email, business and mode, keyed by the deployment's secret."""
    key = hmac.new(secret_key.encode(), b"email-code", hashlib.sha256).digest()
    message = "\0".join(("live" if livemode else "test", business_id or "", email, code))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


async def request_email_code(
    *,
    email: str,
    business_id: str | None,
    livemode: bool,
    locale: str,
    client_ip: str,
    secret_key: str,
    portal_name: str,
    now: datetime | None = None,
) -> None:
    """Email a code if the email belongs to a customer (of the business, or of any business without one); past
    the rate limits, while the email's code sign-in is paused, for an unknown business or an unknown email, nothing
    happens and nothing says so."""
    now = now or utcnow()
    email = normalize_email(email)
    if await code_budget.paused_until(email, livemode, now) is not None:
        return
    business = await find_by_client_id(Business, business_id) if business_id is not None else None
    if business_id is not None and business is None:
        return
    if not await sign_in_request_allowed(email, business, client_ip, now):
        return
    if await sign_in_target(email, business, livemode) is None:
        return
    code = f"{secrets.randbelow(_CODE_SPACE):06d}"
    async with in_transaction():
        await _live_codes(email, business_id, livemode, now).update(expires_at=now)
        await EmailCode.create(
            code_hash=code_hash(code, email=email, business_id=business_id, livemode=livemode, secret_key=secret_key),
            livemode=livemode,
            email=email,
            business=business,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
        await enqueue_email(
            to_email=email,
            template=EMAIL_CODE_TEMPLATE,
            context={**branding_context(business, portal_name, livemode), "expires_minutes": CODE_SECONDS // 60},
            sealed_context=seal({"code": code}, secret_key),
            locale=locale,
            business=business,
            livemode=livemode,
            from_name=sender_name(business, portal_name),
            reply_to=business.support_email if business else "",
            now=now,
        )


async def exchange_email_code(
    *,
    email: str,
    business_id: str | None,
    code: str,
    livemode: bool,
    client_ip: str,
    secret_key: str,
    policy: SessionPolicy,
    portal_name: str,
    now: datetime | None = None,
) -> tuple[str, PortalSession]:
    """Burn the code and open its session (token shown once); raises EmailCodeRefused. Every try counts against
    the client address's limit, every refusal against the email's budget, and a wrong code against the code's 5
    tries."""
    now = now or utcnow()
    email = normalize_email(email)
    limit = rate_limits.CODE_ATTEMPTS_PER_ADDRESS
    if not await rate_limits.hit(limit, client_ip, now):
        raise EmailCodeRefused(retry_after=rate_limits.retry_after_seconds(limit, now))
    resume_at = await code_budget.take_try(email, livemode, now)
    if resume_at is not None:
        raise EmailCodeRefused(retry_after=math.ceil((resume_at - now).total_seconds()))
    try:
        opened = await _open_with_code(email, business_id, code, livemode, secret_key, policy, now)
    except EmailCodeRefused:
        await code_budget.keep_try(email, livemode, portal_name=portal_name, now=now)
        raise
    await code_budget.give_back_try(email, livemode)
    return opened


async def _open_with_code(
    email: str,
    business_id: str | None,
    code: str,
    livemode: bool,
    secret_key: str,
    policy: SessionPolicy,
    now: datetime,
) -> tuple[str, PortalSession]:
    """The session a right code opens; raises EmailCodeRefused for anything else."""
    business = await find_by_client_id(Business, business_id) if business_id is not None else None
    if business_id is not None and business is None:
        raise EmailCodeRefused
    stored = await _live_codes(email, business_id, livemode, now).order_by("-created_at", "-id").first()
    if stored is None:
        raise EmailCodeRefused
    given = code_hash(code.strip(), email=email, business_id=business_id, livemode=livemode, secret_key=secret_key)
    if not same_secret(given, stored.code_hash):
        await EmailCode.filter(id=stored.id).update(attempts=F("attempts") + 1)
        raise EmailCodeRefused
    async with in_transaction():
        # Conditional, so of two concurrent right answers (or a right one racing a fifth wrong one) one at most wins.
        burned = await _live_codes(email, business_id, livemode, now).filter(id=stored.id).update(used_at=now)
        target = await sign_in_target(email, business, livemode) if burned else None
        if target is None:
            raise EmailCodeRefused
        return await open_sign_in_session(
            target=target, email=email, livemode=livemode, locale="", policy=policy, now=now
        )


def _live_codes(email: str, business_id: str | None, livemode: bool, now: datetime) -> QuerySet[EmailCode]:
    """The codes for this email, business and mode that could still open a session."""
    return EmailCode.filter(
        email=email,
        business_id=business_id,
        livemode=livemode,
        used_at__isnull=True,
        expires_at__gt=now,
        attempts__lt=MAX_ATTEMPTS,
    )

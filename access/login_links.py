"""One-time links that open a portal session: sign-in links a customer asks for by email, and magic links a
merchant creates (REST API, merchant GraphQL, CLI).

Only the SHA-256 of a link's token is stored. Opening a link never burns it, because mail scanners prefetch links:
`peek_link` only reads, for the confirm step, and `consume_link` burns the token with one conditional UPDATE whose
affected-row count decides, so of two concurrent attempts exactly one opens a session. A link belongs to one mode:
a test link only ever opens test data. A magic link made with an API key answers as expired once the key is
revoked, and the session it opened dies with the key (access.sessions).

Uses access.rate_limits (sign-in requests and link attempts), core.email_outbox (the link's email, queued in
the transaction that creates the link), access.sessions (the session a link opens) and merchants.custom_domains
(a link into a business's portal opens on its custom domain, if it has one). Whom a sign-in may reach, the allowance
of sign-in emails and the session a sign-in opens (`sign_in_target`, `sign_in_request_allowed`,
`open_sign_in_session`) are also the rules of the email-code sign-in (access.email_codes).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from access import rate_limits
from access.sessions import SessionPolicy, open_session, revoked_key
from core import inputs
from core.clock import utcnow
from core.email_outbox import branding_context, enqueue_email, seal, sender_name
from core.errors import DomainError
from core.tokens import LINK_PREFIX, hash_token, new_token
from merchants.custom_domains import portal_url_for
from models import (
    ApiKey,
    Business,
    Customer,
    EmailChangeToken,
    LoginToken,
    PortalConfiguration,
    PortalSession,
    Subscription,
    normalize_email,
)
from models.base import column_values
from models.enums import LoginTokenKind, Scope, SubscriptionStatus
from models.ids import find_by_client_id

SIGN_IN_TEMPLATE = "sign_in"
MAGIC_LINK_TEMPLATE = "magic_link"

_LOCALE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")


class LinkProblem(StrEnum):
    EXPIRED = "expired"
    USED = "used"
    UNKNOWN = "unknown"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class LinkState:
    """What a link would do if confirmed now; `business` and `livemode` let an expired link's page keep the brand."""

    problem: LinkProblem | None
    kind: LoginTokenKind | None = None
    business: Business | None = None
    livemode: bool = False
    locale: str = ""

    @property
    def valid(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class ConsumeResult:
    """Either a fresh session with its token (shown once), or why the link opened nothing."""

    session_token: str | None = None
    session: PortalSession | None = None
    problem: LinkProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class PortalLinkErrorCode(StrEnum):
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    INVALID_RETURN_URL = "INVALID_RETURN_URL"
    INVALID_LOCALE = "INVALID_LOCALE"
    CONFIGURATION_NOT_FOUND = "CONFIGURATION_NOT_FOUND"
    # A deep-link flow's (access.deep_links) refusals.
    INVALID_FLOW = "INVALID_FLOW"
    SUBSCRIPTION_NOT_FOUND = "SUBSCRIPTION_NOT_FOUND"
    FLOW_NOT_AVAILABLE = "FLOW_NOT_AVAILABLE"
    PRODUCT_NOT_AVAILABLE = "PRODUCT_NOT_AVAILABLE"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_CUSTOM_MESSAGE = "INVALID_CUSTOM_MESSAGE"
    # Past the limits on emails a merchant may have sent (rate_limits.MerchantEmailLimits).
    RATE_LIMITED = "RATE_LIMITED"


class PortalLinkError(DomainError[PortalLinkErrorCode]):
    """A merchant's portal-link request that cannot be honoured, naming the offending input; `retry_after`
    (seconds) when a rate limit refused it."""

    def __init__(self, code: PortalLinkErrorCode, field: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(code, field, message)
        self.retry_after = retry_after


def checked_return_url(url: str) -> str:
    """The URL if it is absolute http(s) without credentials; empty means the business's default."""
    if not url:
        return ""
    if not inputs.URL.allows(url):
        raise PortalLinkError(
            PortalLinkErrorCode.INVALID_RETURN_URL, "return_url", f"return_url: {inputs.URL.message()}"
        )
    invalid = PortalLinkError(
        PortalLinkErrorCode.INVALID_RETURN_URL, "return_url", "return_url must be an absolute http(s) URL"
    )
    if any(char.isspace() or not char.isprintable() for char in url):
        raise invalid
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- reading it validates the port
    except ValueError:
        raise invalid from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        raise invalid
    return url


def checked_locale(locale: str) -> str:
    """A language tag such as `de` or `pt-BR`, or empty for the customer's own language."""
    if locale and (not inputs.LOCALE.allows(locale) or not _LOCALE.fullmatch(locale)):
        raise PortalLinkError(PortalLinkErrorCode.INVALID_LOCALE, "locale", "locale must be a language tag like pt-BR")
    return locale


async def customer_of_business(*, business_id: str, livemode: bool, customer_id: str) -> Customer:
    """The business's customer in that mode; any other id, existing or not, is simply not found."""
    customer = await find_by_client_id(Customer.filter(business_id=business_id, livemode=livemode), customer_id)
    if customer is None:
        raise PortalLinkError(PortalLinkErrorCode.CUSTOMER_NOT_FOUND, "customer_id", "No such customer")
    return customer


async def request_sign_in(
    *,
    email: str,
    business: Business | None,
    livemode: bool,
    locale: str,
    client_ip: str,
    base_url: str,
    link_seconds: int,
    portal_name: str,
    secret_key: str,
    now: datetime | None = None,
) -> None:
    """Email a sign-in link if the email belongs to a customer (of `business`, or of any business when None).

    Answers nothing either way, so the caller's page cannot tell a known email from an unknown one; past the
    rate limits nothing is sent.
    """
    now = now or utcnow()
    email = normalize_email(email)
    if not await sign_in_request_allowed(email, business, client_ip, now):
        return
    target = await sign_in_target(email, business, livemode)
    if target is None:
        return
    expires_at = now + timedelta(seconds=link_seconds)
    if business is not None:
        base_url = await portal_url_for(business, base_url)
    async with in_transaction():
        link = await _issue_link(
            kind=LoginTokenKind.SIGN_IN,
            livemode=livemode,
            email=email,
            customer=target.customer,
            base_url=base_url,
            expires_at=expires_at,
            locale=locale,
        )
        await _enqueue_link_email(
            template=SIGN_IN_TEMPLATE,
            link=link,
            expires_at=expires_at,
            to_email=email,
            business=business,
            livemode=livemode,
            locale=locale,
            portal_name=portal_name,
            link_seconds=link_seconds,
            secret_key=secret_key,
        )


async def create_magic_link(
    *,
    customer: Customer,
    base_url: str,
    link_seconds: int,
    portal_name: str,
    secret_key: str,
    return_url: str = "",
    locale: str = "",
    configuration_id: str | None = None,
    flow: dict | None = None,
    send_email: bool = False,
    minted_by: ApiKey | None = None,
    email_limits: rate_limits.MerchantEmailLimits | None = None,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A one-time link into the customer's business portal, and when it expires; raises PortalLinkError.
    `flow` is a deep link's task as JSON, checked by access.deep_links (which merchants' links go through);
    `minted_by` is the API key of the merchant's request, whose revocation ends the link. With `send_email`, the
    link is emailed too, within `email_limits` when given; past them nothing is written."""
    now = now or utcnow()
    return_url = checked_return_url(return_url)
    locale = checked_locale(locale)
    configurations = PortalConfiguration.filter(business_id=customer.business_id, livemode=customer.livemode)
    if configuration_id is not None and await find_by_client_id(configurations, configuration_id) is None:
        raise PortalLinkError(
            PortalLinkErrorCode.CONFIGURATION_NOT_FOUND, "configuration_id", "No such portal configuration"
        )
    if send_email and email_limits is not None:
        await _check_email_allowance(email_limits, customer, now)
    expires_at = now + timedelta(seconds=link_seconds)
    business = await Business.get(id=customer.business_id)
    async with in_transaction():
        link = await _issue_link(
            kind=LoginTokenKind.MAGIC_LINK,
            livemode=customer.livemode,
            email=customer.email,
            customer=customer,
            base_url=await portal_url_for(business, base_url),
            expires_at=expires_at,
            return_url=return_url,
            locale=locale,
            configuration_id=configuration_id,
            flow=flow,
            minted_by=minted_by,
        )
        if send_email:
            await _enqueue_link_email(
                template=MAGIC_LINK_TEMPLATE,
                link=link,
                expires_at=expires_at,
                to_email=customer.email,
                business=business,
                livemode=customer.livemode,
                locale=locale or customer.locale,
                portal_name=portal_name,
                link_seconds=link_seconds,
                secret_key=secret_key,
            )
    return link, expires_at


async def _check_email_allowance(limits: rate_limits.MerchantEmailLimits, customer: Customer, now: datetime) -> None:
    retry_after = await limits.refusal(customer.business_id, customer.email, now)
    if retry_after is not None:
        message = (
            f"Too many emails to this customer, or from this business, in this hour. Try again in {retry_after} s."
        )
        raise PortalLinkError(PortalLinkErrorCode.RATE_LIMITED, "send_email", message, retry_after=retry_after)


async def peek_link(token: str, now: datetime | None = None) -> LinkState:
    """What confirming the link would do; never consumes it."""
    link = await _find_link(hash_token(token)) if token.startswith(LINK_PREFIX) else None
    if link is None:
        return LinkState(problem=LinkProblem.UNKNOWN)
    return LinkState(
        problem=_problem(link, now or utcnow()),
        kind=link.kind,
        business=link.business,
        livemode=link.livemode,
        locale=link.locale,
    )


async def consume_link(
    token: str, *, client_ip: str, policy: SessionPolicy, now: datetime | None = None
) -> ConsumeResult:
    """Burn the link and open its session; every attempt counts against the client address's rate limit."""
    now = now or utcnow()
    if not await rate_limits.hit(rate_limits.LINK_ATTEMPTS_PER_ADDRESS, client_ip, now):
        return ConsumeResult(problem=LinkProblem.RATE_LIMITED)
    if not token.startswith(LINK_PREFIX):
        return ConsumeResult(problem=LinkProblem.UNKNOWN)
    token_hash = hash_token(token)
    async with in_transaction():
        burned = await LoginToken.filter(token_hash=token_hash, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now
        )
        link = await _find_link(token_hash)
        if link is None:
            return ConsumeResult(problem=LinkProblem.UNKNOWN)
        if not burned:
            # A link that looks valid yet was not burned lost the race to a concurrent attempt.
            return ConsumeResult(problem=link_problem(link, now) or LinkProblem.USED)
        if revoked_key(link.minted_by):
            return ConsumeResult(problem=LinkProblem.EXPIRED)
        session_token, session = await _open_link_session(link, policy, now)
    return ConsumeResult(session_token=session_token, session=session)


async def sign_in_request_allowed(email: str, business: Business | None, client_ip: str, now: datetime) -> bool:
    """Count a request to email a way in (a link or a code: they share the allowance) against both limits."""
    # Both counters take the hit, so a blocked address cannot spare an email's allowance or the reverse.
    by_address = await rate_limits.hit(rate_limits.SIGN_IN_PER_ADDRESS, client_ip, now)
    by_email = await rate_limits.hit(rate_limits.SIGN_IN_PER_EMAIL, f"{business.id if business else ''}:{email}", now)
    return by_address and by_email


@dataclass(frozen=True)
class SignInTarget:
    """What a sign-in for an email opens: that customer's business portal, or the unified portal when None."""

    customer: Customer | None


async def sign_in_target(email: str, business: Business | None, livemode: bool) -> SignInTarget | None:
    """Whom a sign-in by `email` (normalised) opens: a customer of `business`, or, without one, the unified portal
    of every record with the email in that mode; None when the email is nobody's there, so nothing may be sent."""
    if business is None:
        known = await Customer.exists(email=email, livemode=livemode)
        return SignInTarget(customer=None) if known else None
    customer = await _customer_to_sign_in(email, business, livemode)
    return SignInTarget(customer=customer) if customer else None


async def _customer_to_sign_in(email: str, business: Business, livemode: bool) -> Customer | None:
    """When several records share the email, the newest with an active subscription, else the newest."""
    customers = await Customer.filter(email=email, business_id=business.id, livemode=livemode).order_by(
        "-created_at", "-id"
    )
    if len(customers) <= 1:
        return customers[0] if customers else None
    active = Subscription.filter(customer_id__in=[c.id for c in customers], status=SubscriptionStatus.ACTIVE)
    subscribed = set(await column_values(active, "customer_id"))
    return next((c for c in customers if c.id in subscribed), customers[0])


async def _issue_link(
    *,
    kind: LoginTokenKind,
    livemode: bool,
    email: str,
    customer: Customer | None,
    base_url: str,
    expires_at: datetime,
    return_url: str = "",
    locale: str = "",
    configuration_id: str | None = None,
    flow: dict | None = None,
    minted_by: ApiKey | None = None,
) -> str:
    token, token_hash = new_token(LINK_PREFIX)
    await LoginToken.create(
        token_hash=token_hash,
        kind=kind,
        scope=Scope.BUSINESS if customer else Scope.UNIFIED,
        livemode=livemode,
        email=email,
        business_id=customer.business_id if customer else None,
        customer=customer,
        configuration_id=configuration_id,
        return_url=return_url,
        locale=locale,
        flow=flow,
        minted_by=minted_by,
        expires_at=expires_at,
    )
    return f"{base_url.rstrip('/')}/session/{token}"


async def _enqueue_link_email(
    *,
    template: str,
    link: str,
    expires_at: datetime,
    to_email: str,
    business: Business | None,
    livemode: bool,
    locale: str,
    portal_name: str,
    link_seconds: int,
    secret_key: str,
) -> None:
    await enqueue_email(
        to_email=to_email,
        template=template,
        context={
            **branding_context(business, portal_name, livemode),
            "expires_at": expires_at.isoformat(),
            "expires_minutes": link_seconds // 60,
        },
        sealed_context=seal({"link": link}, secret_key),
        locale=locale,
        business=business,
        livemode=livemode,
        from_name=sender_name(business, portal_name),
        reply_to=business.support_email if business else "",
    )


async def _find_link(token_hash: str) -> LoginToken | None:
    return await LoginToken.get_or_none(token_hash=token_hash).select_related("business", "minted_by")


def _problem(link: LoginToken, now: datetime) -> LinkProblem | None:
    """Why the link no longer works, if it does not; a revoked key's link looks expired."""
    return link_problem(link, now) or (LinkProblem.EXPIRED if revoked_key(link.minted_by) else None)


def link_problem(link: LoginToken | EmailChangeToken, now: datetime) -> LinkProblem | None:
    """Why an emailed one-use link no longer works, if it does not."""
    if link.used_at is not None:
        return LinkProblem.USED
    if link.expires_at <= now:
        return LinkProblem.EXPIRED
    return None


async def open_sign_in_session(
    *,
    target: SignInTarget,
    email: str,
    livemode: bool,
    locale: str,
    policy: SessionPolicy,
    now: datetime,
    link: LoginToken | None = None,
) -> tuple[str, PortalSession]:
    """The session a sign-in opens once the customer proved they read `email`'s inbox (a link followed, a code
    typed). A sign-in through a business's portal verifies that record's email; a unified one verifies nothing,
    because any business can make a record with any address: its records join only when the customer adds their
    business (access.business_additions)."""
    if target.customer is None:
        return await open_session(
            scope=Scope.UNIFIED, livemode=livemode, email=email, policy=policy, locale=locale, link=link, now=now
        )
    customer = target.customer
    await Customer.filter(id=customer.id, email=email).update(email_verified=True)
    return await open_session(
        scope=Scope.BUSINESS,
        livemode=livemode,
        email=customer.email,
        customer=customer,
        policy=policy,
        locale=locale,
        link=link,
        now=now,
    )


async def _open_link_session(link: LoginToken, policy: SessionPolicy, now: datetime) -> tuple[str, PortalSession]:
    if link.scope == Scope.UNIFIED or link.kind == LoginTokenKind.SIGN_IN:
        customer = await Customer.get(id=link.customer_id, livemode=link.livemode) if link.customer_id else None
        return await open_sign_in_session(
            target=SignInTarget(customer=customer),
            email=link.email,
            livemode=link.livemode,
            locale=link.locale,
            policy=policy,
            now=now,
            link=link,
        )
    customer = await Customer.get(id=link.customer_id, livemode=link.livemode)
    return await open_session(
        scope=Scope.BUSINESS,
        livemode=link.livemode,
        email=customer.email,
        customer=customer,
        policy=policy,
        return_url=link.return_url,
        locale=link.locale,
        configuration_id=link.configuration_id,
        flow=link.flow,
        link=link,
        now=now,
    )

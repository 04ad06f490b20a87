"""Custom domains: hostnames of a business's own (`billing.example.com`) that serve its branded portal once the
business has proved it controls them, and the one rule for where that business's portal lives (`portal_url_for`),
which every link built for the business uses.

A business claims up to five hostnames, each IDNA-normalised to its lower-case ASCII form (what browsers send in
the Host header), a DNS name with at least one dot, neither an IP address, nor with a port, nor the platform's own
host, a subdomain of it or a parent of it. A new claim is pending: it serves nothing and appears in no link until
the business publishes the TXT record the portal gives it (`txt_record_of`: `_portal-challenge.<hostname>` with the
value `portal-verification=<token>`, a token of that claim alone) and a check finds it (merchants.domain_verification:
the worker's repeated checks, or one the merchant asks for). A pending claim not verified within
PENDING_CLAIM_LIFETIME expires and is dropped. Any number of businesses may hold a pending claim to the same
hostname; one business alone holds it verified (a unique index), and once it does the others' claims go and new ones
are refused, without saying whose it is. The first domain a business had verified is the one its links and emails
use. A domain serves both modes (`/login` and `/test/login`) and decides where live customers' links point, so only
live-mode callers (a live API key, the operator's CLI) change them.

What the operator does for each domain: the business points it at the deployment (a CNAME to the platform's host,
or A/AAAA records to its proxy), the proxy terminates TLS for it (a certificate per hostname, e.g. on-demand ACME)
and passes the Host header through unchanged. Links use https:// for every custom domain.

Host → business lookups (every request to a custom host asks) are cached per process for HOST_CACHE_SECONDS:
verifying or removing a domain takes effect at once in the process that did it and within that time everywhere else.
A cached Business may also show branding up to that old on the custom host's sign-in page.
"""

import ipaddress
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

import idna
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.clock import utcnow
from core.errors import DomainError
from models import Business, CustomDomain

MAX_DOMAINS_PER_BUSINESS = 5
PENDING_CLAIM_LIFETIME = timedelta(days=7)
# The worker's checks of a pending claim: every minute for its first hour, then hourly until it expires.
FREQUENT_CHECKS_FOR = timedelta(hours=1)
FREQUENT_CHECK_INTERVAL = timedelta(minutes=1)
HOURLY_CHECK_INTERVAL = timedelta(hours=1)
TXT_RECORD_LABEL = "_portal-challenge"
TXT_VALUE_PREFIX = "portal-verification="
# 256 bits: a token nobody can guess or find before the merchant publishes it.
_TOKEN_BYTES = 32
HOST_CACHE_SECONDS = 30.0
# Hosts a browser may send for a deployment on its own machine; never a custom domain.
RESERVED_SUFFIX = ".localhost"
# Beyond this many cached hosts (mostly random Host headers) the cache starts over rather than grow without end.
_HOST_CACHE_LIMIT = 4096
# The longest text worth normalising: 253 ASCII characters can come from about four times as many in Unicode.
_MAX_INPUT_LENGTH = 1024


class CustomDomainErrorCode(StrEnum):
    INVALID_HOSTNAME = "INVALID_HOSTNAME"
    HOSTNAME_TAKEN = "HOSTNAME_TAKEN"
    TOO_MANY_DOMAINS = "TOO_MANY_DOMAINS"
    DOMAIN_NOT_FOUND = "DOMAIN_NOT_FOUND"
    LIVE_MODE_REQUIRED = "LIVE_MODE_REQUIRED"
    TXT_RECORD_NOT_FOUND = "TXT_RECORD_NOT_FOUND"


class CustomDomainError(DomainError[CustomDomainErrorCode]):
    """A hostname a business cannot add, verify or remove; nothing was written (but a failed check's time)."""

    def __init__(self, code: CustomDomainErrorCode, message: str, field: str | None = "hostname") -> None:
        super().__init__(code, field, message)


def require_live_mode(livemode: bool) -> None:
    if not livemode:
        message = "Custom domains serve live customers too: change them with a live API key."
        raise CustomDomainError(CustomDomainErrorCode.LIVE_MODE_REQUIRED, message, field=None)


def _invalid(message: str) -> CustomDomainError:
    return CustomDomainError(CustomDomainErrorCode.INVALID_HOSTNAME, message)


def _is_ip_address(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        # A name whose last label is all digits (`10.0.0.300`) is an address to resolvers, never a DNS name.
        return hostname.rpartition(".")[2].isdigit()
    return True


def _same_site(hostname: str, platform_host: str) -> bool:
    """Whether `hostname` is the platform's host, a subdomain of it, or a domain the platform's host is under."""
    return hostname == platform_host or hostname.endswith(f".{platform_host}") or platform_host.endswith(f".{hostname}")


def normalized_hostname(text: str, platform_url: str) -> str:
    """The hostname as browsers send it (IDNA, lower case, no trailing dot); raises CustomDomainError."""
    candidate = text.strip().removesuffix(".")
    if not candidate:
        raise _invalid("Give a hostname such as billing.example.com.")
    if "/" in candidate or ":" in candidate:
        raise _invalid("Give the hostname alone, without scheme, port or path: billing.example.com.")
    if _is_ip_address(candidate):
        raise _invalid("An IP address cannot be a custom domain; give a hostname such as billing.example.com.")
    not_a_name = _invalid("This is not a valid DNS name: letters, digits and hyphens, separated by dots.")
    if len(candidate) > _MAX_INPUT_LENGTH:
        raise not_a_name
    try:
        hostname = idna.encode(candidate, uts46=True, std3_rules=True).decode("ascii")
    except idna.IDNAError:
        raise not_a_name from None
    if "." not in hostname:
        raise _invalid("A custom domain needs at least one dot, such as billing.example.com.")
    platform_host = (urlsplit(platform_url).hostname or "").lower()
    if hostname.endswith(RESERVED_SUFFIX) or _same_site(hostname, platform_host):
        raise _invalid("This hostname belongs to the portal itself; use a domain of your own.")
    return hostname


def _pending_and_expired(now: datetime) -> Q:
    return Q(verified_hostname=None, expires_at__lte=now)


def custom_domains_of(business_id: str, now: datetime | None = None) -> QuerySet[CustomDomain]:
    """The business's claims, verified or pending, but none that has expired."""
    return CustomDomain.filter(business_id=business_id).exclude(_pending_and_expired(now or utcnow()))


def verified_domains_of(business_id: str) -> QuerySet[CustomDomain]:
    """The business's verified domains, the first verified first: the one its links use."""
    return CustomDomain.filter(business_id=business_id, verified_hostname__isnull=False).order_by("verified_at", "id")


@dataclass(frozen=True)
class TxtRecord:
    """The DNS record that proves a business controls a hostname."""

    name: str
    value: str


def txt_record_of(domain: CustomDomain) -> TxtRecord:
    return TxtRecord(f"{TXT_RECORD_LABEL}.{domain.hostname}", f"{TXT_VALUE_PREFIX}{domain.verification_token}")


def next_check_at(domain: CustomDomain, now: datetime) -> datetime:
    """When the worker looks for a pending claim's TXT record again: often at first, while the merchant is likely
    setting it up, then hourly until the claim expires."""
    young = now - domain.created_at < FREQUENT_CHECKS_FOR
    return now + (FREQUENT_CHECK_INTERVAL if young else HOURLY_CHECK_INTERVAL)


async def add_custom_domain(
    business: Business, hostname: str, *, platform_url: str, livemode: bool, now: datetime | None = None
) -> CustomDomain:
    """Claim a hostname for the business, pending until its TXT record is found; claiming one it already holds
    changes nothing. Raises CustomDomainError."""
    require_live_mode(livemode)
    hostname = normalized_hostname(hostname, platform_url)
    now = now or utcnow()
    async with in_transaction():
        # Locks the business, so two concurrent claims cannot both pass the limit.
        await Business.select_for_update().get(id=business.id)
        await CustomDomain.filter(_pending_and_expired(now), hostname=hostname).delete()
        holder = await CustomDomain.get_or_none(verified_hostname=hostname)
        if holder is not None and holder.business_id != business.id:
            raise CustomDomainError(CustomDomainErrorCode.HOSTNAME_TAKEN, "This hostname is already in use.")
        claims = custom_domains_of(business.id, now)
        held = await claims.get_or_none(hostname=hostname)
        if held is not None:
            return held
        if await claims.count() >= MAX_DOMAINS_PER_BUSINESS:
            raise CustomDomainError(
                CustomDomainErrorCode.TOO_MANY_DOMAINS,
                f"A business can have at most {MAX_DOMAINS_PER_BUSINESS} custom domains; remove one first.",
            )
        return await CustomDomain.create(
            business=business,
            hostname=hostname,
            verification_token=secrets.token_urlsafe(_TOKEN_BYTES),
            expires_at=now + PENDING_CLAIM_LIFETIME,
            next_check_at=now + FREQUENT_CHECK_INTERVAL,
        )


async def find_custom_domain(
    business: Business, hostname: str, platform_url: str, now: datetime | None = None
) -> CustomDomain:
    """One of the business's current claims; any other hostname (malformed, another business's, expired, unknown)
    is not found. Raises CustomDomainError."""
    try:
        hostname = normalized_hostname(hostname, platform_url)
    except CustomDomainError:
        hostname = ""
    domain = await custom_domains_of(business.id, now).get_or_none(hostname=hostname) if hostname else None
    if domain is None:
        raise CustomDomainError(CustomDomainErrorCode.DOMAIN_NOT_FOUND, "No such custom domain.")
    return domain


async def remove_custom_domain(business: Business, hostname: str, *, platform_url: str, livemode: bool) -> CustomDomain:
    """Remove one of the business's claims, verified or pending. Raises CustomDomainError."""
    require_live_mode(livemode)
    domain = await find_custom_domain(business, hostname, platform_url)
    await domain.delete()
    forget_host(domain.hostname)
    return domain


async def list_custom_domains(business: Business) -> list[CustomDomain]:
    """The business's claims, oldest first."""
    return await custom_domains_of(business.id).order_by("created_at", "id")


async def portal_url_for(business: Business, base_url: str) -> str:
    """Where the business's portal lives: https:// and its first verified domain, else the platform's `base_url`."""
    hostname = await _first_hostname(business.id)
    return f"https://{hostname}" if hostname else base_url.rstrip("/")


def sign_in_path(business_id: str | None, livemode: bool) -> str:
    """Where a customer signs in, relative to the portal's URL: `/login/{business_id}` on the platform, `/login` on
    a custom domain (its one business) and for the unified portal; test mode under `/test`."""
    path = f"/login/{business_id}" if business_id else "/login"
    return path if livemode else f"/test{path}"


async def sign_in_url_for(business: Business, livemode: bool, base_url: str) -> str:
    """The business's static sign-in link: `https://billing.example.com/login`, else `{base_url}/login/{id}`."""
    hostname = await _first_hostname(business.id)
    if hostname:
        return f"https://{hostname}{sign_in_path(None, livemode)}"
    return f"{base_url.rstrip('/')}{sign_in_path(business.id, livemode)}"


async def _first_hostname(business_id: str) -> str | None:
    domain = await verified_domains_of(business_id).first()
    return domain.hostname if domain else None


@dataclass(frozen=True)
class _CachedHost:
    business: Business | None
    expires_at: float


_host_cache: dict[str, _CachedHost] = {}


async def business_for_host(hostname: str, clock: Callable[[], float] = time.monotonic) -> Business | None:
    """The business a hostname (lower case, as the Host header names it) is a verified domain of, or None."""
    now = clock()
    cached = _host_cache.get(hostname)
    if cached is not None and cached.expires_at > now:
        return cached.business
    domain = await CustomDomain.get_or_none(verified_hostname=hostname).select_related("business")
    if len(_host_cache) >= _HOST_CACHE_LIMIT:
        _host_cache.clear()
    business = domain.business if domain else None
    _host_cache[hostname] = _CachedHost(business, now + HOST_CACHE_SECONDS)
    return business


def forget_host(hostname: str) -> None:
    """Drop a hostname from this process's cache, after its domain was verified or removed here."""
    _host_cache.pop(hostname, None)

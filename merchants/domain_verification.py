"""Proof that a business controls a domain it claimed: looking up the claim's TXT record, verifying the claim when the
record is there, the worker's repeated checks of pending claims, and dropping the claims that expired unproven.

The lookup is a `TxtLookup` (a record's name → the TXT strings published there), `dns_txt_lookup` (dnspython's async
resolver) in production; tests pass a stub. A lookup that fails (timeout, no such name, no record) finds nothing,
and the claim stays pending until a later check or its expiry.

Verifying is one transaction: the claim gets `verified_hostname`, whose unique index lets one business alone hold
the hostname verified, so of two businesses whose records are both published the first to be checked wins and the
other is told the hostname is taken; the other businesses' pending claims to the hostname are dropped with it.
A verified domain is not checked again: its business keeps it until it removes it (a transient DNS failure must not
take a live portal down).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import dns.asyncresolver
import dns.exception
import dns.resolver
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.clock import utcnow
from merchants.custom_domains import (
    CustomDomainError,
    CustomDomainErrorCode,
    find_custom_domain,
    forget_host,
    next_check_at,
    require_live_mode,
    txt_record_of,
)
from models import Business, CustomDomain
from models.leases import lease_due

logger = logging.getLogger(__name__)

TxtLookup = Callable[[str], Awaitable[list[str]]]

DNS_LOOKUP_SECONDS = 5.0
CHECK_BATCH_SIZE = 20
# Longer than a batch's lookups may take, so another worker does not check the same claims meanwhile.
CHECK_LEASE = timedelta(minutes=2)


async def dns_txt_lookup(name: str) -> list[str]:
    """The TXT strings published at `name` (each record's strings joined, as RFC 7208 reads them); none when the
    lookup fails."""
    try:
        answer = await dns.asyncresolver.resolve(f"{name}.", "TXT", lifetime=DNS_LOOKUP_SECONDS)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        logger.info("TXT lookup of %s failed: %s", name, type(error).__name__)
        return []
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


async def _record_published(domain: CustomDomain, lookup: TxtLookup) -> bool:
    record = txt_record_of(domain)
    return record.value in [text.strip() for text in await lookup(record.name)]


async def _mark_verified(domain: CustomDomain, now: datetime) -> bool:
    """Make the claim the hostname's verified one; False when another business verified it first."""
    try:
        async with in_transaction():
            updated = await CustomDomain.filter(id=domain.id, verified_hostname=None).update(
                verified_hostname=domain.hostname,
                verified_at=now,
                last_checked_at=now,
                next_check_at=None,
                expires_at=None,
            )
            if not updated:  # verified meanwhile by a concurrent check, or dropped as another business's won
                return await CustomDomain.exists(id=domain.id)
            # The others' claims can never be verified now.
            await CustomDomain.filter(hostname=domain.hostname, verified_hostname=None).delete()
    except IntegrityError:
        await CustomDomain.filter(id=domain.id).delete()
        return False
    forget_host(domain.hostname)
    return True


async def _settle(domain: CustomDomain, published: bool, now: datetime) -> bool:
    """Verify a pending claim whose record was found, else schedule its next check; whether it is verified."""
    if published:
        return await _mark_verified(domain, now)
    await CustomDomain.filter(id=domain.id, verified_hostname=None).update(
        last_checked_at=now, next_check_at=next_check_at(domain, now)
    )
    return False


async def verify_custom_domain(
    business: Business,
    hostname: str,
    *,
    platform_url: str,
    livemode: bool,
    lookup: TxtLookup,
    now: datetime | None = None,
) -> CustomDomain:
    """Check one of the business's claims now, as its merchant asks; the claim, verified. Raises CustomDomainError
    when the claim is not the business's (or expired), when its record is not found, or when another business
    verified the hostname first."""
    require_live_mode(livemode)
    now = now or utcnow()
    domain = await find_custom_domain(business, hostname, platform_url, now)
    if domain.verified_hostname is None:
        if not await _settle(domain, await _record_published(domain, lookup), now):
            if not await CustomDomain.exists(id=domain.id):
                raise CustomDomainError(CustomDomainErrorCode.HOSTNAME_TAKEN, "This hostname is already in use.")
            record = txt_record_of(domain)
            raise CustomDomainError(
                CustomDomainErrorCode.TXT_RECORD_NOT_FOUND,
                f"No TXT record {record.name} with the value {record.value} was found yet; it is checked again "
                "until the claim expires.",
            )
        await domain.refresh_from_db()
    return domain


async def _claim_due_checks(now: datetime) -> list[CustomDomain]:
    """Take up to a batch of pending claims due for a check; other workers skip them until the lease ends."""
    return await lease_due(
        CustomDomain.filter(verified_hostname=None, next_check_at__lte=now, expires_at__gt=now),
        order_by=("next_check_at", "id"),
        limit=CHECK_BATCH_SIZE,
        lease={"next_check_at": now + CHECK_LEASE},
    )


async def drop_expired_claims(now: datetime) -> int:
    """Delete the pending claims whose time ran out; how many."""
    return await CustomDomain.filter(verified_hostname=None, expires_at__lte=now).delete()


async def check_due_claims(lookup: TxtLookup, now: datetime | None = None) -> int:
    """One worker pass: drop expired claims, then check a batch of due ones (their lookups side by side); how many
    were verified."""
    now = now or utcnow()
    await drop_expired_claims(now)
    due = await _claim_due_checks(now)
    found = await asyncio.gather(*(_record_published(domain, lookup) for domain in due))
    return sum([await _settle(domain, published, now) for domain, published in zip(due, found, strict=True)])

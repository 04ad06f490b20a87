"""Webhook endpoints of a business: creation and changes (with the SSRF rule: which URLs and addresses the portal
may call), deletion, secret rotation, the fan-out of events into one delivery per matching endpoint, replays, and
disabling an endpoint that keeps failing (with an email to the business, through core.email_outbox). Sending is
gateway/worker/webhook_delivery.py's job, through gateway/worker/webhook_transport.py, which connects only to
checked addresses.

Secrets are Standard Webhooks' `whsec_` + base64 of 32 random bytes, shown once at creation or rotation. A rotated
secret keeps signing beside the new one for ROTATION_GRACE, so receivers can switch without losing an event.
"""

import asyncio
import base64
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from core.clock import utcnow
from core.email_outbox import branding_context, enqueue_email
from core.event_types import EventType
from merchants.inputs import MerchantErrorCode, MerchantInputError
from models import Business, Event, WebhookDelivery, WebhookEndpoint
from models.enums import DeliveryStatus

ROTATION_GRACE = timedelta(hours=24)
SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 1000
FAN_OUT_BATCH = 100


class WebhookEndpointError(MerchantInputError):
    """An endpoint the portal refuses to call; the message says why and `field` which input is to blame."""

    def __init__(
        self, message: str, field: str = "url", code: MerchantErrorCode = MerchantErrorCode.INVALID_URL
    ) -> None:
        super().__init__(message, field, code)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


# NAT64's well-known prefix: the last 32 bits are the IPv4 address a packet to it reaches.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host has for a port, in the order to try them."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The address is a string for the internet families asked for here (typeshed allows others' ints).
    return [str(info[4][0]) for info in infos]


def _globally_reachable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # is_global leaves out private, loopback, link-local, documentation and shared (100.64/10) ranges.
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def is_public(address: str) -> bool:
    """Whether the portal may call the address. An IPv6 address standing for an IPv4 one (mapped, NAT64, 6to4) is
    judged by that IPv4 address too, since that is where a packet to it ends up."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope (`fe80::1%eth0`) is not part of the address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped or ip in _NAT64:
            ip = ip.ipv4_mapped or ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
        elif ip.sixtofour and not _globally_reachable(ip.sixtofour):
            return False
    return _globally_reachable(ip)


def check_url(url: str, *, livemode: bool, allow_private: bool) -> tuple[str, int]:
    """The host and port of a URL the portal may call, judged by its form alone: absolute http(s), no credentials,
    https in live mode unless `allow_private`."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookEndpointError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    if parts.scheme not in {"https", "http"} or not parts.hostname or port is None:
        raise WebhookEndpointError("the URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise WebhookEndpointError("the URL must not carry credentials")
    if livemode and parts.scheme != "https" and not allow_private:
        raise WebhookEndpointError("a live-mode endpoint must use https")
    return parts.hostname, port


async def checked_addresses(
    host: str, port: int, *, allow_private: bool, resolve: Resolver = system_resolver
) -> list[str]:
    """The addresses `host` resolves to, once every one of them is public (one private address among public ones
    refuses the host); `allow_private` lifts that rule. A connection must go to one of these very addresses: a
    second lookup may answer differently (DNS rebinding)."""
    try:
        addresses = await resolve(host, port)
    except (OSError, ValueError) as error:
        raise WebhookEndpointError(f"the host {host} does not resolve") from error
    if not addresses:
        raise WebhookEndpointError(f"the host {host} does not resolve")
    refused = [] if allow_private else sorted({address for address in addresses if not is_public(address)})
    if refused:
        raise WebhookEndpointError(f"the host {host} resolves to a non-public address ({refused[0]})")
    return addresses


async def check_destination(url: str, *, livemode: bool, allow_private: bool) -> None:
    """Refuse a URL the portal must not call: a form check_url refuses, or a host that resolves to an address that
    is not public (private, loopback, link-local, shared, multicast, reserved …). `allow_private`
    (PORTAL_WEBHOOKS_ALLOW_PRIVATE) lifts the address rule and the https rule, for test mode and development.

    Called when an endpoint is created or changed; a delivery checks the addresses it connects to itself
    (gateway/worker/webhook_transport.py), since a name's addresses can change."""
    host, port = check_url(url, livemode=livemode, allow_private=allow_private)
    if not allow_private:
        await checked_addresses(host, port, allow_private=False)


def _event_types(event_types: Sequence[str]) -> list[str]:
    known = {str(event_type) for event_type in EventType}
    unknown = sorted(set(event_types) - known)
    if unknown:
        message = f"unknown event type {unknown[0]}; known: {', '.join(sorted(known))}"
        raise WebhookEndpointError(message, "event_types", MerchantErrorCode.INVALID_EVENT_TYPE)
    return sorted(set(event_types))


async def create_endpoint(
    business: Business, *, livemode: bool, url: str, event_types: Sequence[str], allow_private: bool
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, returned this once. An empty `event_types` receives every event."""
    await check_destination(url, livemode=livemode, allow_private=allow_private)
    secret = new_secret()
    endpoint = await WebhookEndpoint.create(
        business=business, livemode=livemode, url=url, secret=secret, event_types=_event_types(event_types)
    )
    return endpoint, secret


async def update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    disabled: bool | None = None,
    allow_private: bool,
) -> WebhookEndpoint:
    """Change what is asked (None leaves a value as it is); a new URL passes the SSRF rule again. Re-enabling
    clears the failure streak, so the endpoint gets DISABLE_AFTER again before it can be disabled anew."""
    if url is not None:
        await check_destination(url, livemode=endpoint.livemode, allow_private=allow_private)
        endpoint.url = url
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
    if disabled is True and not endpoint.disabled:
        endpoint.disabled, endpoint.disabled_at = True, utcnow()
    elif disabled is False:
        endpoint.disabled, endpoint.disabled_at, endpoint.failing_since = False, None, None
    await endpoint.save(update_fields=["url", "event_types", "disabled", "disabled_at", "failing_since"])
    return endpoint


async def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """The endpoint goes, with its deliveries and their attempts."""
    await endpoint.delete()


async def disable_failing_endpoint(
    endpoint_id: str, now: datetime, *, failing_for: timedelta, portal_name: str
) -> bool:
    """Disable the endpoint when it has failed every attempt for `failing_for`, and tell the business by email in the
    same transaction: which endpoint, failing since when, and how to enable it again. True when this call
    disabled it."""
    async with in_transaction():
        disabled = await WebhookEndpoint.filter(
            id=endpoint_id, disabled=False, failing_since__lte=now - failing_for
        ).update(disabled=True, disabled_at=now)
        if disabled:
            endpoint = await WebhookEndpoint.get(id=endpoint_id).select_related("business")
            await _email_disabled(endpoint, portal_name)
    return bool(disabled)


async def _email_disabled(endpoint: WebhookEndpoint, portal_name: str) -> None:
    business = endpoint.business
    # Disabled just now because it had been failing since then: both times are set.
    assert endpoint.failing_since is not None and endpoint.disabled_at is not None
    await enqueue_email(
        to_email=business.support_email,
        template="webhook_endpoint_disabled",
        context={
            **branding_context(business, portal_name, endpoint.livemode),
            # Written to the business itself: no "write to our support" line.
            "support_email": "",
            "endpoint_id": endpoint.id,
            "endpoint_url": endpoint.url,
            "failing_since": endpoint.failing_since.isoformat(),
            "disabled_at": endpoint.disabled_at.isoformat(),
        },
        locale="",
        business=business,
        livemode=endpoint.livemode,
        from_name=portal_name,
        reply_to="",
    )


async def list_endpoints(business: Business) -> list[WebhookEndpoint]:
    return await WebhookEndpoint.filter(business=business).order_by("-created_at", "-id")


async def rotate_secret(endpoint: WebhookEndpoint, now: datetime | None = None) -> str:
    """A new secret for the endpoint, returned this once; the old one keeps signing for ROTATION_GRACE."""
    now = now or utcnow()
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_GRACE
    endpoint.secret = secret
    await endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets a delivery is signed with at `now`: the current one, and the previous one during its grace."""
    expires_at = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires_at and now < expires_at:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def _wants(endpoint: WebhookEndpoint, event: Event) -> bool:
    return not endpoint.event_types or event.type in endpoint.event_types


async def fan_out_events(now: datetime | None = None) -> int:
    """Make a pending delivery of each new event for every enabled endpoint of its business and mode that wants
    its type; returns how many events it handled. Safe beside other workers: the rows are locked where the
    database can (PostgreSQL), and the unique (endpoint, event) pair makes a second fan-out a no-op anyway."""
    now = now or utcnow()
    async with in_transaction() as connection:
        events = (
            await Event.filter(fanned_out=False)
            .order_by("created_at", "id")
            .limit(FAN_OUT_BATCH)
            .select_for_update(skip_locked=True)
            .using_db(connection)
        )
        if not events:
            return 0
        endpoints = await WebhookEndpoint.filter(
            business_id__in={event.business_id for event in events}, disabled=False
        ).using_db(connection)
        deliveries = [
            WebhookDelivery(endpoint=endpoint, event=event, status=DeliveryStatus.PENDING, next_attempt_at=now)
            for event in events
            for endpoint in endpoints
            if endpoint.business_id == event.business_id
            and endpoint.livemode == event.livemode
            and _wants(endpoint, event)
        ]
        if deliveries:
            await WebhookDelivery.bulk_create(deliveries, ignore_conflicts=True, using_db=connection)
        await Event.filter(id__in=[event.id for event in events]).using_db(connection).update(fanned_out=True)
    return len(events)


async def replay_delivery(delivery: WebhookDelivery, now: datetime | None = None) -> None:
    """Send the delivery again, with the same `webhook-id`, as soon as a worker passes; a failure retries on the
    whole schedule again. Earlier attempts stay recorded."""
    await WebhookDelivery.filter(id=delivery.id).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now or utcnow()
    )

"""Putting emails in the outbox: one EmailMessage row per email, written in the caller's transaction and sent
later by the worker (gateway/worker/ renders the template named in the row, in the row's language).

Every context holds `branding_context`'s keys, so any template can show the business's brand:
`portal_name, business_id, business_name, logo_url, primary_color, accent_color, support_email, livemode`
(`business_id` is null and `business_name` is the portal's name for the unified portal).

What opens an account (a sign-in link, a code) is not written in the context but sealed (`seal`): encrypted and
authenticated with Fernet under a key derived from the deployment's secret key, so a copy of the database alone
opens nobody's account; the worker opens it to render the email (`opened_context`) and erases it once the email is
sent or has finally failed.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet

from core.clock import utcnow
from models import Business, EmailMessage
from models.enums import DeliveryStatus


def sender_name(business: Business | None, portal_name: str) -> str:
    """The display name in From: whose portal this is and who sends it on their behalf."""
    return f"{business.name} via {portal_name}" if business else portal_name


def branding_context(business: Business | None, portal_name: str, livemode: bool) -> dict[str, Any]:
    return {
        "portal_name": portal_name,
        "business_id": business.id if business else None,
        "business_name": business.name if business else portal_name,
        "logo_url": business.logo_url if business else "",
        "primary_color": business.primary_color if business else "",
        "accent_color": business.accent_color if business else "",
        "support_email": business.support_email if business else "",
        "livemode": livemode,
    }


def _fernet(secret_key: str) -> Fernet:
    # A key for this use alone, so nothing else keyed by the deployment's secret can open the outbox or the reverse.
    key = hmac.new(secret_key.encode(), b"email-outbox", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secrets: Mapping[str, str], secret_key: str) -> str:
    """The email's secret context values, encrypted for the outbox row's `sealed_context`."""
    return _fernet(secret_key).encrypt(json.dumps(dict(secrets)).encode()).decode()


def opened_context(message: EmailMessage, secret_key: str) -> dict[str, Any]:
    """The context to render the email from: the stored one and the sealed values; raises
    cryptography.fernet.InvalidToken when the secret key is not the one that sealed them."""
    sealed = json.loads(_fernet(secret_key).decrypt(message.sealed_context)) if message.sealed_context else {}
    return {**message.context, **sealed}


async def enqueue_email(
    *,
    to_email: str,
    template: str,
    context: dict[str, Any],
    locale: str,
    business: Business | None,
    livemode: bool,
    from_name: str,
    reply_to: str,
    sealed_context: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """Queue an email; the context must be JSON-serialisable, since the worker renders it later. A link or code
    that opens an account goes in `sealed_context` (`seal`), never in `context`."""
    return await EmailMessage.create(
        business=business,
        livemode=livemode,
        to_email=to_email,
        from_name=from_name,
        reply_to=reply_to,
        template=template,
        context=context,
        sealed_context=sealed_context,
        locale=locale,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now or utcnow(),
    )

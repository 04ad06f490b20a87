"""Putting emails in the outbox: one EmailMessage row per email, written in the caller's transaction and sent
later by the worker (gateway/worker.py renders the template named in the row, in the row's language).

Every context holds `branding_context`'s keys, so any template can show the business's brand:
`portal_name, business_id, business_name, logo_url, primary_color, accent_color, support_email, livemode`
(`business_id` is null and `business_name` is the portal's name for the unified portal).
"""

from datetime import UTC, datetime

from models import Business, EmailMessage
from models.enums import DeliveryStatus


def sender_name(business: Business | None, portal_name: str) -> str:
    """The display name in From: whose portal this is and who sends it on their behalf."""
    return f"{business.name} via {portal_name}" if business else portal_name


def branding_context(business: Business | None, portal_name: str, livemode: bool) -> dict:
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


async def enqueue_email(
    *,
    to_email: str,
    template: str,
    context: dict,
    locale: str,
    business: Business | None,
    livemode: bool,
    from_name: str,
    reply_to: str,
    now: datetime | None = None,
) -> EmailMessage:
    """Queue an email; the context must be JSON-serialisable, since the worker renders it later."""
    return await EmailMessage.create(
        business=business,
        livemode=livemode,
        to_email=to_email,
        from_name=from_name,
        reply_to=reply_to,
        template=template,
        context=context,
        locale=locale,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now or datetime.now(UTC),
    )

"""When license keys work: a subscription's keys are disabled while it is on hold, cancelled or expired, and enabled
again when it is paid for; any key whose own expiry has passed becomes expired."""

from datetime import datetime

from tortoise.expressions import Q

from models import LicenseKey
from models.enums import LicenseKeyStatus


async def disable_subscription_keys(subscription_id: str) -> int:
    return await LicenseKey.filter(subscription_id=subscription_id, status=LicenseKeyStatus.ACTIVE).update(
        status=LicenseKeyStatus.DISABLED
    )


async def enable_subscription_keys(subscription_id: str, now: datetime) -> int:
    """Disabled keys work again, unless their own expiry has passed."""
    return await (
        LicenseKey.filter(subscription_id=subscription_id, status=LicenseKeyStatus.DISABLED)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .update(status=LicenseKeyStatus.ACTIVE)
    )


async def expire_license_keys(now: datetime, livemode: bool | None = None) -> int:
    """Keys whose `expires_at` has passed say so (a disabled one too: it could never work again)."""
    query = LicenseKey.filter(expires_at__lte=now, status__in=[LicenseKeyStatus.ACTIVE, LicenseKeyStatus.DISABLED])
    return await (query if livemode is None else query.filter(livemode=livemode)).update(
        status=LicenseKeyStatus.EXPIRED
    )

"""When a subscription's license keys work: disabled while it is on hold, cancelled or expired, enabled again when
it is paid for."""

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

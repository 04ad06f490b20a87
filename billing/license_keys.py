"""When license keys work: a subscription's keys are disabled while it is on hold, cancelled or expired, and enabled
again when it is paid for; any key whose own expiry has passed becomes expired. A merchant may change a key's status
(active or disabled), activation limit and expiry (`update_license_key`), and rename a device's instance.

Dodo Payments announces only `license_key.created`, so a merchant's own change writes no event.
"""

from datetime import datetime
from enum import Enum

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from billing.errors import ACTIVATIONS_BELOW_INSTANCES, EXPIRY_PASSED, BillingError, BillingErrorCode
from billing.license_activation import instance_name
from models import LicenseKey, LicenseKeyInstance
from models.enums import LicenseKeyStatus


class Unchanged(Enum):
    """An argument left out: the key keeps its value (None is a value here: no limit, no expiry)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED
# What a merchant may set; `expired` follows from `expires_at`.
SETTABLE_STATUSES = (LicenseKeyStatus.ACTIVE, LicenseKeyStatus.DISABLED)


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


async def update_license_key(
    key: LicenseKey,
    *,
    now: datetime,
    status: LicenseKeyStatus | None = None,
    activations_limit: int | None | Unchanged = UNCHANGED,
    expires_at: datetime | None | Unchanged = UNCHANGED,
) -> LicenseKey:
    """Change what the merchant asks of a key. Raises BillingError, with nothing changed, for an unknown status, a
        limit below 1 or below the devices already using the key, or an expiry that has passed (an expired key is made
    active again only with a later expiry)."""
    if status is not None and status not in SETTABLE_STATUSES:
        raise BillingError(BillingErrorCode.INVALID_INPUT, field="status")
    if isinstance(activations_limit, int) and activations_limit < 1:
        raise BillingError(BillingErrorCode.INVALID_INPUT, field="activationsLimit")
    if isinstance(expires_at, datetime) and expires_at.tzinfo is None:
        raise BillingError(BillingErrorCode.INVALID_INPUT, field="expiresAt")
    if isinstance(expires_at, datetime) and expires_at <= now:
        raise BillingError(BillingErrorCode.INVALID_INPUT, field="expiresAt", message=EXPIRY_PASSED)
    # The key's row is locked as activation locks it (billing/license_activation.py), so a device activated
    # meanwhile is counted before the limit is checked.
    async with in_transaction() as connection:
        locked = await LicenseKey.filter(id=key.id).select_for_update().using_db(connection).get()
        if isinstance(activations_limit, int):
            instances = await LicenseKeyInstance.filter(license_key_id=key.id).using_db(connection).count()
            if activations_limit < instances:
                raise BillingError(
                    BillingErrorCode.INVALID_INPUT,
                    field="activationsLimit",
                    message=ACTIVATIONS_BELOW_INSTANCES,
                    params={"instances": instances},
                )
        if activations_limit is not UNCHANGED:
            locked.activations_limit = activations_limit
        if expires_at is not UNCHANGED:
            locked.expires_at = expires_at
        if status is not None:
            locked.status = status
        if locked.status == LicenseKeyStatus.ACTIVE and locked.expires_at is not None and locked.expires_at <= now:
            raise BillingError(BillingErrorCode.INVALID_INPUT, field="status", message=EXPIRY_PASSED)
        await locked.save(update_fields=["status", "activations_limit", "expires_at"], using_db=connection)
    return locked


async def rename_instance(instance: LicenseKeyInstance, name: str) -> LicenseKeyInstance:
    """Give a device's instance another name; raises LicenseError for an empty or overlong one."""
    instance.name = instance_name(name)
    await instance.save(update_fields=["name"])
    return instance

"""Activating a license key on a device, and what the key's holder may ask about it: `activate`, `deactivate` and
`validate` (the public license API, gateway/rest/license_keys.py, Dodo Payments' names and rules), and a signed-in
customer's own deactivation of a device (`deactivate_instance`, given the instance the customer's scope found).

A key works when it is active and its `expires_at` has not passed; a disabled or expired key never activates.
Deactivating always works: it only frees a device.

Keys are found by their string in one mode. The key string is unique across modes, yet a test key answers only
on the test endpoints and a live key only on the live ones: a test key costs nothing to get (a sandbox card), so
it must never unlock the live product.

The activation limit holds under concurrent activations. `activate` is one transaction that locks the key's row
first (`SELECT … FOR UPDATE` on PostgreSQL), then counts the key's instances and inserts one: a second activation
of the same key waits for the lock and, under READ COMMITTED, counts the instance the first one committed. SQLite
has no `FOR UPDATE` (tortoise leaves it out); there tortoise runs every transaction of the process behind the
single connection's lock, so two transactions never interleave (tests/test_license_api.py proves the limit on
both databases). The transaction holds three short statements and nothing slow.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tortoise.transactions import in_transaction

from core import inputs
from core.clock import utcnow
from core.errors import DomainError
from models import LicenseKey, LicenseKeyInstance, Product
from models.base import column_length
from models.enums import LicenseKeyStatus
from models.ids import id_prefix, is_well_formed_id

# The longest key the column holds: a longer string cannot name a key, and never reaches the database.
_KEY_MAX_LENGTH = column_length(LicenseKey, "key")


class LicenseErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INSTANCE_NOT_FOUND = "INSTANCE_NOT_FOUND"
    DISABLED = "LICENSE_KEY_DISABLED"
    EXPIRED = "LICENSE_KEY_EXPIRED"
    LIMIT_REACHED = "ACTIVATION_LIMIT_REACHED"
    INVALID_NAME = "INVALID_NAME"


# The license API speaks to developers, in English, as the merchant API does.
_MESSAGES = {
    LicenseErrorCode.NOT_FOUND: "There is no license key with this value.",
    LicenseErrorCode.INSTANCE_NOT_FOUND: "This license key has no instance with this id.",
    LicenseErrorCode.DISABLED: "This license key is disabled.",
    LicenseErrorCode.EXPIRED: "This license key has expired.",
    LicenseErrorCode.LIMIT_REACHED: "This license key has reached its activation limit.",
    LicenseErrorCode.INVALID_NAME: "Give the instance a name.",
}


class LicenseError(DomainError[LicenseErrorCode]):
    """A license call that cannot be done as asked; nothing was changed."""

    def __init__(self, code: LicenseErrorCode, field: str, message: str = "") -> None:
        super().__init__(code, field, message or _MESSAGES[code])


@dataclass(frozen=True)
class Activation:
    instance: LicenseKeyInstance
    license_key: LicenseKey
    product: Product


@dataclass(frozen=True)
class Validation:
    """Whether the key (and, when asked, the instance) works now, with the key's facts (`effective_status`)."""

    valid: bool
    status: LicenseKeyStatus
    license_key: LicenseKey
    product: Product
    instances_count: int


def unusable_because(license_key: LicenseKey, now: datetime) -> LicenseErrorCode | None:
    """Why the key cannot be used now (disabled, expired by status or by date); None when it can."""
    if license_key.status == LicenseKeyStatus.DISABLED:
        return LicenseErrorCode.DISABLED
    if license_key.status == LicenseKeyStatus.EXPIRED:
        return LicenseErrorCode.EXPIRED
    if license_key.expires_at is not None and license_key.expires_at <= now:
        return LicenseErrorCode.EXPIRED
    return None


def effective_status(license_key: LicenseKey, now: datetime) -> LicenseKeyStatus:
    """The key's status as its holder sees it: expired once `expires_at` has passed, whatever the row still says."""
    expired = unusable_because(license_key, now) == LicenseErrorCode.EXPIRED
    return LicenseKeyStatus.EXPIRED if expired else license_key.status


def instance_name(name: str) -> str:
    """The name a device is activated under, trimmed; refused when empty or longer than the column holds."""
    name = name.strip()
    if not name:
        raise LicenseError(LicenseErrorCode.INVALID_NAME, "name")
    if not inputs.NAME.allows(name):
        raise LicenseError(LicenseErrorCode.INVALID_NAME, "name", inputs.NAME.message())
    return name


def _could_exist(key: str) -> bool:
    """Whether a key could have this string: a longer one than the column holds never reaches the database."""
    return 0 < len(key) <= _KEY_MAX_LENGTH


def _is_instance_id(value: object) -> bool:
    return is_well_formed_id(value, id_prefix(LicenseKeyInstance))


async def _find(key: str, livemode: bool) -> LicenseKey:
    found = await LicenseKey.get_or_none(key=key, livemode=livemode) if _could_exist(key) else None
    if found is None:
        raise LicenseError(LicenseErrorCode.NOT_FOUND, "license_key")
    return found


async def activate(key: str, name: str, *, livemode: bool, now: datetime | None = None) -> Activation:
    """A new instance of the key named `name`; refused for an unknown, disabled or expired key and at the limit."""
    name = instance_name(name)
    now = now or utcnow()
    if not _could_exist(key):
        raise LicenseError(LicenseErrorCode.NOT_FOUND, "license_key")
    async with in_transaction() as connection:
        locked = await LicenseKey.filter(key=key, livemode=livemode).select_for_update().using_db(connection).first()
        if locked is None:
            raise LicenseError(LicenseErrorCode.NOT_FOUND, "license_key")
        problem = unusable_because(locked, now)
        if problem is not None:
            raise LicenseError(problem, "license_key")
        if locked.activations_limit is not None:
            used = await LicenseKeyInstance.filter(license_key_id=locked.id).using_db(connection).count()
            if used >= locked.activations_limit:
                raise LicenseError(LicenseErrorCode.LIMIT_REACHED, "license_key")
        instance = await LicenseKeyInstance.create(
            license_key_id=locked.id, name=name, created_at=now, using_db=connection
        )
    return Activation(instance, locked, await Product.get(id=locked.product_id))


async def deactivate(key: str, instance_id: object, *, livemode: bool) -> None:
    """Remove one instance of the key, whatever the key's status; refused for an instance of another key."""
    found = await _find(key, livemode)
    deleted = 0
    if _is_instance_id(instance_id):
        # One conditional statement: of two concurrent deactivations of one instance, the second finds nothing.
        deleted = await LicenseKeyInstance.filter(id=instance_id, license_key_id=found.id).delete()
    if not deleted:
        raise LicenseError(LicenseErrorCode.INSTANCE_NOT_FOUND, "license_key_instance_id")


async def validate(
    key: str, instance_id: object | None = None, *, livemode: bool, now: datetime | None = None
) -> Validation:
    """Whether the key works now and, when `instance_id` is given, is activated as that instance (an instance of
    another key, deactivated or malformed is simply not valid); an unknown key is refused."""
    found = await _find(key, livemode)
    instances = LicenseKeyInstance.filter(license_key_id=found.id)
    now = now or utcnow()
    valid = unusable_because(found, now) is None
    if instance_id is not None:
        valid = valid and _is_instance_id(instance_id) and await instances.filter(id=instance_id).exists()
    product = await Product.get(id=found.product_id)
    return Validation(valid, effective_status(found, now), found, product, await instances.count())


async def deactivate_instance(instance: LicenseKeyInstance) -> bool:
    """The customer frees a device of one of their keys (found through their scope); False when a concurrent
    deactivation freed it first."""
    return bool(await LicenseKeyInstance.filter(id=instance.id).delete())

"""Discounts (coupons) a business offers, as its API creates and changes them; billing.discounts applies them.

A code is unique per business and mode, upper case, of A–Z, 0–9, `-` and `_`. A percentage is given in basis
points (1250 is 12.5 %), never as a fraction, so no rounding happens on the way in; a fixed amount is in the minor
unit of its currency. Create and update check the whole discount as it would be before anything is written.

Deleting a discount no subscription carries removes it; one that subscriptions carry is marked deleted instead, and
they keep it for the renewals it has left. A deleted discount is gone for everything else: lists, look-ups by id or
code, new subscriptions and retention offers (every one of them starts from `discounts_of`). Its code stays taken.
"""

import re
from collections.abc import Mapping

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from core.clock import utcnow
from merchants import inputs
from merchants.inputs import MerchantErrorCode, MerchantInputError
from models import Discount, Subscription
from models.base import Columns
from models.enums import DiscountDuration, DiscountType
from models.ids import find_by_client_id

_CODE = re.compile(r"[A-Z0-9_-]{1,64}")
MAX_BASIS_POINTS = 10_000
MAX_FIXED_AMOUNT = 10**12
MAX_CYCLES = 1000
FIELDS = frozenset({"code", "name", "type", "amount", "currency", "duration", "duration_cycles"})


def discounts_of(business_id: str, livemode: bool) -> QuerySet[Discount]:
    """The business's discounts in this mode that are not deleted."""
    return Discount.filter(business_id=business_id, livemode=livemode, deleted_at__isnull=True)


async def find_discount(business_id: str, livemode: bool, discount_id: object) -> Discount | None:
    return await find_by_client_id(discounts_of(business_id, livemode), discount_id)


async def delete_discount(discount: Discount) -> None:
    """Delete the discount: the row when no subscription carries it, else only its mark (see the module's
    docstring). The mark comes first, so a subscription starting meanwhile cannot pick the discount up."""
    await Discount.filter(id=discount.id).update(deleted_at=utcnow())
    if not await Subscription.exists(discount_id=discount.id):
        await Discount.filter(id=discount.id).delete()


def _code(value: object) -> str:
    code = inputs.text("code", value, 64, required=True).upper()
    if not _CODE.fullmatch(code):
        raise MerchantInputError("code must be letters A–Z, digits, - and _ only", "code")
    return code


def _amount(kind: DiscountType, merged: Mapping[str, object]) -> dict[str, object]:
    if kind == DiscountType.PERCENTAGE:
        inputs.not_given("currency", merged.get("currency"), "applies to fixed discounts only")
        return {"amount": inputs.integer("amount", merged.get("amount"), 1, MAX_BASIS_POINTS), "currency": None}
    return {
        "amount": inputs.integer("amount", merged.get("amount"), 1, MAX_FIXED_AMOUNT),
        "currency": inputs.currency("currency", merged.get("currency")),
    }


def _duration(merged: Mapping[str, object]) -> dict[str, object]:
    duration = inputs.choice("duration", merged.get("duration"), DiscountDuration)
    cycles = merged.get("duration_cycles")
    if duration != DiscountDuration.REPEATING:
        inputs.not_given("duration_cycles", cycles, "applies to repeating discounts only")
        return {"duration": duration, "duration_cycles": None}
    return {"duration": duration, "duration_cycles": inputs.integer("duration_cycles", cycles, 1, MAX_CYCLES)}


def _checked(given: Mapping[str, object], current: Mapping[str, object]) -> Columns:
    """The whole discount as `given` over `current` would make it, normalised; the first bad value raises.

    A field that stops applying (the currency of a discount turned into a percentage) is cleared unless `given`
    sets it."""
    unknown = sorted(set(given) - FIELDS)
    if unknown:
        raise MerchantInputError(f"a discount has no field {unknown[0]}", unknown[0])
    merged = {**current, **given}
    kind = inputs.choice("type", merged.get("type"), DiscountType)
    if current and kind != current["type"] and "amount" not in given:
        raise MerchantInputError("a discount that changes type needs its new amount", "amount")
    if kind == DiscountType.PERCENTAGE and "currency" not in given:
        merged["currency"] = None
    if merged.get("duration") != DiscountDuration.REPEATING and "duration_cycles" not in given:
        merged["duration_cycles"] = None
    return {
        "code": _code(merged.get("code")),
        "name": inputs.text("name", merged.get("name", ""), 200),
        "type": kind,
        **_amount(kind, merged),
        **_duration(merged),
    }


def _taken(code: str) -> MerchantInputError:
    return MerchantInputError(f"the code {code} is already in use", "code", code=MerchantErrorCode.CODE_TAKEN)


async def _ensure_code_free(scope: QuerySet[Discount], code: str, own_id: str | None) -> None:
    if await scope.filter(code=code).exclude(id=own_id or "").exists():
        raise _taken(code)


async def create_discount(business_id: str, livemode: bool, values: Mapping[str, object]) -> Discount:
    checked = _checked(values, {})
    await _ensure_code_free(discounts_of(business_id, livemode), str(checked["code"]), None)
    try:
        return await Discount.create(business_id=business_id, livemode=livemode, **checked)
    except IntegrityError as error:  # another request took the code between the check and the insert
        raise _taken(str(checked["code"])) from error


async def update_discount(discount: Discount, values: Mapping[str, object]) -> Discount:
    """Change the given fields. Subscriptions that already have the discount get its new terms from their next
    renewal on; the number of renewals they have left does not change."""
    current = {field: getattr(discount, field) for field in FIELDS}
    checked = _checked(values, current)
    changed = {field: value for field, value in checked.items() if value != current[field]}
    if not changed:
        return discount
    if "code" in changed:
        scope = discounts_of(discount.business_id, discount.livemode)
        await _ensure_code_free(scope, str(checked["code"]), discount.id)
    discount.update_from_dict(changed)
    try:
        await discount.save(update_fields=list(changed))
    except IntegrityError as error:
        raise _taken(str(checked["code"])) from error
    return discount

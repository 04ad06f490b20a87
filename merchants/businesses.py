"""Businesses as an operator creates and changes them: the profile and branding a portal shows, checked before
anything is written, and a default portal configuration in each mode so a new business's portal works at once.

Uses access.inputs for the one rule of what an email address is.
"""

import re
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from babel import Locale
from tortoise.transactions import in_transaction

from access.inputs import email_problem
from models import Business, PortalConfiguration

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_INVOICE_PREFIX = re.compile(r"[A-Z0-9]{1,12}")
_MAX_TAX_RATE_BP = 10_000


class BusinessInputError(ValueError):
    """A value a business cannot have; nothing was written."""


@dataclass(frozen=True)
class BusinessChanges:
    """What an operator sets; None leaves a field as it is (on creation, as the model's default)."""

    name: str | None = None
    support_email: str | None = None
    primary_color: str | None = None
    accent_color: str | None = None
    logo_url: str | None = None
    headline: str | None = None
    website_url: str | None = None
    default_return_url: str | None = None
    invoice_prefix: str | None = None
    address_country: str | None = None
    tax_rate_bp: int | None = None
    allow_subscription_updates: bool | None = None
    allow_subscription_cancellation: bool | None = None

    def given(self) -> dict[str, object]:
        return {field.name: value for field in fields(self) if (value := getattr(self, field.name)) is not None}


def _text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise BusinessInputError(f"{name} is longer than {limit} characters")
    return value


def _url(name: str, value: str) -> str:
    value = _text(name, value, 500)
    if value and (urlsplit(value).scheme != "https" or not urlsplit(value).netloc):
        raise BusinessInputError(f"{name} must be an https:// URL")
    return value


def _checked(changes: BusinessChanges) -> dict[str, object]:
    """The given values, normalised; the first bad one raises BusinessInputError."""
    checked: dict[str, object] = {}
    for field, value in changes.given().items():
        if field == "name" and not _text("name", str(value), 200):
            raise BusinessInputError("name must not be empty")
        if field == "support_email" and email_problem(str(value).strip(), "en"):
            raise BusinessInputError("support email must be an email address such as help@example.com")
        if field in {"primary_color", "accent_color"} and not _HEX_COLOUR.fullmatch(str(value)):
            raise BusinessInputError(f"{field.replace('_', ' ')} must be a colour such as #0b3d91")
        if field == "invoice_prefix" and not _INVOICE_PREFIX.fullmatch(str(value)):
            raise BusinessInputError("invoice prefix must be 1 to 12 capital letters or digits")
        if field == "address_country" and str(value) not in Locale("en").territories:
            raise BusinessInputError("country must be a two-letter ISO code such as US or JP")
        if field == "tax_rate_bp" and not 0 <= int(value) <= _MAX_TAX_RATE_BP:
            raise BusinessInputError("tax rate must be between 0 and 100 percent")
        if field in {"logo_url", "website_url", "default_return_url"}:
            value = _url(field.replace("_", " "), str(value))
        elif isinstance(value, str):
            value = _text(field.replace("_", " "), value, 300 if field == "headline" else 254)
        checked[field] = value
    return checked


async def create_business(changes: BusinessChanges) -> Business:
    """A new business with a default portal configuration in live and test mode."""
    if changes.name is None or changes.support_email is None:
        raise BusinessInputError("a business needs a name and a support email")
    values = _checked(changes)
    async with in_transaction():
        business = await Business.create(**values)
        for livemode in (True, False):
            await PortalConfiguration.create(
                business=business,
                livemode=livemode,
                is_default=True,
                name="Default",
                headline=business.headline,
                default_return_url=business.default_return_url,
            )
    return business


async def update_business(business: Business, changes: BusinessChanges) -> Business:
    values = _checked(changes)
    if not values:
        raise BusinessInputError("nothing to change")
    business.update_from_dict(values)
    await business.save(update_fields=list(values))
    return business


async def list_businesses() -> list[Business]:
    return await Business.all().order_by("name", "id")

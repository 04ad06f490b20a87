"""Businesses as an operator (CLI) and the business's own API create and change them: the profile, settings and
branding a portal shows, and the CORS origins whose pages may call the customer API, checked before anything is
written; and a default portal configuration in each mode so a new business's portal works at once.

Uses core.inputs for the one rule of what an email address is.
"""

import re
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from babel import Locale
from tortoise.transactions import in_transaction

from core import inputs as core_inputs
from core.customer_fields import normalised_tax_id
from core.inputs import email_problem
from merchants import inputs
from merchants.features import PortalFeatures, stored_features
from merchants.inputs import LOCAL_HOSTS, MerchantInputError
from models import Business, PortalConfiguration
from models.base import Columns

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_INVOICE_PREFIX = re.compile(r"[A-Z0-9]{1,12}")
_HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
_MAX_TAX_RATE_BP = 10_000
MAX_CORS_ORIGINS = 20
_DEFAULT_PORTS = {"https": 443, "http": 80}
# The longest each text may be, as the model stores it.
_TEXT_LIMITS = {
    "name": 200,
    "headline": 300,
    "address_line1": 200,
    "address_line2": 200,
    "address_city": 100,
    "address_state": 100,
    "address_postal_code": 20,
}
_URLS = ("logo_url", "icon_url", "website_url", "default_return_url")


class BusinessInputError(MerchantInputError):
    """A value a business cannot have; nothing was written."""


@dataclass(frozen=True)
class BusinessChanges:
    """What an operator or the business's API sets; None leaves a field as it is (on creation, as the model's
    default)."""

    name: str | None = None
    support_email: str | None = None
    primary_color: str | None = None
    accent_color: str | None = None
    logo_url: str | None = None
    icon_url: str | None = None
    headline: str | None = None
    website_url: str | None = None
    default_return_url: str | None = None
    invoice_prefix: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_city: str | None = None
    address_state: str | None = None
    address_postal_code: str | None = None
    address_country: str | None = None
    tax_rate_bp: int | None = None
    tax_id: str | None = None
    allow_subscription_updates: bool | None = None
    allow_subscription_cancellation: bool | None = None
    cors_origins: list[str] | None = None

    def given(self) -> dict[str, object]:
        return {field.name: value for field in fields(self) if (value := getattr(self, field.name)) is not None}


def cors_origin(value: object) -> str:
    """An origin such as `https://app.example.com` or `https://app.example.com:8443`, normalised (lower-case host,
    no default port); `http://` only for localhost and 127.0.0.1."""
    if not isinstance(value, str):
        raise BusinessInputError("a CORS origin must be a text", "cors_origins")
    problem = _origin_problem(value.strip())
    if problem:
        message = f"{value!r} is not an origin such as https://app.example.com: it needs {problem}"
        raise BusinessInputError(message, "cors_origins")
    parts = urlsplit(value.strip())
    scheme, port = parts.scheme.lower(), parts.port
    return f"{scheme}://{parts.hostname}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def _origin_problem(text: str) -> str | None:
    """What an origin lacks, in the words of the refusal; None for a good one."""
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed IPv6 bracket, say
        return "a host name"
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or (scheme == "http" and host not in LOCAL_HOSTS):
        return "https://, or http:// for localhost"
    if parts.username is not None or parts.password is not None:
        return "no user name or password"
    if parts.path or parts.query or parts.fragment or text.endswith(("/", "?", "#")):
        return "no path, query or fragment"
    try:
        port = parts.port
    except ValueError:  # past 65535, or not a number
        port = 0
    if port == 0:
        return "a port from 1 to 65535"
    if not host or not _HOSTNAME.fullmatch(host):
        return "a host name"
    return None


def cors_origins(values: object) -> list[str]:
    """The normalised origins, each once, in the order given."""
    if not isinstance(values, list):
        raise BusinessInputError("CORS origins must be a list of origins", "cors_origins")
    origins = list(dict.fromkeys(cors_origin(value) for value in values))
    if len(origins) > MAX_CORS_ORIGINS:
        raise BusinessInputError(f"a business lists at most {MAX_CORS_ORIGINS} CORS origins", "cors_origins")
    return origins


def _checked_value(field: str, value: object) -> object:
    if field == "support_email":
        address = inputs.text(field, value, 254)
        if email_problem(address, "en"):
            raise BusinessInputError("support email must be an email address such as help@example.com", field)
        return address
    if field in {"primary_color", "accent_color"}:
        if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
            raise BusinessInputError(f"{field.replace('_', ' ')} must be a colour such as #0b3d91", field)
        return value
    if field == "invoice_prefix":
        if not isinstance(value, str) or not _INVOICE_PREFIX.fullmatch(value):
            raise BusinessInputError("invoice prefix must be 1 to 12 capital letters or digits", field)
        return value
    if field == "address_country":
        if not isinstance(value, str) or (value and value not in Locale("en").territories):
            raise BusinessInputError("country must be a two-letter ISO code such as US or JP", field)
        return value
    if field == "tax_rate_bp":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_TAX_RATE_BP:
            raise BusinessInputError("tax rate must be between 0 and 100 percent", field)
        return value
    if field in {"allow_subscription_updates", "allow_subscription_cancellation"}:
        return inputs.flag(field, value)
    if field == "cors_origins":
        return cors_origins(value)
    if field in _URLS:
        return inputs.web_url(field, value)
    return inputs.text(field, value, _TEXT_LIMITS[field], required=field == "name")


def _tax_id(value: object, country: str) -> str:
    """The business's tax ID, trimmed, checked and normalised as a customer's is for its country (an EU VAT number
    with its country prefix); "" clears it."""
    trimmed = inputs.text("tax_id", value, core_inputs.TAX_ID.max_length)
    normalised = normalised_tax_id(trimmed, country) if trimmed else trimmed
    if normalised is None:
        raise BusinessInputError(f"{trimmed!r} is not a valid tax ID for {country}", "tax_id")
    return normalised


def _checked(changes: BusinessChanges, country: str = "") -> Columns:
    """The given values, normalised; the first bad one raises BusinessInputError. A tax ID is read in the country
    given with it, else in `country` (the business's own)."""
    try:
        values = {field: _checked_value(field, value) for field, value in changes.given().items() if field != "tax_id"}
        if changes.tax_id is not None:
            values["tax_id"] = _tax_id(changes.tax_id, str(values.get("address_country", country)))
        return values
    except BusinessInputError:
        raise
    except MerchantInputError as error:
        raise BusinessInputError(error.message, error.field, error.code) from None


async def create_business(changes: BusinessChanges) -> Business:
    """A new business with a default portal configuration in live and test mode."""
    if changes.name is None or changes.support_email is None:
        missing = "name" if changes.name is None else "support_email"
        raise BusinessInputError("a business needs a name and a support email", missing)
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
                features=stored_features(PortalFeatures()),
            )
    return business


async def update_business(business: Business, changes: BusinessChanges) -> Business:
    values = _checked(changes, business.address_country)
    if not values:
        raise BusinessInputError("nothing to change", None)
    business.update_from_dict(values)
    await business.save(update_fields=list(values))
    return business


async def list_businesses() -> list[Business]:
    return await Business.all().order_by("name", "id")

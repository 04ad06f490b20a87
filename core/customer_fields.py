"""The rules of a customer's own fields, the same for the portal's profile and the merchant API: how each value is
checked and normalised, in the reader's language, naming the GraphQL input field it blames (`phoneNumber`,
`billingAddress.country`):

- text within the column's length (core.inputs), without line breaks or control characters;
- a country is an ISO 3166-1 alpha-2 code of a country or territory Babel knows;
- a phone number is read with the billing country as its region and stored in E.164 (`+4930123456`);
- a tax ID is checked for the billing country with python-stdnum (EU VAT numbers with or without their country
  prefix, stored with it; GB VAT, AU ABN, IN GSTIN, CH and NO VAT); elsewhere a trimmed value is kept as typed.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from gettext import NullTranslations

import phonenumbers
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from core import inputs
from core.display import country_name, known_country
from core.errors import DomainError, DomainErrors
from core.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, supported_locale, translations
from models import Customer

# Greece writes EL, not GR, in front of its VAT numbers.
_EU_VAT_PREFIXES = {"GR": "EL"}
_EU_COUNTRIES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES if code != "xi")
# Other countries' registration numbers: the python-stdnum number kind, and the prefix kept in the stored form.
_TAX_IDS = {"GB": ("vat", "GB"), "AU": ("abn", ""), "IN": ("gstin", ""), "CH": ("vat", ""), "NO": ("mva", "")}


class ProfileErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_ALLOWED = "NOT_ALLOWED"
    RATE_LIMITED = "RATE_LIMITED"


class FieldError(DomainError[ProfileErrorCode]):
    """One refused input: a stable code, the input field to blame and a sentence in the reader's language."""

    def __init__(self, code: ProfileErrorCode, field: str, message: str) -> None:
        super().__init__(code, field, message)


class ProfileError(DomainErrors):
    """A change that cannot be made as asked, naming every refused input; nothing was changed."""


@dataclass(frozen=True)
class AddressChanges:
    """The parts of a billing address to change; None leaves one as it is."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class ProfileChanges:
    """What the customer asked to change; None leaves a field as it is, an empty string clears it."""

    name: str | None = None
    phone_number: str | None = None
    billing_address: AddressChanges | None = None
    tax_id: str | None = None
    locale: str | None = None


# Each part of the address: its Customer column, its input field and its length limit.
_ADDRESS_PARTS = {
    "line1": ("billing_line1", "billingAddress.line1", inputs.ADDRESS_LINE),
    "line2": ("billing_line2", "billingAddress.line2", inputs.ADDRESS_LINE),
    "city": ("billing_city", "billingAddress.city", inputs.CITY),
    "state": ("billing_state", "billingAddress.state", inputs.STATE),
    "postal_code": ("billing_postal_code", "billingAddress.postalCode", inputs.POSTAL_CODE),
}


@dataclass(frozen=True)
class _Check:
    """Checks the inputs of one record, collecting what it refuses."""

    t: NullTranslations
    locale: str
    errors: list[FieldError]

    def refuse(self, field: str, message: str) -> None:
        self.errors.append(FieldError(ProfileErrorCode.INVALID_INPUT, field, message))

    def text(self, value: str, field: str, limit: inputs.TextLimit) -> str | None:
        """The trimmed text, or None when it is refused."""
        value = value.strip()
        if any(unicodedata.category(char) == "Cc" for char in value):
            self.refuse(field, self.t.gettext("Remove the line breaks and control characters."))
        elif not limit.allows(value):
            self.refuse(field, limit.message(self.locale))
        else:
            return value
        return None

    def country(self, value: str) -> str | None:
        code = value.strip().upper()
        if code and not known_country(code):
            self.refuse(
                "billingAddress.country", self.t.gettext("Choose a country: a two-letter code such as DE or JP.")
            )
            return None
        return code

    def phone(self, value: str, country: str) -> str | None:
        trimmed = self.text(value, "phoneNumber", inputs.PHONE)
        if not trimmed:
            return trimmed
        try:
            number = phonenumbers.parse(trimmed, country or None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            message = self.t.gettext(
                "Enter a valid phone number. A number outside your billing country starts with + and its country code."
            )
            self.refuse("phoneNumber", message)
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def tax_id(self, value: str, country: str) -> str | None:
        trimmed = self.text(value, "taxId", inputs.TAX_ID)
        if not trimmed:
            return trimmed
        normalised = normalised_tax_id(trimmed, country)
        if normalised is None:
            message = self.t.gettext("This is not a valid tax ID for %(country)s.")
            self.refuse("taxId", message % {"country": country_name(country, self.locale)})
        return normalised

    def language(self, value: str) -> str | None:
        code = supported_locale(value.strip()) if value.strip() else ""
        if code is None:
            message = self.t.gettext("Choose one of the portal's languages: %(languages)s.")
            self.refuse("locale", message % {"languages": ", ".join(SUPPORTED_LOCALES)})
            return None
        return code


def normalised_tax_id(value: str, country: str) -> str | None:
    """The stored form of a trimmed tax ID in `country` (EU and GB VAT numbers with their prefix), None when it is
    not valid there; kept as typed in a country whose numbers python-stdnum is not asked to check. A customer's and
    a business's tax IDs follow this one rule."""
    if not (country in _EU_COUNTRIES or country in _TAX_IDS):
        return value
    try:
        if country in _EU_COUNTRIES:
            prefix = _EU_VAT_PREFIXES.get(country, country)
            number = value.upper()
            if not number[:2].isalpha():
                number = prefix + number
            elif number[:2] not in {prefix, country}:
                return None
            return prefix + eu_vat.validate(number)[2:]
        kind, prefix = _TAX_IDS[country]
        module = get_cc_module(country.lower(), kind)
        assert module is not None, f"python-stdnum has no {kind} module for {country}"
        return prefix + module.validate(value)
    except ValidationError:
        return None


def _new_values(customer: Customer, changes: ProfileChanges, check: _Check) -> dict[str, str | None]:
    """The Customer columns the changes set, checked and normalised for this record (its billing country reads its
    phone number and tax ID); a refused value is None, and `check` holds why."""
    values: dict[str, str | None] = {}
    if changes.name is not None:
        values["name"] = check.text(changes.name, "name", inputs.NAME)
    address = changes.billing_address
    if address is not None:
        for part, (column, field, limit) in _ADDRESS_PARTS.items():
            if (given := getattr(address, part)) is not None:
                values[column] = check.text(given, field, limit)
        if address.country is not None:
            values["billing_country"] = check.country(address.country)
    # A refused country (None) leaves the phone number and tax ID to be read in the current one.
    country = values.get("billing_country")
    country = customer.billing_country if country is None else country
    if changes.phone_number is not None:
        values["phone_number"] = check.phone(changes.phone_number, country)
    if changes.tax_id is not None:
        values["tax_id"] = check.tax_id(changes.tax_id, country)
    if changes.locale is not None:
        values["locale"] = check.language(changes.locale)
    return values


def checked_values_of(
    customers: Sequence[Customer], changes: ProfileChanges, locale: str = DEFAULT_LOCALE
) -> list[dict[str, str]]:
    """For each record, the Customer columns the changes set, checked and normalised for it; raises ProfileError
    naming every input refused for any record."""
    check = _Check(translations(locale), locale, [])
    planned = [_new_values(customer, changes, check) for customer in customers]
    if check.errors:
        raise ProfileError(check.errors)
    # Without errors no value is None: this only says so to the type checker.
    return [{column: value for column, value in values.items() if value is not None} for values in planned]


def checked_values(customer: Customer, changes: ProfileChanges, locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The Customer columns the changes set, checked and normalised as the portal does (the merchant API uses the same
    rules for the records it creates and updates); raises ProfileError naming every refused input."""
    return checked_values_of([customer], changes, locale)[0]

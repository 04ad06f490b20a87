"""The customer's profile: what they may change (name, phone, billing address, tax ID, preferred language), how each
value is checked and normalised, and updating one record or every record in scope, all or nothing.

Checks speak the reader's language and name the GraphQL input field they blame (`phoneNumber`,
`billingAddress.country`), so the mutation and the profile page show the same words next to the same field:

- text within the column's length (access.inputs), without line breaks or control characters;
- a country is an ISO 3166-1 alpha-2 code of a country or territory Babel knows;
- a phone number is read with the billing country as its region and stored in E.164 (`+4930123456`);
- a tax ID is checked for the billing country with python-stdnum (EU VAT numbers with or without their country
  prefix, stored with it; GB VAT, AU ABN, IN GSTIN, CH and NO VAT); elsewhere a trimmed value is kept as typed.

The business's portal configuration (`customer_update`) decides which fields it lets the customer change; the
preferred language is the customer's own choice of how the portal and its emails speak to them, so it is always
theirs to change. Invoices keep the snapshot taken when they were issued: a change applies to future invoices only.

Uses merchants.features for the fields a business allows and their vocabulary (ProfileField). The merchant API checks
the customers it creates and updates with `checked_values`.
"""

import functools
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from babel import Locale
from babel.support import Translations
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from tortoise.transactions import in_transaction

from access import inputs
from access.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, babel_locale, supported_locale, translations
from access.viewer import Viewer
from merchants.features import PortalFeatures, ProfileField
from models import Customer
from models.enums import Scope


def readable_phone(stored: str) -> str:
    """A stored E.164 number as people write it across borders (`+44 20 7946 0958`); anything else as it is."""
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class ProfileErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_ALLOWED = "NOT_ALLOWED"
    RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True)
class FieldError:
    """One refused input: a stable code, the input field to blame and a sentence in the reader's language."""

    code: ProfileErrorCode
    field: str
    message: str


class ProfileError(Exception):
    """A change that cannot be made as asked; nothing was changed."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        # The same refusal from several records (applying to all businesses) is said once.
        self.errors = tuple(dict.fromkeys(errors))
        super().__init__("; ".join(error.message for error in self.errors))


# The input field each one blames when a business does not allow it.
INPUT_FIELDS = {
    ProfileField.NAME: "name",
    ProfileField.EMAIL: "newEmail",
    ProfileField.PHONE_NUMBER: "phoneNumber",
    ProfileField.BILLING_ADDRESS: "billingAddress",
    ProfileField.TAX_ID: "taxId",
    ProfileField.LOCALE: "locale",
}

# Babel knows these two-letter codes, but they name no country a billing address can be in: groupings, CLDR's
# pseudo-locales and the unknown region, and places ISO 3166-1 only reserves (their countries' codes apply).
_NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"})
# Greece writes EL, not GR, in front of its VAT numbers.
_EU_VAT_PREFIXES = {"GR": "EL"}
_EU_COUNTRIES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES if code != "xi")
# Other countries' registration numbers: the python-stdnum number kind, and the prefix kept in the stored form.
_TAX_IDS = {"GB": ("vat", "GB"), "AU": ("abn", ""), "IN": ("gstin", ""), "CH": ("vat", ""), "NO": ("mva", "")}
# Letters a language sorts after z, in its order (Swedish: å, ä, ö); they take the code points right after `z`.
_LETTERS_AFTER_Z = {"sv": "åäö"}


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

    def asked(self) -> set[ProfileField]:
        given = {
            ProfileField.NAME: self.name,
            ProfileField.PHONE_NUMBER: self.phone_number,
            ProfileField.BILLING_ADDRESS: self.billing_address,
            ProfileField.TAX_ID: self.tax_id,
            ProfileField.LOCALE: self.locale,
        }
        return {field for field, value in given.items() if value is not None}


# Each part of the address: its Customer column, its input field and its length limit.
_ADDRESS_PARTS = {
    "line1": ("billing_line1", "billingAddress.line1", inputs.ADDRESS_LINE),
    "line2": ("billing_line2", "billingAddress.line2", inputs.ADDRESS_LINE),
    "city": ("billing_city", "billingAddress.city", inputs.CITY),
    "state": ("billing_state", "billingAddress.state", inputs.STATE),
    "postal_code": ("billing_postal_code", "billingAddress.postalCode", inputs.POSTAL_CODE),
}


def editable_fields(features: PortalFeatures) -> frozenset[ProfileField]:
    """What a business's portal configuration lets the customer change; the language is always theirs."""
    update = features.customer_update
    return frozenset((*(update.allowed_updates if update.enabled else ()), ProfileField.LOCALE))


@functools.cache
def _country_codes() -> frozenset[str]:
    territories = Locale.parse(DEFAULT_LOCALE).territories
    return frozenset(code for code in territories if len(code) == 2 and code.isalpha()) - _NOT_COUNTRIES


def known_country(code: str) -> bool:
    return code in _country_codes()


def country_name(code: str, locale: str) -> str:
    """A country's name in the reader's language (`Deutschland`, `ドイツ`), or the code when Babel has none."""
    return Locale.parse(babel_locale(locale)).territories.get(code, code)


@functools.cache
def country_choices(locale: str) -> tuple[tuple[str, str], ...]:
    """Every country as (code, name in that language), in the order a reader of that language looks for it."""
    names = Locale.parse(babel_locale(locale)).territories
    countries = [(code, names.get(code, code)) for code in _country_codes()]
    return tuple(sorted(countries, key=lambda country: (_collation_key(country[1], locale), country[1])))


def _collation_key(name: str, locale: str) -> str:
    """Alphabetical order without an ICU collator: accents and case only break ties (Åland beside Albania, Côte
    d'Ivoire beside Costa Rica), except for the letters a language sorts after z; Japanese kana sort by sound, with
    or without dakuten, and names in kanji after them."""
    after_z = _LETTERS_AFTER_Z.get(locale, "")
    key = []
    for char in name.casefold():
        if char in after_z:
            key.append(chr(ord("z") + 1 + after_z.index(char)))
        else:
            key.extend(part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part))
    return "".join(key)


@dataclass(frozen=True)
class _Check:
    """Checks the inputs of one record, collecting what it refuses."""

    t: Translations
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
        value = self.text(value, "phoneNumber", inputs.PHONE)
        if not value:
            return value
        try:
            number = phonenumbers.parse(value, country or None)
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
        value = self.text(value, "taxId", inputs.TAX_ID)
        if not value or not (country in _EU_COUNTRIES or country in _TAX_IDS):
            return value
        normalised = _normalised_tax_id(value, country)
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


def _normalised_tax_id(value: str, country: str) -> str | None:
    """The stored form of a tax ID valid in `country` (EU and GB VAT numbers with their prefix), else None."""
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
        return prefix + get_cc_module(country.lower(), kind).validate(value)
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


def checked_values(customer: Customer, changes: ProfileChanges, locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The Customer columns the changes set, checked and normalised as the portal does (the merchant API uses the same
    rules for the records it creates and updates); raises ProfileError naming every refused input."""
    check = _Check(translations(locale), locale, [])
    values = _new_values(customer, changes, check)
    if check.errors:
        raise ProfileError(check.errors)
    return values  # type: ignore[return-value]  -- without errors, no value is None


def records_to_update(
    viewer: Viewer, business_id: str | None, apply_to_all: bool, locale: str
) -> tuple[Customer, ...] | None:
    """The records a profile change is for: every record in scope, the named business's, or (BUSINESS scope) the
    session's. None when the business named is not in scope, exists or not."""
    t = translations(locale)
    if apply_to_all and business_id is not None:
        message = t.gettext("Choose one business or all of them, not both.")
        raise ProfileError([FieldError(ProfileErrorCode.INVALID_INPUT, "applyToAllBusinesses", message)])
    if apply_to_all or (business_id is None and viewer.scope == Scope.BUSINESS):
        return viewer.customers
    if business_id is None:
        message = t.gettext("Choose a business, or apply the change to all your businesses.")
        raise ProfileError([FieldError(ProfileErrorCode.INVALID_INPUT, "businessId", message)])
    records = tuple(customer for customer in viewer.customers if customer.business_id == business_id)
    return records or None


def refused_fields(
    customer: Customer, asked: set[ProfileField], features: PortalFeatures, locale: str
) -> list[FieldError]:
    """A NOT_ALLOWED error for each asked field the record's business does not let the customer change."""
    refused = sorted(asked - editable_fields(features), key=list(ProfileField).index)
    message = translations(locale).gettext("%(business)s does not let you change this here. Contact them instead.")
    return [
        FieldError(ProfileErrorCode.NOT_ALLOWED, INPUT_FIELDS[field], message % {"business": customer.business.name})
        for field in refused
    ]


async def update_profiles(
    customers: Sequence[Customer], changes: ProfileChanges, features: Mapping[str, PortalFeatures], locale: str
) -> tuple[Customer, ...]:
    """Apply the changes to every record, in one transaction; raises ProfileError, changing nothing, when any
    record's business refuses a field or any value is invalid for any record. `features` is by business id."""
    asked = changes.asked()
    errors = [
        error
        for customer in customers
        for error in refused_fields(customer, asked, features[customer.business_id], locale)
    ]
    if errors:
        raise ProfileError(errors)
    check = _Check(translations(locale), locale, [])
    planned = [(customer, _new_values(customer, changes, check)) for customer in customers]
    if check.errors:
        raise ProfileError(check.errors)
    async with in_transaction():
        for customer, values in planned:
            if values:
                for column, value in values.items():
                    setattr(customer, column, value)
                await customer.save(update_fields=list(values))
    return tuple(customer for customer, _ in planned)

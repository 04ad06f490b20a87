"""The rules every merchant input shares (texts, URLs, counts, currencies) and the error a refused value raises.

Each check takes the input's field name (snake_case, a dotted path inside nested inputs) so the error can blame it;
the API layers turn that name into their own spelling.
"""

from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from babel.numbers import list_currencies

from core.errors import DomainError
from core.inputs import has_control_characters

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
URL_LIMIT = 500

E = TypeVar("E", bound=StrEnum)


class MerchantErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CODE_TAKEN = "CODE_TAKEN"
    DEFAULT_REQUIRED = "DEFAULT_REQUIRED"
    PRODUCT_IN_ANOTHER_COLLECTION = "PRODUCT_IN_ANOTHER_COLLECTION"
    LIVE_KEY_REQUIRED = "LIVE_KEY_REQUIRED"
    INVALID_URL = "INVALID_URL"
    INVALID_EVENT_TYPE = "INVALID_EVENT_TYPE"


class MerchantInputError(DomainError[MerchantErrorCode]):
    """A value the merchant's request cannot have; nothing was written. Messages are English: the merchant API's
    language."""

    def __init__(
        self, message: str, field: str | None = None, code: MerchantErrorCode = MerchantErrorCode.INVALID_INPUT
    ) -> None:
        super().__init__(code, field, message)


def label(field: str) -> str:
    """How a message names a field: `support_email` reads `support email`."""
    return field.rsplit(".", 1)[-1].replace("_", " ")


def present(field: str, value: object) -> object:
    if value is None:
        raise MerchantInputError(f"{label(field)} is required", field)
    return value


def text(field: str, value: object, limit: int, *, required: bool = False, multiline: bool = False) -> str:
    """One line of text (names reach email headers and subjects); `multiline` allows line breaks and tabs too."""
    value = present(field, value)
    if not isinstance(value, str):
        raise MerchantInputError(f"{label(field)} must be a text", field)
    value = value.strip()
    if required and not value:
        raise MerchantInputError(f"{label(field)} must not be empty", field)
    if len(value) > limit:
        raise MerchantInputError(f"{label(field)} is longer than {limit} characters", field)
    if has_control_characters(value, line_breaks=multiline):
        what = "control characters" if multiline else "line breaks or control characters"
        raise MerchantInputError(f"{label(field)} must not contain {what}", field)
    return value


def web_url(field: str, value: object, *, local_http: bool = False) -> str:
    """An absolute https URL, or "" to clear it; with `local_http`, plain http too for localhost and 127.0.0.1."""
    value = text(field, value, URL_LIMIT)
    if not value:
        return value
    parts = urlsplit(value)
    plain_local = local_http and parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
    if not parts.hostname or (parts.scheme != "https" and not plain_local):
        allowed = "an https:// URL (http:// only for localhost)" if local_http else "an https:// URL"
        raise MerchantInputError(f"{label(field)} must be {allowed}", field)
    return value


def integer(field: str, value: object, minimum: int, maximum: int) -> int:
    # bool is an int to Python, never to a merchant.
    value = present(field, value)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise MerchantInputError(f"{label(field)} must be a whole number from {minimum} to {maximum}", field)
    return value


def flag(field: str, value: object) -> bool:
    value = present(field, value)
    if not isinstance(value, bool):
        raise MerchantInputError(f"{label(field)} must be true or false", field)
    return value


def choice(field: str, value: object, allowed: type[E]) -> E:
    """The member of the StrEnum `allowed` whose value `value` is."""
    known = [str(member) for member in allowed]
    value = present(field, value)
    if not isinstance(value, str) or value not in known:
        raise MerchantInputError(f"{label(field)} must be one of {', '.join(known)}", field)
    return allowed(value)


def currency(field: str, value: object) -> str:
    """An ISO 4217 code Babel knows, in upper case."""
    value = present(field, value)
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in list_currencies():
        raise MerchantInputError(f"{label(field)} must be an ISO 4217 code such as USD or JPY", field)
    return code


def not_given(field: str, value: object, reason: str) -> None:
    """Refuse a value for a field that does not apply, saying why."""
    if value is not None:
        raise MerchantInputError(f"{label(field)} {reason}", field)

"""The error type both GraphQL schemas share and the one mapper from a domain's DomainError to it: a mutation's
expected failures are data in `errors: [UserError!]!`, never exceptions.

`ErrorCode` is every domain's code enum in one GraphQL enum, so a client can switch over the codes the schema
declares; a domain adding a code adds it here by construction.
"""

from collections.abc import Callable
from enum import Enum, StrEnum
from typing import Any

import strawberry
from strawberry.utils.str_converters import to_camel_case

from access.access_tokens import AccessTokenErrorCode
from access.login_links import PortalLinkErrorCode
from billing.errors import BillingErrorCode
from billing.license_activation import LicenseErrorCode
from core.customer_fields import ProfileErrorCode
from core.errors import DomainError
from merchants.custom_domains import CustomDomainErrorCode
from merchants.inputs import MerchantErrorCode

DOMAIN_CODES: tuple[type[StrEnum], ...] = (
    BillingErrorCode,
    LicenseErrorCode,
    ProfileErrorCode,
    PortalLinkErrorCode,
    AccessTokenErrorCode,
    MerchantErrorCode,
    CustomDomainErrorCode,
)

# Built from the domains' enums rather than restated, so a code can't be raised that the schema doesn't declare.
_CODES = sorted({code.value for codes in DOMAIN_CODES for code in codes})
_ErrorCode: type[Enum] = Enum("ErrorCode", [(code, code) for code in _CODES])  # type: ignore[misc]
ErrorCode = strawberry.enum(
    _ErrorCode,
    description="Why a mutation refused its input. Each error also names the input field to blame, when one is.",
)


@strawberry.type(description="An expected failure of a mutation, such as an unknown id or a malformed input.")
class UserError:
    code: ErrorCode = strawberry.field(description="A stable, machine-readable code such as NOT_FOUND.")  # type: ignore[valid-type]
    field: str | None = strawberry.field(description="The input field to blame, as a path, when a single one is.")
    message: str = strawberry.field(description="A sentence for the reader: the customer's language, or English.")


def camel_path(field: str | None) -> str | None:
    """`features.subscription_cancel.mode` as the schema spells it: `features.subscriptionCancel.mode`."""
    return None if field is None else ".".join(to_camel_case(part) for part in field.split("."))


def _as_is(message: str) -> str:
    return message


def user_errors(error: DomainError[Any], translate: Callable[[str], str] = _as_is) -> list[UserError]:
    """Each refusal the error stands for; `translate` turns its message into the reader's language."""
    return [
        UserError(code=ErrorCode(each.code.value), field=camel_path(each.field), message=each.text(translate))
        for each in error.details()
    ]


def user_error(error: DomainError[Any], translate: Callable[[str], str] = _as_is) -> UserError:
    return user_errors(error, translate)[0]

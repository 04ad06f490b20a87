"""DomainError: the one shape of an expected failure, whichever domain refuses and whichever surface answers.

A domain raises a DomainError with a code from an enum it owns (billing's `BillingErrorCode`, the merchant inputs'
`MerchantErrorCode`, …), the input to blame as a snake_case path (`billing.address.country`) and a message: an
English source string that may carry `%(name)s` parameters, filled in only after the reader's surface has
translated it. Nothing was changed when one is raised.

Each surface maps DomainErrors once: schema/common/errors.py into GraphQL `UserError`s, the REST API's error module
into its JSON errors, the pages into the message beside a form. No domain knows those surfaces.
"""

from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Generic, TypeVar

Code = TypeVar("Code", bound=StrEnum)


def N_(message: str) -> str:  # noqa: N802 -- gettext's conventional name for "mark for extraction, translate later"
    return message


def _as_is(message: str) -> str:
    return message


class DomainError(Exception, Generic[Code]):
    """An action that cannot be done as asked; nothing was changed."""

    def __init__(
        self,
        code: Code,
        field: str | None = None,
        message: str = "",
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.code: Code = code
        self.field = field
        self.message = message or code.value
        self.params: Mapping[str, object] = params or {}
        super().__init__(self.text())

    def details(self) -> Sequence["DomainError[Any]"]:
        """Each refusal this error stands for: itself, unless it refuses several inputs at once."""
        return (self,)

    def text(self, translate: Callable[[str], str] = _as_is) -> str:
        """The message in the reader's language (`translate` is a gettext), its parameters filled in."""
        template = translate(self.message)
        return template % self.params if self.params else template


class DomainErrors(DomainError[Any]):
    """Several refused inputs of one request, each with its own code, field and message."""

    def __init__(self, errors: Sequence[DomainError[Any]]) -> None:
        # The same refusal reached from several records (a change applied to every business) is said once.
        unique = {(error.code, error.field, error.message): error for error in errors}
        self.errors: tuple[DomainError[Any], ...] = tuple(unique.values())
        first = self.errors[0]
        super().__init__(first.code, first.field, first.message, first.params)

    def details(self) -> Sequence[DomainError[Any]]:
        return self.errors

"""The pages' mapper of a domain's refusal: the sentence shown beside a form, in the reader's language.

Most refusals reach a page through the customer schema, already translated in its `UserError`s; this is for the
few a page finds itself (an error code a redirect carried, an answer the schema could not even take).
"""

from typing import Any

from core.errors import DomainError
from core.i18n import translations


def page_message(error: DomainError[Any], locale: str) -> str:
    return error.text(translations(locale).gettext)

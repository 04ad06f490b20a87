"""Keeping bearer secrets and card numbers out of the logs: sign-in links carry their token in the URL path
(`/session/cpl_…`), which the server's access log would otherwise write down for anyone who reads the logs to use;
session tokens, API keys, webhook signing secrets and card numbers can reach a log inside an error message or a
client's bad input."""

import logging
import re

from stdnum import luhn

from access.tokens import LINK_PREFIX, SESSION_PREFIX
from merchants.api_keys import LIVE_KEY_PREFIX, TEST_KEY_PREFIX

# Standard Webhooks signing secrets; base64, hence `+`, `/` and `=`.
_WEBHOOK_SECRET_PREFIX = "whsec_"
_PREFIXES = (LINK_PREFIX, SESSION_PREFIX, LIVE_KEY_PREFIX, TEST_KEY_PREFIX, _WEBHOOK_SECRET_PREFIX)
_SECRET = re.compile(rf"({'|'.join(re.escape(prefix) for prefix in _PREFIXES)})[A-Za-z0-9_+/=-]+")
# A card number a client typed into the wrong field can come back in an error message: 13 to 19 digits, maybe
# grouped, that pass the Luhn check (which spares most timestamps and counters).
_DIGITS = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
ACCESS_LOGGER = "uvicorn.access"


def redact_secrets(text: str) -> str:
    """`/session/cpl_Xy…` → `/session/cpl_[redacted]`; the same for `cps_`, `sk_live_`, `sk_test_`, `whsec_`; and
    anything that may be a card number → `[card number redacted]`."""
    return _DIGITS.sub(_redact_card_number, _SECRET.sub(r"\1[redacted]", text))


def _redact_card_number(digits: re.Match) -> str:
    return "[card number redacted]" if luhn.is_valid(re.sub(r"\D", "", digits[0])) else digits[0]


class SecretRedactingFilter(logging.Filter):
    """Rewrites the message, every string argument and the traceback text of a log record without its secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_secrets(arg) if isinstance(arg, str) else arg for arg in record.args)
        if record.exc_info and not record.exc_text:
            # Handlers print `exc_text` when it is set, instead of formatting the exception again.
            record.exc_text = redact_secrets(logging.Formatter().formatException(record.exc_info))
        return True


def redact_secrets_in(*logger_names: str) -> None:
    """Install the filter on each logger once, however many apps a process creates."""
    for name in logger_names:
        log = logging.getLogger(name)
        if not any(isinstance(existing, SecretRedactingFilter) for existing in log.filters):
            log.addFilter(SecretRedactingFilter())

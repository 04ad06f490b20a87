"""Keeping bearer secrets out of the logs: sign-in links carry their token in the URL path (`/session/cpl_…`),
which the server's access log would otherwise write down for anyone who reads the logs to use."""

import logging
import re

from access.tokens import LINK_PREFIX, SESSION_PREFIX

_TOKEN = re.compile(rf"({re.escape(LINK_PREFIX)}|{re.escape(SESSION_PREFIX)})[A-Za-z0-9_-]+")
ACCESS_LOGGER = "uvicorn.access"


def redact_tokens(text: str) -> str:
    """`/session/cpl_Xy…` → `/session/cpl_[redacted]`."""
    return _TOKEN.sub(r"\1[redacted]", text)


class TokenRedactingFilter(logging.Filter):
    """Rewrites every string argument (and the message) of a log record without its tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_tokens(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def redact_tokens_in_access_log() -> None:
    """Install the filter on the access log once, however many apps a process creates."""
    access_log = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, TokenRedactingFilter) for existing in access_log.filters):
        access_log.addFilter(TokenRedactingFilter())

"""How the portal's processes write their logs: every logger (the portal's, uvicorn's, the libraries') through one
handler on stderr, as text lines or, with PORTAL_LOG_FORMAT=json, one JSON object per line (orjson) with `timestamp`
(UTC, ISO 8601), `level`, `logger` and `message`, plus, on the request log's lines (gateway.http.access_log),
`request_id`, `method`, `route` (the route's template, never the address), `status`, `duration_ms` and `client`.

Secrets stay out either way: the loggers that write request data carry gateway.http.log_redaction's filter, and the
JSON formatter passes the message and any traceback through the same redaction once more.

`portal serve` hands `uvicorn_log_config` to uvicorn, which applies it in each of its worker processes as well.
"""

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.http.log_redaction import redact_secrets
from gateway.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What a record may carry besides its message (`extra=`), written as JSON fields of their own.
REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "client")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_secrets(record.getMessage()),
        }
        for name in REQUEST_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact_secrets(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # orjson escapes control characters, so a newline in a message stays inside its line.
        return orjson.dumps(entry, default=str).decode()


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` configuration: the root logger writes to stderr in the configured format, and
    uvicorn's loggers hand their records to it instead of printing their own."""
    formatter = {"()": JsonFormatter} if settings.log_format == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"portal": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "portal", "stream": "ext://sys.stderr"}},
        "root": {"level": settings.log_level, "handlers": ["stderr"]},
        "loggers": {name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS},
    }


def configure_logging(settings: Settings) -> None:
    """Set this process's logging up as the settings say."""
    logging.config.dictConfig(logging_config(settings))

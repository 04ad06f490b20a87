"""Keeping bearer secrets and card numbers out of the logs.

A request's address can carry secrets: a sign-in, magic or email-change link's token and the ids of the sandbox
processor's hosted card page and 3-D Secure challenge are path segments (whoever opens such an address acts for its
visitor); the CSRF token a processor round trip returns as `state`, and the card token it hands back, are query
parameters. uvicorn's access log and the portal's own request log write addresses down, so the filter rewrites every
logged address (`/sandbox/setup/[redacted]`, `?state=[redacted]&locale=sv`). The path segments to hide come from the
app's own route table, by parameter name: a new route with a `{token}` is covered from the day it is added.

Session tokens, API keys, webhook signing secrets and card numbers can also reach a log inside an error message or
a client's bad input; they are recognised by their prefix or, for a card number, its Luhn check digit.
"""

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote_plus

from starlette.routing import BaseRoute, Route
from stdnum import luhn

from core.tokens import CHECKOUT_PREFIX, LINK_PREFIX, SESSION_PREFIX
from merchants.api_keys import LIVE_KEY_PREFIX, TEST_KEY_PREFIX

REDACTED = "[redacted]"
# Path parameters that are bearer secrets: an emailed link's token; the sandbox's hosted card page and 3-D Secure
# challenge, which anyone holding the address could fill in or answer; the Stripe pages' SetupIntent and
# PaymentIntent, whose client secrets those pages carry; and a discount's code (a private promotion's).
SECRET_PATH_PARAMETERS = frozenset({"token", "setup_id", "charge_id", "intent_id", "discount_code"})
# Query parameters that are: the CSRF token a processor round trip carries as `state` and the card token it brings
# back; and the names a client may put a token, a CSRF token or a one-time code under, which no route reads.
SECRET_QUERY_PARAMETERS = frozenset({"state", "processor_token", "csrf_token", "token", "access_token", "code"})
# Standard Webhooks and Stripe signing secrets; base64, hence `+`, `/` and `=`.
_WEBHOOK_SECRET_PREFIX = "whsec_"
# Stripe's restricted keys (its secret keys share the prefixes of the portal's own API keys).
_STRIPE_RESTRICTED_PREFIXES = ("rk_live_", "rk_test_")
_PREFIXES = (
    CHECKOUT_PREFIX,
    LINK_PREFIX,
    SESSION_PREFIX,
    LIVE_KEY_PREFIX,
    TEST_KEY_PREFIX,
    _WEBHOOK_SECRET_PREFIX,
    *_STRIPE_RESTRICTED_PREFIXES,
)
_SECRET = re.compile(rf"({'|'.join(re.escape(prefix) for prefix in _PREFIXES)})[A-Za-z0-9_+/=-]+")
# A card number a client typed into the wrong field can come back in an error message: 13 to 19 digits, maybe
# grouped, that pass the Luhn check (which spares most timestamps and counters), standing apart from letters (a hex
# request id that happens to hold such a run must stay readable).
_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z])")
ACCESS_LOGGER = "uvicorn.access"


def redact_secrets(text: str) -> str:
    """`/session/cpl_Xy…` → `/session/cpl_[redacted]`; the same for `cps_`, `sk_live_`, `sk_test_`, `rk_live_`,
    `rk_test_`, `whsec_`; and anything that may be a card number → `[card number redacted]`."""
    return _DIGITS.sub(_redact_card_number, _SECRET.sub(rf"\1{REDACTED}", text))


def _redact_card_number(digits: re.Match) -> str:
    return "[card number redacted]" if luhn.is_valid(re.sub(r"\D", "", digits[0])) else digits[0]


def secret_paths(routes: Iterable[BaseRoute]) -> tuple[re.Pattern[str], ...]:
    """The path pattern of each route with a secret parameter, matched as a prefix, so that a mistyped address
    (`/sandbox/setup/seti_…/`, answered with a redirect or a 404) hides its secret too."""
    return tuple(
        re.compile(route.path_regex.pattern.removesuffix("$"))
        for route in routes
        if isinstance(route, Route) and SECRET_PATH_PARAMETERS & route.param_convertors.keys()
    )


def redact_address(address: str, paths: Iterable[re.Pattern[str]]) -> str:
    """A request's path and query (as an access log writes them) without the secret segments and parameters."""
    path, question_mark, query = address.partition("?")
    for pattern in paths:
        if match := pattern.match(path):
            secret_spans = [match.span(name) for name in SECRET_PATH_PARAMETERS & match.groupdict().keys()]
            for start, end in sorted(secret_spans, reverse=True):
                path = path[:start] + REDACTED + path[end:]
            break
    return path + question_mark + "&".join(_redacted_parameter(pair) for pair in query.split("&"))


def _redacted_parameter(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    return f"{name}={REDACTED}" if equals and unquote_plus(name).lower() in SECRET_QUERY_PARAMETERS else pair


class SecretRedactingFilter(logging.Filter):
    """Rewrites the message, every string argument and the traceback text of a log record without its secrets; an
    argument that is an address (it starts with `/`) also without its secret path segments and query parameters."""

    def __init__(self, paths: tuple[re.Pattern[str], ...]) -> None:
        super().__init__()
        self.paths = paths

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._redacted(arg) if isinstance(arg, str) else arg for arg in record.args)
        if record.exc_info and not record.exc_text:
            # Handlers print `exc_text` when it is set, instead of formatting the exception again.
            record.exc_text = redact_secrets(logging.Formatter().formatException(record.exc_info))
        return True

    def _redacted(self, text: str) -> str:
        return redact_secrets(redact_address(text, self.paths) if text.startswith("/") else text)


def redact_secrets_in(routes: Iterable[BaseRoute], *logger_names: str) -> None:
    """Install the filter on each logger once, however many apps a process creates; the latest app's routes say
    which path segments are secret."""
    paths = secret_paths(routes)
    for name in logger_names:
        log = logging.getLogger(name)
        installed = [existing for existing in log.filters if isinstance(existing, SecretRedactingFilter)]
        for existing in installed:
            existing.paths = paths
        if not installed:
            log.addFilter(SecretRedactingFilter(paths))

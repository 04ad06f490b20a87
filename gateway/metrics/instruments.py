"""The counters and histograms the portal records (prometheus-client), and one function per thing it records.

Every label takes few values, as Prometheus needs: a request's route is its template (`/subscriptions/{id}`),
never its address, and a method outside the HTTP standard's counts as `other`; a GraphQL operation's name (the
client's choice) counts as itself for the first MAX_OPERATION_NAMES names a process sees, `other` after that.

Charges and refunds are reported by billing through core.observations, which `watch_domain_outcomes` connects here.
"""

import re
from collections.abc import Mapping

from prometheus_client import Counter, Histogram

from core.observations import Observed, watch

MAX_OPERATION_NAMES = 200
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: from a cached page (a few ms) to a slow processor call.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "portal_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
GRAPHQL_OPERATIONS = Counter(
    "portal_graphql_operations",
    "GraphQL operations executed, by schema (customer, merchant), operation name and outcome (ok, user_error, error).",
    ["schema", "operation", "outcome"],
)
DOMAIN_OUTCOMES = {
    Observed.CHARGE: Counter("portal_charges", "Charges settled, by outcome (a payment's status).", ["outcome"]),
    Observed.REFUND: Counter("portal_refunds", "Refunds settled, by outcome (a refund's status).", ["outcome"]),
}
WEBHOOK_DELIVERIES = Counter(
    "portal_webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered, failed, endpoint_disabled).",
    ["outcome"],
)
BILLING_RUN_DURATION = Histogram(
    "portal_billing_run_duration_seconds",
    "Time a billing run took.",
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0),
)
BILLING_RUN_ITEMS = Counter(
    "portal_billing_run_items", "What billing runs did, by kind (renewed, put_on_hold, cancelled, ...).", ["kind"]
)
PDF_RENDERS = Counter("portal_pdf_renders", "Billing PDF renders, by outcome (ok, error, busy).", ["outcome"])
PDF_RENDER_DURATION = Histogram(
    "portal_pdf_render_duration_seconds",
    "Time a billing PDF took to render.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

_operation_names: set[str] = set()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "other"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def operation_label(name: str | None) -> str:
    """A GraphQL operation's name as a label: `anonymous`, itself, or `other` (not a name, or one too many)."""
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if len(_operation_names) >= MAX_OPERATION_NAMES or not _OPERATION_NAME.fullmatch(name):
        return "other"
    _operation_names.add(name)
    return name


def observe_graphql(schema: str, operation: str | None, outcome: str) -> None:
    GRAPHQL_OPERATIONS.labels(schema, operation_label(operation), outcome).inc()


def count_webhook_delivery(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def observe_billing_run(seconds: float, items: Mapping[str, int]) -> None:
    BILLING_RUN_DURATION.observe(seconds)
    for kind, count in items.items():
        if count:
            BILLING_RUN_ITEMS.labels(kind).inc(count)


def observe_pdf_render(outcome: str, seconds: float | None = None) -> None:
    PDF_RENDERS.labels(outcome).inc()
    if seconds is not None:
        PDF_RENDER_DURATION.observe(seconds)


def _count_domain_outcome(observed: Observed, outcome: str) -> None:
    DOMAIN_OUTCOMES[observed].labels(outcome).inc()


def watch_domain_outcomes() -> None:
    """Count the charges and refunds billing reports, from now on, in this process."""
    watch(_count_domain_outcome)

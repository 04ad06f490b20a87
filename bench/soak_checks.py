"""The soak test's verdict: what the traffic got, what the database holds once the work has drained, and what the
SMTP and webhook sinks received, each compared with what must hold. A check is a figure to print and the
violations found (none: it passed)."""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg

from bench.soak_sinks import SmtpSink, WebhookSink
from bench.soak_traffic import Traffic

SHOWN_VIOLATIONS = 5


@dataclass(frozen=True)
class Check:
    name: str
    figure: str
    violations: list[str] = field(default_factory=list)


# --- traffic -------------------------------------------------------------------------------------------------------


def traffic_checks(traffic: Traffic) -> list[Check]:
    tallies = traffic.tallies.values()
    allowed = sum(tally.failures_allowed for tally in tallies)
    failures = [failure for tally in tallies for failure in tally.failures]
    allowed_connections = sum(tally.connection_errors_allowed for tally in tallies)
    connection_errors = [error for tally in tallies for error in tally.connection_errors]
    requests = sum(sum(tally.statuses.values()) for tally in tallies)
    pairs = Counter(pair.kind for pair in traffic.pairs)
    disagreeing = [f"{pair.kind} {pair.key}: {pair.answers}" for pair in traffic.pairs if not pair.agree]
    return [
        Check("5xx outside the restart window", f"{len(failures)} (of {requests} answers; {allowed} inside)", failures),
        Check(
            "connection errors outside fault windows",
            f"{len(connection_errors)} ({allowed_connections} to a killed node or during the restart)",
            connection_errors,
        ),
        Check(
            "same key to both nodes at once",
            ", ".join(f"{count} {kind}" for kind, count in sorted(pairs.items())) or "none sent",
            disagreeing,
        ),
    ]


# --- emails --------------------------------------------------------------------------------------------------------


async def email_checks(connection: asyncpg.Connection, sink: SmtpSink) -> list[Check]:
    rows = await connection.fetch("SELECT id, status FROM email_message")
    statuses = Counter(row["status"] for row in rows)
    unsent = [f"{row['id']} is {row['status']}" for row in rows if row["status"] != "sent"]
    received = sink.received_rows()
    known = {row["id"] for row in rows}
    lost = [
        f"{row['id']} sent but never received" for row in rows if row["status"] == "sent" and row["id"] not in received
    ]
    strangers = [f"{row_id} received but not in the outbox" for row_id in received if row_id not in known]
    twice = {row_id: count for row_id, count in received.items() if count > 1}
    more_than_twice = [f"{row_id} received {count} times" for row_id, count in twice.items() if count > 2]
    return [
        Check("emails queued vs sent", f"{len(rows)} queued, {statuses['sent']} sent", unsent),
        Check(
            "emails received by the SMTP sink",
            f"{len(sink.message_ids)} messages for {len(received)} emails; {len(twice)} received twice",
            lost + strangers + more_than_twice,
        ),
    ]


# --- webhooks ------------------------------------------------------------------------------------------------------


async def webhook_checks(connection: asyncpg.Connection, sink: WebhookSink) -> list[Check]:
    events = await connection.fetchval(
        "SELECT count(*) FROM event e WHERE e.created_at >= (SELECT min(created_at) FROM webhook_endpoint)"
    )
    unfanned = await connection.fetch("SELECT id FROM event WHERE NOT fanned_out")
    undelivered_events = await connection.fetch(
        "SELECT e.id AS event_id, w.id AS endpoint_id FROM event e JOIN webhook_endpoint w"
        " ON w.business_id = e.business_id AND w.livemode = e.livemode AND e.created_at >= w.created_at"
        " WHERE NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.event_id = e.id AND d.endpoint_id = w.id)"
    )
    deliveries = await connection.fetch("SELECT id, endpoint_id, event_id, status FROM webhook_delivery")
    doubled = await connection.fetch(
        "SELECT endpoint_id, event_id, count(*) AS n FROM webhook_delivery GROUP BY 1, 2 HAVING count(*) > 1"
    )
    by_id = {row["id"]: row for row in deliveries}
    delivered = sink.delivered_ids()
    received_twice = sum(
        1 for count in Counter(h.webhook_id for h in sink.hooks if h.status == 200).values() if count > 1
    )
    forged = [f"{hook.webhook_id}: signature does not verify" for hook in sink.hooks if not hook.verified]
    return [
        Check(
            "webhook events vs deliveries",
            f"{events} events since the endpoints, {len(deliveries)} deliveries",
            [f"event {row['id']} never fanned out" for row in unfanned]
            + [f"event {row['event_id']} has no delivery to {row['endpoint_id']}" for row in undelivered_events]
            + [f"{row['endpoint_id']}/{row['event_id']}: {row['n']} deliveries" for row in doubled],
        ),
        Check(
            "webhook deliveries sent and received",
            f"{sum(row['status'] == 'sent' for row in deliveries)} sent, {len(delivered)} ids received "
            f"({len(sink.hooks)} requests, {received_twice} ids twice)",
            [f"delivery {row['id']} is {row['status']}" for row in deliveries if row["status"] != "sent"]
            + [f"delivery {row['id']} never received" for row in deliveries if row["id"] not in delivered]
            + [f"received {hook_id}, which is no delivery" for hook_id in delivered if hook_id not in by_id]
            + forged,
        ),
    ]


# --- money ---------------------------------------------------------------------------------------------------------


async def payment_checks(connection: asyncpg.Connection, traffic: Traffic) -> list[Check]:
    payments = await connection.fetch("SELECT id, status, purpose, idempotency_key FROM payment")
    statuses = Counter(row["status"] for row in payments)
    processing = [f"{row['id']} ({row['purpose']}) is processing" for row in payments if row["status"] == "processing"]
    keys = Counter(row["idempotency_key"] for row in payments)
    reused = [f"key {key} on {count} payments" for key, count in keys.items() if count > 1]
    return [
        Check(
            "payments",
            ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
            processing + reused,
        ),
        await _invoice_check(connection, statuses["succeeded"]),
        await _charge_check(connection),
        await _refund_check(connection),
        _plan_change_check(payments, traffic),
    ]


async def _invoice_check(connection: asyncpg.Connection, succeeded: int) -> Check:
    without = await connection.fetch(
        "SELECT p.id FROM payment p LEFT JOIN invoice i ON i.payment_id = p.id"
        " WHERE p.status = 'succeeded' AND i.id IS NULL"
    )
    several = await connection.fetch(
        "SELECT payment_id, count(*) AS n FROM invoice WHERE payment_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1"
    )
    return Check(
        "each succeeded payment has one invoice",
        f"{succeeded - len(without)} of {succeeded}",
        [f"{row['id']} has no invoice" for row in without]
        + [f"{row['payment_id']} has {row['n']} invoices" for row in several],
    )


async def _charge_check(connection: asyncpg.Connection) -> Check:
    """Money taken by the (sandbox) processor matches the payments: a charge kept is a succeeded payment's."""
    charges = await connection.fetch(
        "SELECT c.id, c.amount, c.refunded_amount, p.id AS payment_id, p.status AS payment_status"
        " FROM sandbox_charge c LEFT JOIN payment p ON p.idempotency_key = c.idempotency_key"
        " WHERE c.status = 'succeeded'"
    )
    kept = [row for row in charges if row["refunded_amount"] < row["amount"]]
    stray = [
        f"charge {row['id']} kept {row['amount'] - row['refunded_amount']} for "
        + (f"payment {row['payment_id']} ({row['payment_status']})" if row["payment_id"] else "no payment")
        for row in kept
        if row["payment_status"] != "succeeded"
    ]
    unpaid = await connection.fetch(
        "SELECT p.id FROM payment p WHERE p.status = 'succeeded' AND p.total_amount > 0 AND NOT EXISTS"
        " (SELECT 1 FROM sandbox_charge c WHERE c.idempotency_key = p.idempotency_key AND c.status = 'succeeded')"
    )
    return Check(
        "charges vs payments",
        f"{len(charges)} charges succeeded ({len(charges) - len(kept)} given back in full)",
        stray + [f"payment {row['id']} succeeded without a charge" for row in unpaid],
    )


async def _refund_check(connection: asyncpg.Connection) -> Check:
    refunds = await connection.fetch("SELECT status, count(*) AS n FROM refund GROUP BY 1")
    over = await connection.fetch(
        "SELECT p.id, p.total_amount, sum(r.amount) AS refunded FROM payment p JOIN refund r ON r.payment_id = p.id"
        " WHERE r.status IN ('succeeded', 'pending') GROUP BY p.id, p.total_amount"
        " HAVING sum(r.amount) > p.total_amount"
    )
    pending = sum(row["n"] for row in refunds if row["status"] == "pending")
    return Check(
        "refunds within their payment",
        ", ".join(f"{row['n']} {row['status']}" for row in refunds) or "none",
        [f"{row['id']}: {row['refunded']} refunded of {row['total_amount']}" for row in over]
        + ([f"{pending} refunds left pending"] if pending else []),
    )


def _plan_change_check(payments: list[asyncpg.Record], traffic: Traffic) -> Check:
    charged = Counter(
        row["idempotency_key"] for row in payments if row["purpose"] == "plan_change" and row["status"] == "succeeded"
    )
    per_key = {key: charged[f"plan_change:{subscription}:{key}"] for subscription, key in traffic.plan_change_keys}
    return Check(
        "plan change keys charged at most once",
        f"{len(per_key)} keys sent, {sum(1 for n in per_key.values() if n)} charged",
        [f"{key} charged {n} times" for key, n in per_key.items() if n > 1],
    )


# --- logs --------------------------------------------------------------------------------------------------------

# The portal's log lines (logging.basicConfig in gateway/cli) start with the local time.
_ERROR_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (ERROR|CRITICAL) ")


def log_check(logs: Path, allowed: list[tuple[datetime, datetime]]) -> Check:
    """Errors the processes logged outside the PostgreSQL restart: a process that kept failing after it (while the
    other nodes did its work) shows here and nowhere else."""
    inside, outside = 0, []
    for log in sorted(logs.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if match := _ERROR_LINE.match(line):
                moment = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
                if any(start <= moment <= end for start, end in allowed):
                    inside += 1
                else:
                    outside.append(f"{log.stem}: {line[:200]}")
    return Check("errors logged outside the restart window", f"{len(outside)} ({inside} inside)", outside)


# --- the table -----------------------------------------------------------------------------------------------------


def print_checks(checks: list[Check]) -> None:
    width = max(len(check.name) for check in checks)
    print(f"\n{'check':<{width}}  {'result':<6}  figures")
    for check in checks:
        print(f"{check.name:<{width}}  {'FAIL' if check.violations else 'ok':<6}  {check.figure}")
    for check in checks:
        for violation in check.violations[:SHOWN_VIOLATIONS]:
            print(f"  {check.name}: {violation}")
        if len(check.violations) > SHOWN_VIOLATIONS:
            print(f"  {check.name}: … and {len(check.violations) - SHOWN_VIOLATIONS} more")

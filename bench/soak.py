"""The soak test: 2 web processes and 3 workers on one PostgreSQL database under mixed traffic for a few minutes,
with faults injected, then a check of everything that must still hold. Not part of the test suite.

    python -m bench.soak [--minutes 3] [--server postgres://postgres@127.0.0.1:5432] [--clients 8]
                         [--no-postgres-restart] [--keep]

It creates a fresh database `portal_soak_<time>`, migrates it, seeds the demo (`portal seed-demo`), makes a live API
key per demo business and session tokens for the demo customers, and starts on 127.0.0.1 an SMTP sink, a webhook
receiver (500 for its first 30 s, then 200; an endpoint per business points at it), 2 `portal serve` and 3
`portal worker` processes. Clients then sign in through the login page, load dashboards, change plans, reactivate,
and refund through the merchant API (bench/soak_traffic.py), while at fixed fractions of the run the SMTP sink goes
away for 20 s, one web process and one worker get `kill -9` (a supervisor restarts them 2 s later) and PostgreSQL
restarts. Once the traffic stops the work drains (bounded; deliveries waiting for their 5-minute retry are replayed
as a merchant would, through the merchant API), every process gets SIGTERM, and bench/soak_checks.py prints the
verdict: exit 1 on any violation. The database is dropped at the end unless --keep; the processes' logs stay in the
run's directory under /tmp.

Only loopback addresses are used, and every phase is bounded in time. `--server` must be the local cluster that
`pg_ctlcluster` restarts (else pass --no-postgres-restart).
"""

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.soak_checks import (
    Check,
    email_checks,
    log_check,
    payment_checks,
    print_checks,
    traffic_checks,
    webhook_checks,
)
from bench.soak_nodes import ROOT, Node, Portal, restart_postgresql, web_node, worker_node
from bench.soak_sinks import SmtpSink, WebhookSink, free_port
from bench.soak_traffic import Traffic, Window, Windows

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
BUSINESSES = ("bus_demo_northwind", "bus_demo_lumiere", "bus_demo_sakura")
# Whose portal the clients use: (email, business for a BUSINESS session, or None for the unified portal).
CUSTOMERS = (
    ("ada@example.com", None),
    ("grace@example.com", None),
    ("linus@example.com", "bus_demo_northwind"),  # unverified at Northwind, so not in his unified portal
)
WEB_NODES, WORKER_NODES = 2, 3
RECEIVER_FAILS_SECONDS = 30.0
SMTP_DOWN_SECONDS = 20.0
RESTART_AFTER_SECONDS = 2.0
KILL_WINDOW_AFTER_READY_SECONDS = 2.0
RESTART_WINDOW_AFTER_READY_SECONDS = 10.0
# When each fault starts, as a fraction of the traffic's duration.
SMTP_OUTAGE_AT, WEB_KILL_AT, WORKER_KILL_AT, POSTGRES_RESTART_AT = 0.2, 0.35, 0.5, 0.65
# Longer than the claim leases of a killed worker (emails 2 min) and the recovery of a payment left processing.
DRAIN_SECONDS = 200.0
# A delivery whose next attempt is further away than this waits for a later retry: the merchant replays it.
REPLAY_BEYOND_SECONDS = 90
# How long the workers may take to fan out the demo's own events before the endpoints are made.
SETTLE_SECONDS = 60.0
# uvicorn ends a graceful shutdown by raising the signal it caught again, so a web process ends "killed by SIGTERM".
CLEAN_EXITS = {0, -signal.SIGTERM}
REPLAY = "mutation($input: WebhookDeliveryInput!) { replayWebhookDelivery(input: $input) { errors { code message } } }"


@dataclass
class Run:
    """One soak run: its database, sinks, processes, and the fault windows."""

    args: argparse.Namespace
    database_url: str
    portal: Portal
    smtp: SmtpSink
    hooks: WebhookSink
    webs: list[Node]
    workers: list[Node]
    windows: Windows = field(default_factory=Windows)
    started: float = field(default_factory=time.monotonic)

    @property
    def nodes(self) -> list[Node]:
        return [*self.webs, *self.workers]

    def note(self, what: str) -> None:
        print(f"{time.monotonic() - self.started:7.1f} s  {what}", flush=True)


# --- the database --------------------------------------------------------------------------------------------------


async def create_database(server: str, name: str) -> str:
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.execute(f"COMMENT ON DATABASE \"{name}\" IS 'bench/soak.py'")
    finally:
        await connection.close()
    return f"{server}/{name}"


async def drop_database(server: str, name: str) -> None:
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def query(database_url: str, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """`work` on a connection of its own: one that a PostgreSQL restart may have broken is never reused."""
    connection = await asyncpg.connect(database_url)
    try:
        return await work(connection)
    finally:
        await connection.close()


# --- setup ---------------------------------------------------------------------------------------------------------


def environment(database_url: str, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
        "PORTAL_LOG_LEVEL": "WARNING",
        "PORTAL_WORKER_IN_WEB": "false",
        "PORTAL_WORKER_POLL_SECONDS": "0.2",
        "PORTAL_BILLING_INTERVAL_SECONDS": "5",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_TLS": "none",
        "PORTAL_WEBHOOKS_ALLOW_PRIVATE": "true",
        "PORTAL_SANDBOX_IN_LIVE_MODE": "true",
    }


def prepare(portal: Portal) -> tuple[dict[str, str], dict[str, str]]:
    """Migrate, seed the demo, and make the keys and sessions the clients use: (API keys, session tokens)."""
    portal.run("migrate")
    print(portal.run("seed-demo"))
    api_keys = {
        business: portal.run("api-key", "create", "--business", business, "--mode", "live") for business in BUSINESSES
    }
    tokens = {}
    for email, business in CUSTOMERS:
        tokens[email] = portal.run(
            "session", "create", "--email", email, *(["--business", business] if business else [])
        )
    return api_keys, tokens


async def wait_for(what: str, done: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            if await done():
                return True
        await asyncio.sleep(1)
    print(f"gave up waiting for {what} after {seconds:.0f} s")
    return False


async def add_webhook_endpoints(run: Run, traffic: Traffic) -> None:
    """An endpoint per business pointing at the receiver, made through the merchant REST API once the demo's own
    events are fanned out (so every delivery is of the soak's events); the receiver learns each one's secret."""

    async def fanned_out() -> bool:
        return not await query(
            run.database_url, lambda c: c.fetchval("SELECT count(*) FROM event WHERE NOT fanned_out")
        )

    await wait_for("the demo's events to fan out", fanned_out, SETTLE_SECONDS)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.webs[0].port}", timeout=30) as client:
        for business, key in traffic.api_keys.items():
            headers = {"Authorization": f"Bearer {key}"}
            created = await client.post("/webhooks", headers=headers, json={"url": run.hooks.url_for(business)})
            created.raise_for_status()
            secret = await client.get(f"/webhooks/{created.json()['id']}/secret", headers=headers)
            run.hooks.secrets[business] = secret.json()["secret"]


# --- faults --------------------------------------------------------------------------------------------------------


async def at(run: Run, fraction: float, fault: Callable[[], Awaitable[None]]) -> None:
    await asyncio.sleep(max(0.0, run.started + fraction * run.args.minutes * 60 - time.monotonic()))
    await fault()


async def smtp_outage(run: Run) -> None:
    run.note(f"SMTP sink stopped for {SMTP_DOWN_SECONDS:.0f} s")
    run.smtp.stop()
    await asyncio.sleep(SMTP_DOWN_SECONDS)
    run.smtp.start()
    run.note("SMTP sink back on the same port")


async def kill_web(run: Run) -> None:
    node = run.webs[-1]
    assert node.port is not None
    window = Window(time.monotonic())
    run.windows.killed.setdefault(node.port, []).append(window)
    run.note(f"kill -9 {node.name} (pid {node.pid})")
    await node.kill_and_restart(run.portal, RESTART_AFTER_SECONDS)
    window.end = time.monotonic() + KILL_WINDOW_AFTER_READY_SECONDS
    run.note(f"{node.name} restarted (pid {node.pid}), listening")


async def kill_worker(run: Run) -> None:
    node = run.workers[0]
    run.note(f"kill -9 {node.name} (pid {node.pid})")
    await node.kill_and_restart(run.portal, RESTART_AFTER_SECONDS)
    run.note(f"{node.name} restarted (pid {node.pid})")


async def restart_database(run: Run) -> None:
    window = Window(time.monotonic())
    run.windows.restarts.append(window)
    run.note("PostgreSQL restarting")
    ready = await restart_postgresql(run.database_url)
    window.end = ready + RESTART_WINDOW_AFTER_READY_SECONDS
    run.note(f"PostgreSQL ready; 5xx allowed until {window.end - run.started:.1f} s")


async def inject_faults(run: Run) -> None:
    faults = [
        at(run, SMTP_OUTAGE_AT, lambda: smtp_outage(run)),
        at(run, WEB_KILL_AT, lambda: kill_web(run)),
        at(run, WORKER_KILL_AT, lambda: kill_worker(run)),
    ]
    if run.args.postgres_restart:
        faults.append(at(run, POSTGRES_RESTART_AT, lambda: restart_database(run)))
    await asyncio.gather(*faults)


# --- draining ------------------------------------------------------------------------------------------------------


async def outstanding(connection: asyncpg.Connection) -> dict[str, int]:
    row = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM email_message WHERE status = 'pending') AS emails,"
        " (SELECT count(*) FROM event WHERE NOT fanned_out) AS events,"
        " (SELECT count(*) FROM webhook_delivery WHERE status = 'pending') AS deliveries,"
        " (SELECT count(*) FROM payment WHERE status = 'processing') AS payments,"
        " (SELECT count(*) FROM refund WHERE status = 'pending') AS refunds"
    )
    return dict(row)


async def replay_waiting_deliveries(run: Run, traffic: Traffic) -> int:
    """Replay, through the merchant API, the deliveries that failed while the receiver was down and now wait minutes
    for their next retry: what a merchant does once the endpoint is fixed (README, Webhooks)."""
    waiting = await query(
        run.database_url,
        lambda c: c.fetch(
            "SELECT d.id, w.business_id FROM webhook_delivery d JOIN webhook_endpoint w ON w.id = d.endpoint_id"
            " WHERE d.status = 'pending' AND d.attempts > 0"
            f" AND d.next_attempt_at > now() + interval '{REPLAY_BEYOND_SECONDS} seconds'"
        ),
    )
    for row in waiting:
        answer = await traffic.call_merchant_graphql(
            row["business_id"], REPLAY, {"input": {"webhookDeliveryId": row["id"]}}
        )
        if answer.get("errors") or answer["data"]["replayWebhookDelivery"]["errors"]:
            raise SystemExit(f"replaying {row['id']} failed: {answer}")
    return len(waiting)


async def drain(run: Run, traffic: Traffic) -> None:
    started = time.monotonic()
    replayed = 0
    left: dict[str, int] = {}
    while time.monotonic() - started < DRAIN_SECONDS:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            replayed += await replay_waiting_deliveries(run, traffic)
            left = await query(run.database_url, outstanding)
            if not any(left.values()):
                run.note(
                    f"drained in {time.monotonic() - started:.0f} s ({replayed} deliveries replayed by the merchant)"
                )
                return
        await asyncio.sleep(2)
    run.note(f"still outstanding after {DRAIN_SECONDS:.0f} s: {left} ({replayed} deliveries replayed)")


# --- the report ---


def wall_clock(moment: float) -> datetime:
    """A time.monotonic() moment as the local time the processes' logs write."""
    return datetime.fromtimestamp(moment + time.time() - time.monotonic())


def print_traffic(traffic: Traffic) -> None:
    print(f"\n{'requests':<14}{'answers':>8}  {'by status':<34}{'user errors'}")
    for kind, tally in sorted(traffic.tallies.items()):
        statuses = " ".join(f"{status}:{count}" for status, count in sorted(tally.statuses.items()))
        errors = " ".join(f"{code}:{count}" for code, count in tally.user_errors.most_common())
        print(f"{kind:<14}{sum(tally.statuses.values()):>8}  {statuses:<34}{errors}")


def print_memory(nodes: list[Node]) -> None:
    print(f"\n{'process':<10}{'restarts':>9}{'RSS start':>12}{'RSS end':>12}  exit codes (kills, then SIGTERM)")
    for node in nodes:
        start = f"{node.rss_start_kib / 1024:.0f} MiB" if node.rss_start_kib else "?"
        end = f"{node.rss_end_kib / 1024:.0f} MiB" if node.rss_end_kib else "?"
        print(f"{node.name:<10}{node.restarts:>9}{start:>12}{end:>12}  {node.exit_codes}")


async def verdict(run: Run, traffic: Traffic) -> bool:
    async def database_checks(connection: asyncpg.Connection) -> list[Check]:
        return [
            *await email_checks(connection, run.smtp),
            *await webhook_checks(connection, run.hooks),
            *await payment_checks(connection, traffic),
        ]

    stopped = [node for node in run.nodes if node.exit_codes[-1] not in CLEAN_EXITS]
    checks = [
        *traffic_checks(traffic),
        *await query(run.database_url, database_checks),
        log_check(run.portal.logs, [(wall_clock(w.start), wall_clock(w.end)) for w in run.windows.restarts]),
    ]
    print_traffic(traffic)
    print_memory(run.nodes)
    print_checks(checks)
    failed = [check for check in checks if check.violations]
    if stopped:
        print(f"  SIGTERM: {', '.join(node.name for node in stopped)} did not exit with 0")
    return not failed and not stopped


# --- the run -------------------------------------------------------------------------------------------------------


async def soak(run: Run) -> bool:
    api_keys, tokens = await asyncio.to_thread(prepare, run.portal)
    for node in run.nodes:
        node.start(run.portal)
    for node in run.nodes:
        await node.ready()
    ports = [node.port for node in run.webs if node.port is not None]
    traffic = Traffic(ports, tokens, api_keys, run.windows)
    await add_webhook_endpoints(run, traffic)
    for node in run.nodes:
        node.measure_start()
    run.started = time.monotonic()
    run.hooks.healthy_at = run.started + RECEIVER_FAILS_SECONDS
    run.note(
        f"traffic starts: {run.args.clients} clients for {run.args.minutes:g} min; "
        f"webhooks fail for {RECEIVER_FAILS_SECONDS:.0f} s"
    )
    await asyncio.gather(traffic.run(run.args.minutes * 60, run.args.clients), inject_faults(run))
    run.note("traffic stopped; draining")
    await drain(run, traffic)
    for node in run.nodes:
        node.measure_end()
    await asyncio.gather(*(node.stop() for node in run.nodes))
    run.note("every process stopped (SIGTERM)")
    return await verdict(run, traffic)


async def main_async(args: argparse.Namespace) -> int:
    name = f"portal_soak_{time.strftime('%Y%m%d_%H%M%S')}"
    logs = Path(tempfile.mkdtemp(prefix=f"{name}_"))
    database_url = await create_database(args.server, name)
    smtp, hooks = SmtpSink(), WebhookSink()
    run = Run(
        args,
        database_url,
        Portal(environment(database_url, smtp.port), logs),
        smtp,
        hooks,
        webs=[web_node(number, free_port()) for number in range(1, WEB_NODES + 1)],
        workers=[worker_node(number) for number in range(1, WORKER_NODES + 1)],
    )
    print(f"database {name}; logs in {logs}")
    smtp.start()
    await hooks.start()
    try:
        passed = await soak(run)
    finally:
        for node in run.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
        smtp.stop()
        await hooks.stop()
        if not args.keep:
            await drop_database(args.server, name)
    print("\nno violation" if passed else "\nVIOLATIONS found (see above)")
    return 0 if passed else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the traffic runs (default 3)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help=f"the PostgreSQL server (default {DEFAULT_SERVER})")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--no-postgres-restart", dest="postgres_restart", action="store_false", help="leave PostgreSQL running"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    args.server = args.server.rstrip("/")
    return args


def main() -> None:
    sys.exit(asyncio.run(main_async(parse_args())))


if __name__ == "__main__":
    main()

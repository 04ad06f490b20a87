"""The dashboard load benchmark: the portal's GraphQL endpoint against a hand-written raw-SQL endpoint that answers
the same DASHBOARD query (tests/test_customer_graphql_cost.py) with the same JSON, on the seeded bench database; then
the portal's other hot paths, the merchant API's lists, and the dashboard beside PDF downloads.

    python -m bench.seed            # once; minutes
    python -m bench.run [--database-url URL] [--duration 30] [--path-duration 15] [--warmup 5] [--concurrency 16]
                        [--profile FILE] [--parts dashboard paths merchant mix]

dashboard: it opens a UNIFIED session for the probe email, serves both apps with uvicorn (one process each, then two,
127.0.0.1 only), checks that both answer identically, measures a few sequential requests in-process (statements,
wall time, and a pyinstrument profile with --profile), then loads each server in turn with 16 concurrent httpx clients
for a fixed time and prints requests/s, p50 and p99 latency and the CPU each side used.

paths, merchant and mix run against one portal process. paths (bench/paths.py): the home page, the probe's invoice
PDF stored (en/ja/ar) and answered 304, first renders of invoices never rendered (en, ja, ar), a sign-in and a plan
change. merchant (bench/merchant_paths.py): REST `GET /customers`, `/subscriptions`, `/payments` and the merchant
GraphQL connections with a live API key of the business with the most customers. mix: the dashboard with 12 clients
alone, then the same beside 4 clients downloading first renders; its p99 beside them must stay within 1.5 times its
p99 alone (the run prints whether it did).

Every phase is bounded in time and request count; a first-render phase also by its pool of unrendered invoices.
"""

import argparse
import asyncio
import contextlib
import logging
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from pyinstrument import Profiler
from pyinstrument.frame import AWAIT_FRAME_IDENTIFIER, Frame
from starlette.applications import Starlette

from access.sessions import SessionPolicy, open_session
from bench import merchant_paths, paths
from bench.apps import DATABASE_URL_VARIABLE, graphql_app
from bench.dataset import PROBE_EMAIL
from bench.paths import HotPath, Request
from bench.raw_endpoint import PATH as RAW_PATH
from bench.raw_endpoint import create_raw_app
from bench.seed import DEFAULT_DATABASE_URL, index_names, model_index_names
from models.database import connect, disconnect
from models.enums import Scope
from tests.test_customer_graphql_cost import DASHBOARD

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30
REQUEST_TIMEOUT_SECONDS = 30
SEQUENTIAL_REQUESTS = 50
# The mixed run: the dashboard's p99 beside PDF downloads stays within 1.5 times its p99 alone.
MIX_DASHBOARD_CLIENTS = 12
MIX_PDF_CLIENTS = 4
MIX_P99_BOUND = 1.5
PARTS = ("dashboard", "paths", "merchant", "mix")
_SIZE_TABLES = (
    "business",
    "customer",
    "subscription",
    "payment",
    "invoice",
    "invoice_line",
    "license_key",
    "stored_document",
)


@dataclass(frozen=True)
class Target:
    name: str
    factory: str
    path: str


GRAPHQL = Target("GraphQL", "bench.apps:graphql_app", "/graphql")
RAW = Target("raw SQL", "bench.apps:raw_app", RAW_PATH)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@dataclass(frozen=True)
class CpuClock:
    """CPU seconds used so far by the server process and by this (client) process, and the machine's busy and
    total jiffies, so a phase can say where the cores went."""

    server: float
    client: float
    machine_busy: int
    machine_total: int

    @classmethod
    def read(cls, server_pid: int) -> "CpuClock":
        # /proc/stat's first line: user nice system idle iowait irq softirq steal …, in jiffies.
        jiffies = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = jiffies[3] + jiffies[4]
        return cls(
            server=process_tree_cpu(server_pid),
            client=time.process_time(),
            machine_busy=sum(jiffies) - idle,
            machine_total=sum(jiffies),
        )


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (uvicorn's workers under its supervisor)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_tree_cpu(int(child)) for child in children)


@dataclass
class Result:
    """One path's measured phase. Paths loaded together share the phase's CPU: `phase_requests` counts the answers
    of all of them, and the CPU per request is over those."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    busy: int = 0
    spent: bool = False  # the path ran out of fresh requests before the phase ended
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_busy: float = 0.0
    phase_requests: int | None = None

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, percent: int) -> float:
        if len(self.latencies) < 2:
            return math.nan
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1] * 1000

    @property
    def server_ms(self) -> float:
        """Server CPU per request."""
        return self._per_request(self.server_cpu)

    @property
    def client_ms(self) -> float:
        """Client CPU per request."""
        return self._per_request(self.client_cpu)

    def _per_request(self, seconds: float) -> float:
        requests = self.phase_requests if self.phase_requests is not None else len(self.latencies)
        return seconds / requests * 1000 if requests else math.nan

    def account(self, before: CpuClock, after: CpuClock) -> None:
        self.server_cpu = after.server - before.server
        self.client_cpu = after.client - before.client
        self.machine_busy = (after.machine_busy - before.machine_busy) / (after.machine_total - before.machine_total)


# --- preparation ---------------------------------------------------------------------------------------------------


async def open_probe_session(database_url: str) -> str:
    await connect(database_url)
    try:
        token, _ = await open_session(scope=Scope.UNIFIED, livemode=True, email=PROBE_EMAIL, policy=SessionPolicy())
    finally:
        await disconnect()
    return token


async def describe_database(database_url: str) -> None:
    """Print the sizes of the big tables, and whether the database has every index the models declare."""
    declared = await model_index_names(database_url)
    connection = await asyncpg.connect(database_url)
    try:
        for table in _SIZE_TABLES:
            print(f"  {table:<14}{await connection.fetchval(f'SELECT count(*) FROM {table}'):>12,}")
        present = await index_names(connection)
    finally:
        await connection.close()
    missing, extra = sorted(declared - present), sorted(present - declared)
    print(
        f"  indexes: {len(declared & present)} of the {len(declared)} the models declare"
        + (f"; missing: {', '.join(missing)}" if missing else "")
        + (f"; not from the models: {', '.join(extra)}" if extra else "")
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise SystemExit(f"server did not listen on {port} within {STARTUP_SECONDS} s")


@contextlib.contextmanager
def serving(target: Target, database_url: str, workers: int = 1) -> Iterator[Server]:
    """uvicorn serving the target on a free 127.0.0.1 port, from `workers` processes."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target.factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, DATABASE_URL_VARIABLE: database_url})
    try:
        wait_until_listening(port, process)
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- requests ------------------------------------------------------------------------------------------------------


async def answer(client: httpx.AsyncClient, target: Target, token: str) -> dict:
    response = await send(client, dashboard_request(target, token))
    if response.status_code != 200:
        raise SystemExit(f"{target.name} answered {response.status_code}: {response.text[:500]}")
    return response.json()


def check_identical(graphql: dict, raw: dict) -> None:
    if "errors" in graphql:
        raise SystemExit(f"GraphQL errors: {graphql['errors']}")
    if graphql != raw:
        raise SystemExit("the two endpoints answer differently")
    businesses = graphql["data"]["viewer"]["businesses"]
    shown = {
        kind: sum(len(b[kind]["edges"]) for b in businesses)
        for kind in ("subscriptions", "invoices", "licenseKeys", "purchases")
    }
    print(f"responses identical: {len(businesses)} businesses, {shown}, {field_count(graphql)} fields in all")


def field_count(value: object) -> int:
    """How many fields a GraphQL answer holds: every key of every object in it."""
    if isinstance(value, dict):
        return len(value) + sum(field_count(child) for child in value.values())
    if isinstance(value, list):
        return sum(field_count(child) for child in value)
    return 0


def dashboard_request(target: Target, token: str) -> Request:
    return Request("POST", target.path, {"Authorization": f"Bearer {token}"}, json={"query": DASHBOARD})


def dashboard(target: Target, token: str) -> HotPath:
    request = dashboard_request(target, token)
    return HotPath(target.name, lambda: request, 200, "application/json", same_answer=True)


async def send(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    return await client.request(
        request.method, request.url, headers=request.headers, data=request.data, json=request.json
    )


async def first_size(client: httpx.AsyncClient, path: HotPath) -> int | None:
    """The size every answer must have: the first one's, when the path always answers the same."""
    request = path.next_request() if path.same_answer else None
    return None if request is None else len((await send(client, request)).content)


def retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 1.0


async def load(server: Server, loads: list[tuple[HotPath, int]], seconds: float, cap: int) -> list[Result]:
    """Each path with its number of clients, all at once, sending back to back for `seconds` (or until `cap`
    requests of a path, or until the path has no fresh request left); each answer must be what the path expects,
    and as long as the first one when the path always answers the same. A busy answer is counted apart and its
    client waits the Retry-After (within the phase)."""
    results = [Result(path.name) for path, _ in loads]
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=server.url,
                    limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
                    timeout=REQUEST_TIMEOUT_SECONDS,
                )
            )
            for _, concurrency in loads
        ]
        sizes = [await first_size(client, path) for client, (path, _) in zip(clients, loads, strict=True)]
        before = CpuClock.read(server.pid)
        started = time.perf_counter()
        deadline = started + seconds

        async def client_loop(client: httpx.AsyncClient, path: HotPath, size: int | None, result: Result) -> None:
            while time.perf_counter() < deadline and len(result.latencies) + result.failures + result.busy < cap:
                request = path.next_request()
                if request is None:
                    result.spent = True
                    return
                sent = time.perf_counter()
                try:
                    response = await send(client, request)
                except httpx.TimeoutException:
                    # A request past REQUEST_TIMEOUT_SECONDS is a failed one, not the end of the run.
                    result.failures += 1
                    continue
                if response.status_code == path.busy_status:
                    result.busy += 1
                    await asyncio.sleep(max(0.0, min(retry_after(response), deadline - time.perf_counter())))
                elif path.accepts(response) and size in (None, len(response.content)):
                    result.latencies.append(time.perf_counter() - sent)
                else:
                    result.failures += 1

        await asyncio.gather(
            *(
                client_loop(client, path, size, result)
                for client, (path, concurrency), size, result in zip(clients, loads, sizes, results, strict=True)
                for _ in range(concurrency)
            )
        )
        seconds_taken, after = time.perf_counter() - started, CpuClock.read(server.pid)
    for result in results:
        result.seconds = seconds_taken
        result.account(before, after)
        if len(results) > 1:
            result.phase_requests = sum(len(r.latencies) for r in results)
    return results


# --- one request at a time, in-process -----------------------------------------------------------------------------


class StatementCounter(logging.Handler):
    """Counts the statements tortoise logs (as tests/conftest.py does)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith(("Created connection pool", "Closed connection pool")):
            self.count += 1


@contextlib.asynccontextmanager
async def in_process(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client


async def sequential_ms(client: httpx.AsyncClient, target: Target, token: str) -> float:
    """The median wall time of SEQUENTIAL_REQUESTS requests, one at a time."""
    times = []
    for _ in range(SEQUENTIAL_REQUESTS):
        started = time.perf_counter()
        await answer(client, target, token)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def measure_graphql_in_process(database_url: str, token: str, profile: Path | None) -> None:
    async with in_process(graphql_app(database_url)) as client:
        await answer(client, GRAPHQL, token)
        counter, logger = StatementCounter(), logging.getLogger("tortoise.db_client")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(counter)
        await answer(client, GRAPHQL, token)
        logger.removeHandler(counter)
        logger.setLevel(logging.WARNING)
        median = await sequential_ms(client, GRAPHQL, token)
        print(f"GraphQL: {counter.count} statements per request, median {median:.1f} ms per request, one at a time")
        if profile:
            await write_profile(client, token, profile)


async def write_profile(client: httpx.AsyncClient, token: str, path: Path) -> None:
    """Profile requests one at a time; write pyinstrument's tree and print where the time went, by package."""
    profiler = Profiler(interval=0.0005, async_mode="enabled")
    with profiler:
        for _ in range(SEQUENTIAL_REQUESTS):
            await answer(client, GRAPHQL, token)
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    session = profiler.last_session
    print(
        f"GraphQL profile of {SEQUENTIAL_REQUESTS} requests ({session.duration:.2f} s wall, "
        f"{session.cpu_time:.2f} s CPU) written to {path}; time by package:"
    )
    spent: Counter = Counter()
    add_own_time(session.root_frame(), "other", spent)
    total = sum(spent.values())
    for package, seconds in spent.most_common(12):
        print(f"  {package:<28}{seconds / total:>7.1%}")


def add_own_time(frame: Frame, caller: str, spent: Counter) -> None:
    """Each frame's own time, charged to its package; built-ins are charged to their caller's package, and
    pyinstrument's [await] frames and the loop's select() (the request waiting on PostgreSQL) to `awaiting I/O`."""
    if frame.identifier == AWAIT_FRAME_IDENTIFIER:
        spent["awaiting I/O"] += frame.time
        return
    package = caller if frame.is_synthetic else package_of(frame.file_path or "", caller)
    spent[package] += frame.time - sum(child.time for child in frame.children)
    for child in frame.children:
        add_own_time(child, package, spent)


def package_of(file_path: str, caller: str) -> str:
    if "site-packages/" in file_path:
        return file_path.split("site-packages/")[1].split("/")[0]
    if file_path.startswith(str(ROOT)):
        return "project: " + Path(file_path).relative_to(ROOT).parts[0]
    if "/lib/python" in file_path:
        module = file_path.split("/lib/python")[1].split("/")[1].removesuffix(".py")
        # One request at a time, the event loop sits in select() exactly while PostgreSQL works.
        return "awaiting I/O" if module == "selectors" else f"stdlib: {module}"
    return caller


async def measure_raw_in_process(database_url: str, token: str) -> None:
    statements: list[float] = []
    resets: list[float] = []

    def log(query: asyncpg.connection.LoggedQuery) -> None:
        # asyncpg resets a connection as the pool takes it back (tortoise's pool does the same); counted apart.
        (resets if "RESET ALL" in query.query else statements).append(query.elapsed)

    async def log_statements(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(log)

    async with in_process(create_raw_app(database_url, on_connect=log_statements)) as client:
        await answer(client, RAW, token)
        statements.clear()
        resets.clear()
        await answer(client, RAW, token)
        count, sql_ms, reset_count = len(statements), sum(statements) * 1000, len(resets)
        median = await sequential_ms(client, RAW, token)
        print(
            f"raw SQL: {count} statements per request (their durations sum to {sql_ms:.1f} ms) and "
            f"{reset_count} pool resets, median {median:.1f} ms per request, one at a time"
        )


# --- the run -------------------------------------------------------------------------------------------------------


NAME_WIDTH = 36


def print_table(title: str, results: list[Result]) -> None:
    print(f"\n{title}")
    print(
        f"{'':<{NAME_WIDTH}}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'failures':>10}{'503 busy':>10}"
        f"{'server CPU':>12}{'client CPU':>12}{'2 cores busy':>14}"
    )
    for r in results:
        print(
            f"{r.name:<{NAME_WIDTH}}{len(r.latencies):>10}{r.per_second:>10.1f}{r.percentile_ms(50):>10.1f}"
            f"{r.percentile_ms(99):>10.1f}{r.failures:>10}{r.busy:>10}{r.server_ms:>9.1f} ms"
            f"{r.client_ms:>9.1f} ms{r.machine_busy:>14.0%}"
        )


def print_ratios(graphql: Result, raw: Result) -> None:
    print(
        f"{'GraphQL/raw':<{NAME_WIDTH}}{'':>10}{graphql.per_second / raw.per_second:>9.2f}x"
        f"{graphql.percentile_ms(50) / raw.percentile_ms(50):>9.2f}x"
        f"{graphql.percentile_ms(99) / raw.percentile_ms(99):>9.2f}x{'':>20}"
        f"{graphql.server_ms / raw.server_ms:>11.2f}x"
    )


async def compare(servers: dict[Target, Server], token: str) -> None:
    answers = {}
    for target, server in servers.items():
        async with httpx.AsyncClient(base_url=server.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            answers[target] = await answer(client, target, token)
    check_identical(answers[GRAPHQL], answers[RAW])


async def measure_together(
    server: Server, loads: list[tuple[HotPath, int]], args: argparse.Namespace, seconds: float
) -> list[Result]:
    """A warm-up, then the measured load, of paths loaded at once."""
    await load(server, loads, args.warmup, args.max_requests)
    results = await load(server, loads, seconds, args.max_requests)
    for result, (_, concurrency) in zip(results, loads, strict=True):
        print(
            f"{result.name}: {len(result.latencies)} requests in {result.seconds:.1f} s, {concurrency} at a time"
            + (f", {result.busy} answered 503" if result.busy else "")
            + (", its fresh requests all spent" if result.spent else "")
        )
    return results


async def measure(server: Server, path: HotPath, args: argparse.Namespace, seconds: float) -> Result:
    """A warm-up, then the measured load, of one path."""
    return (await measure_together(server, [(path, min(path.concurrency, args.concurrency))], args, seconds))[0]


def measure_dashboard(args: argparse.Namespace, token: str, workers: int) -> None:
    with (
        serving(GRAPHQL, args.database_url, workers) as graphql_server,
        serving(RAW, args.database_url, workers) as raw_server,
    ):
        servers = {GRAPHQL: graphql_server, RAW: raw_server}
        asyncio.run(compare(servers, token))
        results = [
            asyncio.run(measure(servers[target], dashboard(target, token), args, args.duration))
            for target in (GRAPHQL, RAW)
        ]
    print_table(
        f"dashboard query, {args.concurrency} concurrent clients, {args.duration:.0f} s per endpoint, "
        f"{workers} server process{'es' if workers > 1 else ''} per endpoint",
        results,
    )
    print_ratios(*results)
    print("server CPU and client CPU: per request; 2 cores busy: the whole machine during the phase")


async def measure_portal_paths(server: Server, fixtures: paths.Fixtures, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        await paths.attach_sandbox_card(client, fixtures)
        visitor, csrf = await paths.csrf_of_login_page(client)
        etags = await paths.store_probe_pdfs(client, fixtures)
    hot_paths = [
        paths.home_page(fixtures),
        *(paths.stored_pdf(fixtures, language, etag) for language, etag in etags.items()),
        paths.conditional_pdf(fixtures, "en", etags["en"]),
        *(paths.first_render(fixtures, language) for language in paths.PDF_LANGUAGES),
        paths.sign_in(fixtures, visitor, csrf),
        paths.plan_change(fixtures),
    ]
    results = [await measure(server, path, args, args.path_duration) for path in hot_paths]
    print_table(f"other hot paths of the portal, 1 server process, {args.path_duration:.0f} s each", results)
    print(
        "invoice PDF, stored: the probe's invoice, stored before the phase, served with its stored ETag; 304: the same "
        "with If-None-Match\ninvoice PDF, first render: each request another invoice never rendered, 4 clients; "
        "503 busy: the render pool's queue was full (not failures)\n"
        "plan change: one client, as changes of one subscription wait for each other"
    )


async def measure_merchant_paths(server: Server, args: argparse.Namespace) -> None:
    # Prepared after the portal's paths: the plan change adds payments, which the lists' expected counts include.
    fixtures = await merchant_paths.prepare()
    try:
        hot_paths = [
            *(merchant_paths.rest_list(fixtures, resource) for resource in merchant_paths.RESOURCES),
            *(merchant_paths.graphql_list(fixtures, resource) for resource in merchant_paths.RESOURCES),
        ]
        results = [await measure(server, path, args, args.path_duration) for path in hot_paths]
    finally:
        await merchant_paths.revoke(fixtures)
    totals = ", ".join(f"{count:,} {resource}" for resource, count in fixtures.totals.items())
    print_table(
        f"merchant API lists with a live key of {fixtures.business_name} ({totals}), page size "
        f"{merchant_paths.PAGE_SIZE}, 1 server process, {args.path_duration:.0f} s each",
        results,
    )
    print(
        f"REST: page_number 0 to {merchant_paths.REST_PAGES - 1} in turn; GraphQL: the first page with totalCount; "
        "an answer counts only with every item of its page"
    )


async def measure_mix(server: Server, fixtures: paths.Fixtures, token: str, args: argparse.Namespace) -> None:
    """The dashboard alone, then the same beside clients downloading PDFs never rendered, in one server process."""
    board = dashboard(GRAPHQL, token)
    pdfs = paths.first_render(fixtures, paths.MIX_POOL, MIX_PDF_CLIENTS)
    (alone,) = await measure_together(server, [(board, MIX_DASHBOARD_CLIENTS)], args, args.duration)
    beside, rendered = await measure_together(
        server, [(board, MIX_DASHBOARD_CLIENTS), (pdfs, MIX_PDF_CLIENTS)], args, args.duration
    )
    alone.name, beside.name, rendered.name = "dashboard alone", "dashboard beside the PDFs", "PDF first renders"
    print_table(
        f"mixed run, 1 server process: {MIX_DASHBOARD_CLIENTS} clients on the GraphQL dashboard alone, then beside "
        f"{MIX_PDF_CLIENTS} clients downloading PDFs (first renders, en/ja/ar in turn), {args.duration:.0f} s each",
        [alone, beside, rendered],
    )
    p50, p99 = (beside.percentile_ms(n) / alone.percentile_ms(n) for n in (50, 99))
    print(
        f"dashboard beside the PDFs / alone: p50 {p50:.2f}x, p99 {p99:.2f}x; bound p99 <= {MIX_P99_BOUND}x: "
        + ("met" if p99 <= MIX_P99_BOUND else "NOT met")
    )
    print("server CPU and client CPU of the mix: per request of either kind")


async def measure_served(args: argparse.Namespace, token: str) -> None:
    """The portal's other paths, the merchant API's lists and the mixed run, against one portal process."""
    await connect(args.database_url)
    try:
        fixtures = await paths.prepare() if {"paths", "mix"} & set(args.parts) else None
        with serving(GRAPHQL, args.database_url) as server:
            if fixtures and "paths" in args.parts:
                await measure_portal_paths(server, fixtures, args)
            if "merchant" in args.parts:
                await measure_merchant_paths(server, args)
            if fixtures and "mix" in args.parts:
                await measure_mix(server, fixtures, token, args)
    finally:
        await disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per dashboard phase")
    parser.add_argument("--path-duration", type=float, default=15.0, help="measured seconds per other path")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=50_000, help="per path and phase, a safety bound")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of GraphQL requests here")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to run (default: all)")
    args = parser.parse_args()

    print("load average before the run: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(f"database {args.database_url}:")
    asyncio.run(describe_database(args.database_url))
    token = asyncio.run(open_probe_session(args.database_url))
    print(f"session opened for {PROBE_EMAIL} (UNIFIED, live)")
    if "dashboard" in args.parts:
        asyncio.run(measure_graphql_in_process(args.database_url, token, args.profile))
        asyncio.run(measure_raw_in_process(args.database_url, token))
        for workers in (1, 2):
            measure_dashboard(args, token, workers)
    asyncio.run(measure_served(args, token))


if __name__ == "__main__":
    main()

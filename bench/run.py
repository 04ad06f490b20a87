"""The dashboard load benchmark: the portal's GraphQL endpoint against a hand-written raw-SQL endpoint that answers
the same DASHBOARD query (tests/test_customer_graphql_cost.py) with the same JSON, on the seeded bench database.

    python -m bench.seed            # once; minutes
    python -m bench.run [--database-url URL] [--duration 30] [--warmup 5] [--concurrency 16] [--profile FILE]

It opens a UNIFIED session for the probe email, serves both apps with uvicorn (one process each, 127.0.0.1 only),
checks that both answer identically, measures a few sequential requests in-process (statements, wall time, and a
pyinstrument profile with --profile), then loads each server in turn with 16 concurrent httpx clients for a fixed
time and prints requests/s, p50 and p99 latency and the CPU each side used. Every phase is bounded in time and
request count.
"""

import argparse
import asyncio
import contextlib
import logging
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
from bench import paths
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
_SIZE_TABLES = ("business", "customer", "subscription", "payment", "invoice", "invoice_line", "license_key")


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
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_busy: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, percent: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1] * 1000

    @property
    def server_ms(self) -> float:
        """Server CPU per request."""
        return self.server_cpu / len(self.latencies) * 1000

    @property
    def client_ms(self) -> float:
        """Client CPU per request."""
        return self.client_cpu / len(self.latencies) * 1000

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
    response = await send(client, dashboard(target, token).next_request())
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


def dashboard(target: Target, token: str) -> HotPath:
    request = Request("POST", target.path, {"Authorization": f"Bearer {token}"}, json={"query": DASHBOARD})
    return HotPath(target.name, lambda: request, 200, "application/json", same_answer=True)


async def send(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    return await client.request(
        request.method, request.url, headers=request.headers, data=request.data, json=request.json
    )


async def load(server: Server, path: HotPath, seconds: float, concurrency: int, cap: int) -> Result:
    """`concurrency` clients sending back to back for `seconds` (or until `cap` requests); each answer must be what
    the path expects, and as long as the first one when the path always answers the same."""
    result = Result(path.name)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        first = await send(client, path.next_request())
        expected = len(first.content) if path.same_answer else None
        before = CpuClock.read(server.pid)
        started = time.perf_counter()
        deadline = started + seconds

        async def client_loop() -> None:
            while time.perf_counter() < deadline and len(result.latencies) + result.failures < cap:
                sent = time.perf_counter()
                response = await send(client, path.next_request())
                if path.accepts(response) and expected in (None, len(response.content)):
                    result.latencies.append(time.perf_counter() - sent)
                else:
                    result.failures += 1

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
        result.account(before, CpuClock.read(server.pid))
    return result


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


def print_table(title: str, results: list[Result]) -> None:
    print(f"\n{title}")
    print(
        f"{'':<26}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'failures':>10}"
        f"{'server CPU':>12}{'client CPU':>12}{'2 cores busy':>14}"
    )
    for r in results:
        print(
            f"{r.name:<26}{len(r.latencies):>10}{r.per_second:>10.1f}{r.percentile_ms(50):>10.1f}"
            f"{r.percentile_ms(99):>10.1f}{r.failures:>10}{r.server_ms:>9.1f} ms"
            f"{r.client_ms:>9.1f} ms{r.machine_busy:>14.0%}"
        )


def print_ratios(graphql: Result, raw: Result) -> None:
    print(
        f"{'GraphQL/raw':<26}{'':>10}{graphql.per_second / raw.per_second:>9.2f}x"
        f"{graphql.percentile_ms(50) / raw.percentile_ms(50):>9.2f}x"
        f"{graphql.percentile_ms(99) / raw.percentile_ms(99):>9.2f}x{'':>10}"
        f"{graphql.server_ms / raw.server_ms:>11.2f}x"
    )


async def compare(servers: dict[Target, Server], token: str) -> None:
    answers = {}
    for target, server in servers.items():
        async with httpx.AsyncClient(base_url=server.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            answers[target] = await answer(client, target, token)
    check_identical(answers[GRAPHQL], answers[RAW])


async def measure(server: Server, path: HotPath, args: argparse.Namespace, seconds: float) -> Result:
    """A warm-up, then the measured load."""
    concurrency = min(path.concurrency, args.concurrency)
    await load(server, path, args.warmup, concurrency, args.max_requests)
    result = await load(server, path, seconds, concurrency, args.max_requests)
    print(f"{path.name}: {len(result.latencies)} requests in {result.seconds:.1f} s, {concurrency} at a time")
    return result


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


async def measure_hot_paths(args: argparse.Namespace) -> list[Result]:
    await connect(args.database_url)
    try:
        fixtures = await paths.prepare()
        with serving(GRAPHQL, args.database_url) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
                await paths.attach_sandbox_card(client, fixtures)
                visitor, csrf = await paths.csrf_of_login_page(client)
            hot_paths = [
                paths.home_page(fixtures),
                *(paths.invoice_pdf(fixtures, language) for language in ("en", "ja", "ar")),
                paths.sign_in(fixtures, visitor, csrf),
                paths.plan_change(fixtures),
            ]
            return [await measure(server, path, args, args.path_duration) for path in hot_paths]
    finally:
        await disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per dashboard endpoint")
    parser.add_argument("--path-duration", type=float, default=15.0, help="measured seconds per other hot path")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=50_000, help="per endpoint and phase, a safety bound")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of GraphQL requests here")
    args = parser.parse_args()

    print("load average before the run: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(f"database {args.database_url}:")
    asyncio.run(describe_database(args.database_url))
    token = asyncio.run(open_probe_session(args.database_url))
    print(f"session opened for {PROBE_EMAIL} (UNIFIED, live)")
    asyncio.run(measure_graphql_in_process(args.database_url, token, args.profile))
    asyncio.run(measure_raw_in_process(args.database_url, token))
    for workers in (1, 2):
        measure_dashboard(args, token, workers)
    results = asyncio.run(measure_hot_paths(args))
    print_table(f"other hot paths of the portal, 1 server process, {args.path_duration:.0f} s each", results)
    print("plan change: one client, as changes of one subscription wait for each other")


if __name__ == "__main__":
    main()

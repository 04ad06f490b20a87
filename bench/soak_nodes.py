"""The soak test's processes: `portal` commands run to completion, the web and worker nodes it keeps running (each
in a slot that a supervisor would restart after a `kill -9`), their memory, and the PostgreSQL restart.

Every process runs from this checkout with the same environment (one secret key, the SMTP sink, the sandbox in
live mode) and writes its output to a log file of its own in the run's directory."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
PORTAL = (sys.executable, "-m", "gateway.cli")
STARTUP_SECONDS = 60
COMMAND_SECONDS = 300
STOP_SECONDS = 45


def read_rss_kib(pid: int) -> int | None:
    """The resident memory of a live process (VmRSS), in KiB; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith("VmRSS:")), None)
    return int(line.split()[1]) if line else None


@dataclass
class Portal:
    """How to run `portal` for the soak database: the environment every process shares, and where logs go."""

    environment: dict[str, str]
    logs: Path

    def run(self, *args: str) -> str:
        """`portal *args` to completion; its output's last line (where the CLI prints secrets and tokens)."""
        done = subprocess.run(
            [*PORTAL, *args],
            cwd=self.logs,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
        )
        if done.returncode != 0:
            raise SystemExit(f"portal {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout.strip().splitlines()[-1]

    def start(self, name: str, *args: str, **environment: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(
            [*PORTAL, *args], cwd=self.logs, env={**self.environment, **environment}, stdout=log, stderr=log
        )


@dataclass
class Node:
    """One web or worker slot: its current process, and the memory of the first and of the current process."""

    name: str
    args: tuple[str, ...]
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    rss_start_kib: int | None = None
    rss_end_kib: int | None = None
    exit_codes: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, portal: Portal) -> None:
        self.process = portal.start(self.name, *self.args)

    async def ready(self) -> None:
        """Wait until a web node listens; a worker is ready once started."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while self.port is not None:
            if self.process is None or self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited before listening; see its log")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name} did not listen on {self.port} within {STARTUP_SECONDS} s")
            await asyncio.sleep(0.2)

    async def kill_and_restart(self, portal: Portal, down_seconds: float) -> None:
        """`kill -9`, then, as a supervisor would, start the slot again after `down_seconds`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.exit_codes.append(await asyncio.to_thread(self.process.wait))
        await asyncio.sleep(down_seconds)
        self.restarts += 1
        self.start(portal)
        await self.ready()

    def measure_start(self) -> None:
        self.rss_start_kib = read_rss_kib(self.pid)

    def measure_end(self) -> None:
        self.rss_end_kib = read_rss_kib(self.pid)

    async def stop(self) -> int:
        """SIGTERM and wait (graceful shutdown); SIGKILL past STOP_SECONDS. Returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(self.process.wait, STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = await asyncio.to_thread(self.process.wait)
        self.exit_codes.append(code)
        return code


def web_node(number: int, port: int) -> Node:
    return Node(f"web{number}", ("serve", "--host", "127.0.0.1", "--port", str(port)), port=port)


def worker_node(number: int) -> Node:
    return Node(f"worker{number}", ("worker",))


async def restart_postgresql(database_url: str) -> float:
    """Restart the local cluster (Debian's pg_ctlcluster) and wait until it takes connections; returns the
    time.monotonic() at which it did."""
    version = " ".join(os.listdir("/etc/postgresql")).split()[0]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr}")
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            connection = await asyncpg.connect(database_url, timeout=2)
        except (OSError, asyncpg.PostgresError):
            if time.monotonic() > deadline:
                raise SystemExit("PostgreSQL did not come back within a minute") from None
            await asyncio.sleep(0.2)
        else:
            await connection.close()
            return time.monotonic()

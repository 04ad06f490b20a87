"""The `portal` command as an operator runs it, against its own database: in this process (tests/support/cli.py),
except for the smoke tests of the real entry point (`portal demo`, `portal serve`) that start it as a process."""

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from access.sessions import SessionPolicy, viewer_for_token
from access.viewer import Viewer
from gateway.cli.demo import EXAMPLE_QUERY
from gateway.demo.seed import DEMO_EMAIL
from models.database import tortoise_config
from models.enums import Scope
from tests.support.cli import PORTAL_COMMAND, ROOT, portal, portal_environment, portal_process
from tests.support.databases import uses_postgres
from tests.support.portal import free_port


async def viewer_of(database_url: str, token: str) -> Viewer | None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        return await viewer_for_token(token, SessionPolicy())


async def test_seed_demo_again_reports_the_same_data(demo_database: str, tmp_path: Path) -> None:
    first = portal("seed-demo", database_url=demo_database, cwd=tmp_path)
    second = portal("seed-demo", database_url=demo_database, cwd=tmp_path)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert all(name in first.stdout for name in ("Northwind Analytics", "Atelier Lumière", "Sakura Fonts"))


async def test_unified_session_opens_every_business_of_the_email(demo_database: str, tmp_path: Path) -> None:
    result = portal("session", "create", "--email", " Ada@Example.com ", database_url=demo_database, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    viewer = await viewer_of(demo_database, result.stdout.splitlines()[-1])
    assert viewer is not None
    assert (viewer.scope, viewer.email, viewer.livemode) == (Scope.UNIFIED, DEMO_EMAIL, True)
    assert len(viewer.businesses) == 3


async def test_business_session_opens_one_customer_record(demo_database: str, tmp_path: Path) -> None:
    result = portal(
        "session",
        "create",
        f"--email={DEMO_EMAIL}",
        "--business=bus_demo_sakura",
        database_url=demo_database,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    viewer = await viewer_of(demo_database, result.stdout.splitlines()[-1])
    assert viewer is not None and viewer.scope == Scope.BUSINESS
    assert [c.business_id for c in viewer.customers] == ["bus_demo_sakura"]


async def test_test_mode_session_sees_only_test_records(demo_database: str, tmp_path: Path) -> None:
    result = portal(
        "session", "create", "--email", DEMO_EMAIL, "--mode", "test", database_url=demo_database, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    viewer = await viewer_of(demo_database, result.stdout.splitlines()[-1])
    assert viewer is not None and not viewer.livemode
    assert [c.livemode for c in viewer.customers] == [False]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--email", "nobody@example.com"],
        ["--email", "grace@example.com", "--business", "bus_demo_lumiere"],
        ["--email", "grace@example.com", "--mode", "test"],
        ["--email", "linus@example.com", "--business", "bus_does_not_exist"],
        ["--email", "ada@example.com", "--business", "bus_" + "x" * 60],
    ],
)
async def test_session_without_a_matching_customer_fails_plainly(
    demo_database: str, tmp_path: Path, arguments: list[str]
) -> None:
    result = portal("session", "create", *arguments, database_url=demo_database, cwd=tmp_path)
    assert result.returncode == 1
    assert "no customer" in result.stderr and "Traceback" not in result.stderr
    assert "cps_" not in result.stdout


async def test_unverified_email_gets_no_unified_session(demo_database: str, tmp_path: Path) -> None:
    # Linus never verified his email at Northwind, but he did at Atelier Lumière: the unified session
    # opens, yet only with the verified record.
    result = portal("session", "create", "--email", "linus@example.com", database_url=demo_database, cwd=tmp_path)
    viewer = await viewer_of(demo_database, result.stdout.splitlines()[-1])
    assert viewer is not None
    assert [b.name for b in viewer.businesses] == ["Atelier Lumière"]


@dataclass
class RunningDemo:
    process: subprocess.Popen
    port: int
    output: str
    log: Path

    def post(self, token: str, query: str) -> httpx.Response:
        """POST /graphql as the bearer of `token`, once the server listens."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return httpx.post(
                    f"http://127.0.0.1:{self.port}/graphql",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"query": query},
                    timeout=10,
                )
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("portal demo does not serve:\n" + self.log.read_text()[-3000:])
                time.sleep(0.2)


@pytest.fixture(scope="module")
def running_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    """`portal demo` as a process in an empty directory, after it printed its instructions; the tests of this module
    share it: they read, or add what no other reads."""
    directory = tmp_path_factory.mktemp("demo")
    port, log = free_port(), directory / "demo.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [*PORTAL_COMMAND, "demo", "--port", str(port)],
            cwd=directory,
            env=portal_environment(PORTAL_WORKER_IN_WEB="false"),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Serving on"):
                break
        yield RunningDemo(process, port, "".join(lines), log)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.skipif(uses_postgres(), reason="the demo always runs on its own SQLite file")
def test_demo_prints_a_curl_that_answers_for_ada(running_demo: RunningDemo) -> None:
    output = running_demo.output
    unified, business = re.findall(r"^\s+(cps_\S+)$", output, flags=re.MULTILINE)
    assert f'-H "Authorization: Bearer {unified}"' in output
    assert f"http://127.0.0.1:{running_demo.port}/graphql" in output
    response = running_demo.post(unified, EXAMPLE_QUERY)
    assert response.status_code == 200, response.text
    viewer = response.json()["data"]["viewer"]
    assert viewer["email"] == DEMO_EMAIL
    assert len(viewer["businesses"]) == 3
    assert viewer["invoices"]["totalCount"] >= 30
    business_viewer = running_demo.post(business, EXAMPLE_QUERY).json()["data"]["viewer"]
    assert len(business_viewer["businesses"]) == 1


@pytest.mark.skipif(uses_postgres(), reason="the demo always runs on its own SQLite file")
def test_demo_takes_a_webhook_endpoint_on_this_machine_as_the_readme_does(running_demo: RunningDemo) -> None:
    running_demo.post("cps_wait_until_serving", EXAMPLE_QUERY)
    directory = running_demo.log.parent
    created = portal_process(
        "api-key",
        "create",
        "--business",
        "bus_demo_northwind",
        "--mode",
        "test",
        database_url="sqlite://portal.db",
        cwd=directory,
    )
    key = re.search(r"sk_test_\S+", created.stdout)

    response = httpx.post(
        f"http://127.0.0.1:{running_demo.port}/webhooks",
        headers={"Authorization": f"Bearer {key[0] if key else ''}"},
        json={"url": "http://127.0.0.1:9000/hooks"},
        timeout=10,
    )

    assert response.status_code == 200, response.text
    assert "http://127.0.0.1:9000/hooks" in (ROOT / "README.md").read_text()


def test_readme_shows_the_query_the_demo_prints() -> None:
    assert EXAMPLE_QUERY in (ROOT / "README.md").read_text()


def test_demo_prints_the_ways_in_for_a_browser(running_demo: RunningDemo) -> None:
    base = f"http://127.0.0.1:{running_demo.port}"
    running_demo.post("cps_wait_until_serving", EXAMPLE_QUERY)
    logins = re.findall(rf"({re.escape(base)}/(?:test/)?login\S*)", running_demo.output)
    assert f"{base}/login" in logins and f"{base}/test/login" in logins
    assert len([url for url in logins if re.search(r"/login/bus_", url) and "/test/" not in url]) == 3
    for url in logins:
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and 'type="email"' in page.text, url
    (magic_link,) = re.findall(rf"({re.escape(base)}/session/cpl_\S+)", running_demo.output)
    confirm = httpx.get(magic_link, timeout=10)
    assert confirm.status_code == 200 and 'method="post"' in confirm.text.lower()


@pytest.mark.parametrize(
    ("arguments", "answer"),
    [
        (["link", "--customer", "cus_" + "x" * 60], "no customer"),
        (["api-key", "create", "--business", "bus_" + "x" * 60, "--mode", "test"], "no business"),
        (["api-key", "revoke", "key_" + "x" * 60], "no API key"),
    ],
)
async def test_ids_too_long_to_exist_are_simply_not_found(
    demo_database: str, tmp_path: Path, arguments: list[str], answer: str
) -> None:
    result = portal(*arguments, database_url=demo_database, cwd=tmp_path)
    assert result.returncode == 1
    assert answer in result.stderr and "Traceback" not in result.stderr


async def test_billing_run_renews_test_mode_at_a_later_time_and_refuses_to_move_the_live_clock(
    demo_database: str, tmp_path: Path
) -> None:
    now = portal("billing", "run", database_url=demo_database, cwd=tmp_path)
    later = portal("billing", "run", "--now", "2031-01-01T00:00:00", database_url=demo_database, cwd=tmp_path)
    live = portal("billing", "run", "--now", "2031-01-01", "--mode", "live", database_url=demo_database, cwd=tmp_path)

    assert now.returncode == 0, now.stderr
    assert "0 renewed, 0 put on hold" in now.stdout
    assert later.returncode == 0, later.stderr
    # Ada's test-mode Starter subscription renews month after month until 2031.
    renewed = int(re.search(r"(\d+) renewed", later.stdout)[1])
    assert renewed >= 12
    assert live.returncode == 1 and "test mode only" in live.stderr


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    result = portal_process("serve", "--workers", "2", database_url=f"sqlite://{tmp_path / 'portal.db'}", cwd=tmp_path)
    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr and "Traceback" not in result.stderr


def worker_processes(supervisor: int) -> list[str]:
    """The command lines of uvicorn's worker processes under its supervisor (multiprocessing's resource tracker,
    also a child, left out)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    commands = [Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in children]
    return [command for command in commands if "resource_tracker" not in command]


@pytest.mark.skipif(not uses_postgres(), reason="several workers need PostgreSQL")
async def test_serve_with_two_workers_answers_from_two_processes(demo_database: str, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    token = portal("session", "create", "--email", DEMO_EMAIL, database_url=demo_database, cwd=tmp_path)
    token = token.stdout.splitlines()[-1]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*PORTAL_COMMAND, "serve", "--workers", "2", "--port", str(port)],
            cwd=tmp_path,
            env=portal_environment(DATABASE_URL=demo_database, PORTAL_WORKER_IN_WEB="false"),
            stdout=output,
            stderr=output,
        )
    try:
        server = RunningDemo(process, port, "", log)
        answers = [server.post(token, "{ viewer { email } }") for _ in range(20)]
        assert [answer.json()["data"]["viewer"]["email"] for answer in answers] == [DEMO_EMAIL] * 20
        assert len(worker_processes(process.pid)) == 2
    finally:
        process.terminate()
        process.wait(timeout=30)

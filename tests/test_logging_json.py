"""The logs: with PORTAL_LOG_FORMAT=json every line `portal serve` writes (uvicorn's own included) is one JSON
object with timestamp, level, logger and message, and a request's line carries the request id, route template,
status and duration; secrets stay out of it as they do in text (an Authorization header is never logged, a token in
the address is redacted). The portal's request log replaces uvicorn's access log, and the operator's probes stay out
of it at INFO."""

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.tokens import LINK_PREFIX, SESSION_PREFIX
from gateway.http.access_log import logger as access_logger
from gateway.logs import JsonFormatter
from tests.support.cli import PORTAL_COMMAND, portal_environment
from tests.support.databases import copy_sqlite
from tests.support.portal import free_port

SESSION_SECRET = f"{SESSION_PREFIX}NotForTheLog0123456789abcdef"
LINK_SECRET = f"{LINK_PREFIX}NotForTheLogEither0123456789"


def serve_and_ask(directory: Path, database: Path, **environment: str) -> list[str]:
    """Run `portal serve` on `database`, make a few requests, stop it: the lines it wrote."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    variables = portal_environment(
        DATABASE_URL=f"sqlite://{database}",
        PORTAL_PORT=str(port),
        PORTAL_SECRET_KEY="log-test-secret",
        PORTAL_WORKER_IN_WEB="false",
        **environment,
    )
    log = directory / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [*PORTAL_COMMAND, "serve"], cwd=directory, env=variables, stderr=output, stdout=output
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                httpx.get(f"{base_url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        httpx.get(
            f"{base_url}/graphql",
            params={"query": "{ viewer { email } }", "token": LINK_SECRET},
            headers={"Authorization": f"Bearer {SESSION_SECRET}"},
        )
        httpx.get(f"{base_url}/session/{LINK_SECRET}")
    finally:
        server.terminate()
        server.wait(timeout=15)
    return log.read_text().splitlines()


@pytest.fixture
def served_database(tmp_path: Path, migrated_sqlite_template: Path) -> Path:
    database = tmp_path / "portal.db"
    copy_sqlite(migrated_sqlite_template, database)
    return database


def test_json_logs_are_one_object_per_line_with_the_request_fields_and_no_secret(
    tmp_path: Path, served_database: Path
) -> None:
    lines = serve_and_ask(tmp_path, served_database, PORTAL_LOG_FORMAT="json")

    entries = [json.loads(line) for line in lines]  # every line, uvicorn's start-up lines included
    assert all({"timestamp", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert any(entry["logger"].startswith("uvicorn") for entry in entries)
    requests = [entry for entry in entries if entry["logger"] == access_logger.name]
    [graphql] = [entry for entry in requests if entry["route"] == "/graphql"]
    assert graphql["level"] == "INFO" and graphql["method"] == "GET" and isinstance(graphql["status"], int)
    assert graphql["request_id"].startswith("req_") and isinstance(graphql["duration_ms"], float)
    assert "token=[redacted]" in graphql["message"]
    [link] = [entry for entry in requests if entry["route"] == "/session/{token}"]
    assert "/session/[redacted]" in link["message"]
    assert not [entry for entry in requests if entry["route"] == "/healthz"]  # the probes stay out at INFO
    assert not [entry for entry in entries if entry["logger"] == "uvicorn.access"]  # the portal's log replaces it
    everything = "\n".join(lines)
    assert SESSION_SECRET not in everything and LINK_SECRET not in everything
    assert "NotForTheLog" not in everything


def test_text_logs_name_the_request_id_route_and_duration_too(tmp_path: Path, served_database: Path) -> None:
    lines = serve_and_ask(tmp_path, served_database)
    [graphql] = [line for line in lines if access_logger.name in line and '"GET /graphql?' in line]
    assert " ms req_" in graphql and "token=[redacted]" in graphql
    assert "NotForTheLog" not in "\n".join(lines)
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])


def test_the_json_formatter_redacts_messages_and_tracebacks() -> None:
    try:
        raise RuntimeError(f"could not use {SESSION_SECRET}")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "card %s", ("4242 4242 4242 4242",), None)
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "card [card number redacted]"
    assert "RuntimeError" in entry["exception"] and SESSION_SECRET not in entry["exception"]
    assert "\n" not in JsonFormatter().format(record)


async def test_probes_are_logged_at_debug_and_pages_at_info(client: httpx.AsyncClient, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger=access_logger.name)
    await client.get("/healthz")
    await client.get("/readyz")
    await client.get("/login")
    levels = {record.route: record.levelno for record in caplog.records if record.name == access_logger.name}
    assert levels == {"/healthz": logging.DEBUG, "/readyz": logging.DEBUG, "/login": logging.INFO}

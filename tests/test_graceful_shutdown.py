"""SIGTERM to `portal serve`: new connections are refused at once, a request in flight still gets its answer, and
one that never finishes does not keep the process alive past PORTAL_SHUTDOWN_SECONDS."""

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.cli import start_portal_process
from tests.support.portal import free_port

QUERY = json.dumps({"query": "{ __typename }"}).encode()


@contextmanager
def serving(database_url: str, directory: Path, shutdown_seconds: int) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    server = start_portal_process(
        "serve",
        "--port",
        str(port),
        database_url=database_url,
        cwd=directory,
        PORTAL_WORKER_IN_WEB="false",
        PORTAL_SHUTDOWN_SECONDS=str(shutdown_seconds),
    )
    try:
        wait_until_listening(server, port)
        yield server, port
    finally:
        server.kill()
        server.communicate()


def wait_until_listening(server: subprocess.Popen, port: int) -> None:
    for _ in range(300):
        if server.poll() is not None:
            pytest.fail(f"portal serve exited: {server.communicate()[1][-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail("portal serve does not listen")


def start_request(port: int) -> socket.socket:
    """A POST /graphql whose headers and first half of the body are sent: in flight until the rest is."""
    connection = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(QUERY)}\r\n\r\n"
    )
    connection.sendall(head.encode() + QUERY[:10])
    time.sleep(0.5)
    return connection


def refuses_connections(port: int) -> bool:
    for _ in range(50):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.1)
    return False


def test_a_request_in_flight_is_answered_after_sigterm(migrated_database: str, tmp_path: Path) -> None:
    with serving(migrated_database, tmp_path, shutdown_seconds=30) as (server, port):
        request = start_request(port)
        server.send_signal(signal.SIGTERM)
        assert refuses_connections(port)
        request.sendall(QUERY[10:])
        answer = request.makefile("rb").read().decode()
        request.close()
        # uvicorn raises the signal again once it has shut down, so that the process ends as SIGTERM asked.
        assert server.wait(timeout=30) == -signal.SIGTERM
    assert answer.startswith("HTTP/1.1 200")
    assert '"__typename":"Query"' in answer.replace(" ", "")


def test_a_request_that_never_ends_does_not_hold_the_shutdown(migrated_database: str, tmp_path: Path) -> None:
    with serving(migrated_database, tmp_path, shutdown_seconds=1) as (server, port):
        request = start_request(port)
        server.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        server.wait(timeout=20)
        request.close()
    assert time.monotonic() - stopped < 20

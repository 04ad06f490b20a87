"""The `portal` command in tests. `portal` runs it in this process, as the real command would run (its own event
loop and database connection, DATABASE_URL and more variables set, the working directory, output captured, a
traceback printed and exit code 1 for an uncaught exception): a fresh interpreter importing the whole app costs a
second or two per command. `portal_process` runs it as a real process, for the few smoke tests of the entry point
and for a database of another kind than the test database; `start_portal_process` starts one and leaves it running."""

import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from unittest import mock

from gateway.cli import main
from models.database import is_sqlite
from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
PORTAL_COMMAND = (sys.executable, "-m", "gateway.cli")


def portal_environment(**overrides: str) -> dict[str, str]:
    """This process's environment for a real `portal` process: the repository importable, then `overrides`."""
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return {**os.environ, "PYTHONPATH": python_path, **overrides}


def portal_process(*args: str, database_url: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    """`portal *args` in a process of its own, with DATABASE_URL and `environment` set."""
    return subprocess.run(
        [*PORTAL_COMMAND, *args],
        cwd=cwd,
        env=portal_environment(DATABASE_URL=database_url, **environment),
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_portal_process(*args: str, database_url: str, cwd: Path, **environment: str) -> subprocess.Popen:
    """`portal *args` started in a process of its own, left running: for commands that run side by side."""
    return subprocess.Popen(
        [*PORTAL_COMMAND, *args],
        cwd=cwd,
        env=portal_environment(DATABASE_URL=database_url, **environment),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def portal(*args: str, database_url: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    """`portal *args` in this process, with DATABASE_URL and `environment` set, in `cwd`: its exit code and output.

    It runs on a thread of its own, because the command starts its own event loop and a test's loop is running here;
    the caller waits for it. On a database of another kind than the test database (a SQLite file in a PostgreSQL
    run) it runs as a process instead: tortoise binds the models' queries to the kind of database opened last."""
    if is_sqlite(database_url) != is_sqlite(TEST_DATABASE_URL):
        return portal_process(*args, database_url=database_url, cwd=cwd, **environment)
    answer: list[subprocess.CompletedProcess] = []
    variables = {"DATABASE_URL": database_url, **environment}
    command = threading.Thread(target=lambda: answer.append(_run([*args], variables, cwd)))
    command.start()
    command.join()
    return answer[0]


def _run(argv: Sequence[str], variables: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    stdout, stderr = io.StringIO(), io.StringIO()
    # Where a process without logging configured writes its warnings and errors (logging's last resort).
    last_resort = logging.StreamHandler(stderr)
    last_resort.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(last_resort)
    try:
        with (
            mock.patch.dict(os.environ, variables),
            contextlib.chdir(cwd),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            code = _exit_code(argv)
    finally:
        root.removeHandler(last_resort)
    return subprocess.CompletedProcess([*PORTAL_COMMAND, *argv], code, stdout.getvalue(), stderr.getvalue())


def _exit_code(argv: Sequence[str]) -> int:
    """What the interpreter would exit with after `main(argv)`, printing what it would print."""
    try:
        return main(argv)
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        return 1

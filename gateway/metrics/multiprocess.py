"""The directory prometheus-client's multiprocess mode keeps each process's counts in, for `portal serve --workers
N`: the processes find it in PROMETHEUS_MULTIPROC_DIR (read when prometheus-client is imported, so it is set before
the worker processes start), and a scrape sums every file in it. It must start empty, or a previous run's counts
would be added to this one's."""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gateway.settings import Settings

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def shared_metrics_directory(settings: Settings) -> Iterator[Path]:
    """PROMETHEUS_MULTIPROC_DIR emptied of its metric files, or a fresh temporary directory (removed afterwards), set
    in the environment the worker processes inherit."""
    configured = settings.metrics_multiprocess_dir
    directory = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="portal-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[ENVIRONMENT_VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        if not configured:
            shutil.rmtree(directory, ignore_errors=True)

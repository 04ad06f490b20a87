"""Outcomes worth counting that happen below the gateway (a charge settled, a refund settled), and whoever watches
them. The domain packages report through `report` and know nothing of the watcher: the gateway installs one at start
that counts them in its metrics (gateway.metrics). With no watcher installed, a report does nothing."""

from collections.abc import Callable
from enum import StrEnum


class Observed(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"


Watcher = Callable[[Observed, str], None]
_watchers: list[Watcher] = []


def watch(watcher: Watcher) -> None:
    """Have `watcher` told every outcome from now on; installing the same watcher again changes nothing."""
    if watcher not in _watchers:
        _watchers.append(watcher)


def report(observed: Observed, outcome: str) -> None:
    """Tell the watchers that `observed` ended with `outcome` (a status such as `succeeded`)."""
    for watcher in _watchers:
        watcher(observed, outcome)

"""The worker's heartbeat (models.workers): stamped as the worker passes over its work, from both of its loops (the
outbox and billing loop, and the webhook loop), so a long billing run in one does not make a turning worker look
dead. A stamp is written at most every HEARTBEAT_SECONDS (or every poll, when that is longer): one small UPDATE.

`/readyz` (gateway.health) counts the workers as alive while the newest stamp is younger than `stale_after`, a
bound generous enough for a pass that waits on a full batch of slow SMTP or webhook answers.
"""

import logging
import os
import secrets
import socket
import time
from datetime import timedelta

from core.clock import utcnow
from gateway.worker.own_task import in_own_task
from models.workers import beat, prune_beats

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
MIN_STALE_SECONDS = 120.0
STALE_POLLS = 10
# Rows of workers unseen this long belong to processes long gone.
FORGET_AFTER = timedelta(days=1)


def stale_after(poll_seconds: float) -> timedelta:
    """How old the newest heartbeat may be while the workers still count as alive."""
    return timedelta(seconds=max(MIN_STALE_SECONDS, STALE_POLLS * poll_seconds))


class Heartbeat:
    """One worker process's heartbeat; call it at every pass."""

    def __init__(self, poll_seconds: float) -> None:
        self.worker_id = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.every = max(HEARTBEAT_SECONDS, poll_seconds)
        self.next_beat = 0.0

    async def start(self) -> None:
        """Forget long-gone workers, then beat at once."""
        try:
            await prune_beats(utcnow() - FORGET_AFTER)
        except Exception as error:  # noqa: BLE001 -- the worker's work matters more than its bookkeeping
            logger.warning("Could not forget old worker heartbeats: %r", error)
        await self()

    async def __call__(self) -> None:
        if time.monotonic() < self.next_beat:
            return
        self.next_beat = time.monotonic() + self.every
        try:
            await in_own_task(beat(self.worker_id, utcnow()))
        except Exception as error:  # noqa: BLE001 -- a missed beat shows in /readyz; the pass goes on
            logger.warning("Worker heartbeat not recorded: %r", error)

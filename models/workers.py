"""The workers' heartbeats: each worker process stamps its row every pass (gateway/worker), so a web process's
readiness check can tell that some worker is alive without asking the workers anything."""

from datetime import datetime

from tortoise import fields
from tortoise.models import Model


class WorkerHeartbeat(Model):
    """The last time a worker (`host:pid:random`, one per process run) was seen passing over its work."""

    id = fields.CharField(max_length=100, primary_key=True)
    started_at = fields.DatetimeField()
    beaten_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "worker_heartbeat"


async def beat(worker_id: str, now: datetime) -> None:
    """Stamp `worker_id` as alive at `now`: one UPDATE, and an INSERT the first time."""
    if not await WorkerHeartbeat.filter(id=worker_id).update(beaten_at=now):
        await WorkerHeartbeat.create(id=worker_id, started_at=now, beaten_at=now)


async def newest_beat() -> datetime | None:
    """When some worker was last seen; None when none ever was (or their rows were pruned)."""
    newest = await WorkerHeartbeat.all().order_by("-beaten_at").first()
    return newest.beaten_at if newest else None


async def prune_beats(before: datetime) -> None:
    """Forget the workers not seen since `before`: processes long gone."""
    await WorkerHeartbeat.filter(beaten_at__lt=before).delete()

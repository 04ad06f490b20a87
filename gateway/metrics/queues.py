"""The queues' depth and age, measured when Prometheus scrapes (never per request): for the email outbox and the
webhook deliveries, how many wait and how long the oldest has waited since it was queued (retries included: an
email that keeps failing keeps ageing). One aggregate query per queue, on the (status, next_attempt_at) index."""

from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from tortoise.functions import Count, Min

from models import EmailMessage, WebhookDelivery
from models.enums import DeliveryStatus

_QUEUES = (
    (EmailMessage, "portal_outbox", "emails waiting in the outbox"),
    (WebhookDelivery, "portal_webhook_queue", "webhook deliveries waiting"),
)


def _moment(value: datetime | str | None) -> datetime | None:
    # An aggregate comes back as the driver gives it: a datetime from PostgreSQL, ISO text from SQLite.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def queue_metrics(now: datetime) -> list[GaugeMetricFamily]:
    """`…_pending` and `…_oldest_age_seconds` (0 when the queue is empty) of each queue."""
    families = []
    for model, name, what in _QUEUES:
        [row] = (
            await model.filter(status=DeliveryStatus.PENDING)
            .annotate(pending=Count("id"), oldest=Min("created_at"))
            .values("pending", "oldest")
        )
        oldest = _moment(row["oldest"])
        age = (now - oldest).total_seconds() if oldest else 0.0
        families.append(GaugeMetricFamily(f"{name}_pending", f"How many {what}.", value=row["pending"]))
        families.append(
            GaugeMetricFamily(f"{name}_oldest_age_seconds", f"Seconds the oldest of the {what} has waited.", value=age)
        )
    return families


class Measured(Collector):
    """Metric families measured beforehand (the queries are asynchronous; a collector is not)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families

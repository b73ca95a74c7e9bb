"""What `/metrics` says about webhooks: deliveries received, and the queue of runs to fetch.

Read from the stored deliveries and queue at each scrape (two aggregate queries). Event
types are a label, so only Apple's documented ones are kept as they are; anything else a
sender puts there is counted as "other" and cannot grow the number of series.
"""

from __future__ import annotations

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .models import QueuedRun, WebhookDelivery
from .payload import KNOWN_EVENTS

OTHER_EVENT = "other"
QUEUE_STATES = ("waiting", "claimed", "backing_off")


def webhook_metrics(prefix: str):
    yield _deliveries(prefix)
    yield from _queue(prefix, timezone.now())


def _deliveries(prefix: str) -> CounterMetricFamily:
    # Apple's redeliveries of one (run, event) are summed in `deliveries`, so the sum only
    # grows; deleting old deliveries in the admin reads as a counter reset, which rate() takes.
    received = dict.fromkeys((*KNOWN_EVENTS, OTHER_EVENT), 0)
    rows = WebhookDelivery.objects.values("event_type").annotate(n=Sum("deliveries")).order_by()
    for row in rows:
        event = row["event_type"] if row["event_type"] in KNOWN_EVENTS else OTHER_EVENT
        received[event] += row["n"] or 0
    family = CounterMetricFamily(
        f"{prefix}_webhook_deliveries",
        "Xcode Cloud webhook deliveries received, redeliveries included, by event type.",
        labels=["event_type"],
    )
    for event, n in received.items():
        family.add_metric([event], n)
    return family


def _queue(prefix: str, now):
    claimed = Q(claimed_until__gt=now)
    backing_off = ~claimed & Q(not_before__gt=now)
    figures = QueuedRun.objects.aggregate(
        total=Count("pk"),
        claimed=Count("pk", filter=claimed),
        backing_off=Count("pk", filter=backing_off),
        oldest=Min("queued_at"),
    )
    family = GaugeMetricFamily(
        f"{prefix}_webhook_queued_runs",
        "Build runs webhooks announced that the sync has not fetched yet: waiting for a "
        "worker, being fetched (claimed), or waiting after a failed fetch (backing_off).",
        labels=["state"],
    )
    waiting = figures["total"] - figures["claimed"] - figures["backing_off"]
    for state, n in zip(
        QUEUE_STATES, (waiting, figures["claimed"], figures["backing_off"]), strict=True
    ):
        family.add_metric([state], n)
    yield family
    if figures["oldest"] is not None:
        yield GaugeMetricFamily(
            f"{prefix}_webhook_queue_oldest_timestamp_seconds",
            "When the oldest run still queued was announced (absent while the queue is empty).",
            value=figures["oldest"].timestamp(),
        )

"""`/metrics` for Prometheus: gauges and counters read from tables the sync already keeps.

A custom collector (the official `prometheus-client`): each scrape runs a handful of
aggregate queries over the daily rollup, the sync history, the archive records, the webhook
deliveries and queue and the budget violations (`webhooks/metrics.py`, `budgets/metrics.py`),
never over the artifacts themselves, so a scrape costs the same at a million artifacts as at ten.
Nothing is counted per request, so several web workers need no shared state.

Names follow Prometheus' guide: base units (bytes, seconds), `_total` for counters,
`_timestamp_seconds` for instants. Labels are bounded: product and workflow names and
Apple's file type, never a run id or a commit SHA.
"""

from __future__ import annotations

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .budgets.metrics import budget_metrics
from .models import ArchivedArtifact, ArtifactDailyTotal, CiProduct, CiWorkflow, SyncRun
from .webhooks.metrics import webhook_metrics

PREFIX = "xcode_cloud"
ARTIFACT_LABELS = ["product", "workflow", "file_type"]


class DashboardCollector:
    """Every figure `/metrics` exposes, gathered fresh at each scrape."""

    def collect(self):
        yield from _artifact_metrics()
        yield from _sync_metrics()
        yield from _archive_metrics()
        yield from webhook_metrics(PREFIX)
        yield from budget_metrics(PREFIX)

    def describe(self):
        return []  # no queries at registration time


def _artifact_metrics():
    count = GaugeMetricFamily(
        f"{PREFIX}_artifacts",
        "Artifacts mirrored from App Store Connect, kept ones gone upstream included.",
        labels=ARTIFACT_LABELS,
    )
    size = GaugeMetricFamily(
        f"{PREFIX}_artifact_bytes",
        "Total size of the mirrored artifacts, as Apple reports it (fileSize).",
        labels=ARTIFACT_LABELS,
    )
    # Summed per id on the rollup alone (no join over its rows), then keyed by names: two
    # workflows of one product with the same name share a series instead of making a
    # duplicate one that Prometheus would reject.
    rows = (
        ArtifactDailyTotal.objects.values("product_id", "workflow_id", "file_type")
        .annotate(n=Sum("count"), size=Sum("bytes"))
        .order_by()
    )
    products = dict(CiProduct.objects.values_list("pk", "name"))
    workflows = dict(CiWorkflow.objects.values_list("pk", "name"))
    totals: dict[tuple[str, str, str], list[int]] = {}
    for row in rows:
        labels = (
            products.get(row["product_id"], ""),
            workflows.get(row["workflow_id"], ""),
            row["file_type"],
        )
        figures = totals.setdefault(labels, [0, 0])
        figures[0] += row["n"]
        figures[1] += row["size"]
    for labels, (n, total_bytes) in sorted(totals.items()):
        count.add_metric(labels, n)
        size.add_metric(labels, total_bytes)
    return [count, size]


def _sync_metrics():
    passes = SyncRun.objects.filter(dry_run=False).exclude(status=SyncRun.Status.RUNNING)
    by_status = {
        row["status"]: row
        for row in passes.values("status")
        .annotate(n=Count("pk"), calls=Sum("api_calls"), throttled=Sum("rate_limited_calls"))
        .order_by()
    }
    total = CounterMetricFamily(
        f"{PREFIX}_sync_passes", "Sync passes finished, by outcome.", labels=["status"]
    )
    calls = CounterMetricFamily(
        f"{PREFIX}_sync_api_calls", "Requests the sync made to the App Store Connect API."
    )
    throttled = CounterMetricFamily(
        f"{PREFIX}_sync_rate_limited_responses",
        "429 RATE_LIMIT_EXCEEDED answers the sync received (each was retried or ended a pass).",
    )
    for status in (s for s in SyncRun.Status.values if s != SyncRun.Status.RUNNING):
        total.add_metric([status], by_status.get(status, {}).get("n", 0))
    calls.add_metric([], sum(row["calls"] or 0 for row in by_status.values()))
    throttled.add_metric([], sum(row["throttled"] or 0 for row in by_status.values()))
    yield from (total, calls, throttled)

    # The newest pass of each good status, each found through the (status, started) index.
    successes = [
        passes.filter(status=status)
        .order_by("-started_at")
        .values_list("finished_at", flat=True)
        .first()
        for status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)
    ]
    last_success = max(filter(None, successes), default=None)
    if last_success is not None:
        yield GaugeMetricFamily(
            f"{PREFIX}_last_sync_success_timestamp_seconds",
            "When the last sync pass that succeeded (or stopped early on purpose) finished.",
            value=last_success.timestamp(),
        )
    latest = passes.order_by("-pk").first()  # the newest by id: no sort over the history
    if latest is None:
        return
    yield GaugeMetricFamily(
        f"{PREFIX}_last_sync_timestamp_seconds",
        "When the last sync pass finished, whatever its outcome.",
        value=latest.finished_at.timestamp() if latest.finished_at else 0,
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_last_sync_duration_seconds",
        "How long the last sync pass took.",
        value=latest.duration.total_seconds() if latest.duration else 0,
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_last_sync_api_calls", "API requests of the last pass.", value=latest.api_calls
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_last_sync_rate_limited_responses",
        "429 answers received during the last pass.",
        value=latest.rate_limited_calls,
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_last_sync_failed",
        "1 when the last sync pass failed, else 0.",
        value=int(latest.status == SyncRun.Status.FAILED),
    )
    if latest.rate_limit_remaining is not None:
        yield GaugeMetricFamily(
            f"{PREFIX}_api_rate_limit_remaining",
            "Calls left in the API key's rolling hour when the last pass ended.",
            value=latest.rate_limit_remaining,
        )


def _archive_metrics():
    by_status = dict(
        ArchivedArtifact.objects.values("status")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("status", "n")
    )
    records = GaugeMetricFamily(
        f"{PREFIX}_archive_artifacts",
        "Artifacts the archiver has a record of, by state (failed: the last attempt failed).",
        labels=["status"],
    )
    for status in ArchivedArtifact.Status.values:
        records.add_metric([status], by_status.get(status, 0))
    stored = ArchivedArtifact.objects.filter(status=ArchivedArtifact.Status.ARCHIVED).aggregate(
        size=Coalesce(Sum("size"), 0)
    )["size"]
    return [
        records,
        GaugeMetricFamily(
            f"{PREFIX}_archive_stored_bytes",
            "Bytes of the verified copies in archive storage.",
            value=stored,
        ),
    ]


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DashboardCollector())
    return generate_latest(registry)

"""`/metrics` for Prometheus: gauges and counters read from tables the sync already keeps.

A custom collector (the official `prometheus-client`): each scrape runs a handful of
aggregate queries over the daily rollup, the sync history, the archive records, the webhook
deliveries and queue and the budget violations (`webhooks/metrics.py`, `budgets/metrics.py`),
never over the artifacts themselves, so a scrape costs the same at a million artifacts as at ten.
Nothing is counted per request, so several web workers need no shared state.

Names follow Prometheus' guide: base units (bytes, seconds), `_total` for counters,
`_timestamp_seconds` for instants. Labels are bounded: account, product and workflow names
and Apple's file type, never a run id or a commit SHA.
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery, Sum
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .budgets.metrics import budget_metrics
from .models import (
    Account,
    ArchivedArtifact,
    ArtifactDailyTotal,
    CiProduct,
    CiWorkflow,
    SyncRun,
)
from .webhooks.metrics import webhook_metrics

PREFIX = "xcode_cloud"
ARTIFACT_LABELS = ["account", "product", "workflow", "file_type"]


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
    # duplicate one that Prometheus would reject. The account tells apart two teams' apps
    # of the same name.
    rows = (
        ArtifactDailyTotal.objects.values("product_id", "workflow_id", "file_type")
        .annotate(n=Sum("count"), size=Sum("bytes"))
        .order_by()
    )
    products = {
        pk: (account, name)
        for pk, account, name in CiProduct.objects.values_list("pk", "account__name", "name")
    }
    workflows = dict(CiWorkflow.objects.values_list("pk", "name"))
    totals: dict[tuple[str, str, str, str], list[int]] = {}
    for row in rows:
        labels = (
            *products.get(row["product_id"], ("", "")),
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
    """Per account: each has its own key, budget and passes, so "the last pass" of all of
    them together would say nothing about any one. Account names are few and bounded."""
    passes = SyncRun.objects.filter(dry_run=False).exclude(status=SyncRun.Status.RUNNING)
    names = dict(Account.objects.values_list("pk", "name"))
    by_status = list(
        passes.values("account_id", "status")
        .annotate(n=Count("pk"), calls=Sum("api_calls"), throttled=Sum("rate_limited_calls"))
        .order_by()
    )
    total = CounterMetricFamily(
        f"{PREFIX}_sync_passes", "Sync passes finished, by outcome.", labels=["account", "status"]
    )
    calls = CounterMetricFamily(
        f"{PREFIX}_sync_api_calls",
        "Requests the sync made to the App Store Connect API.",
        labels=["account"],
    )
    throttled = CounterMetricFamily(
        f"{PREFIX}_sync_rate_limited_responses",
        "429 RATE_LIMIT_EXCEEDED answers the sync received (each was retried or ended a pass).",
        labels=["account"],
    )
    finished = [s for s in SyncRun.Status.values if s != SyncRun.Status.RUNNING]
    for account_id in sorted({row["account_id"] for row in by_status}, key=names.get):
        rows = [row for row in by_status if row["account_id"] == account_id]
        name = names[account_id]
        for status in finished:
            total.add_metric([name, status], sum(r["n"] for r in rows if r["status"] == status))
        calls.add_metric([name], sum(r["calls"] or 0 for r in rows))
        throttled.add_metric([name], sum(r["throttled"] or 0 for r in rows))
    yield from (total, calls, throttled)
    yield from _last_pass_metrics(passes)


LAST_PASS_HELP = {
    "last_sync_success_timestamp_seconds": (
        "When the account's last sync pass that succeeded (or stopped early on purpose) finished."
    ),
    "last_sync_timestamp_seconds": "When the account's last sync pass finished, whatever it did.",
    "last_sync_duration_seconds": "How long the account's last sync pass took.",
    "last_sync_api_calls": "API requests of the account's last pass.",
    "last_sync_rate_limited_responses": "429 answers received during the account's last pass.",
    "last_sync_failed": "1 when the account's last sync pass failed, else 0.",
    "api_rate_limit_remaining": (
        "Calls left in the account's API key's rolling hour when its last pass ended."
    ),
}


def _last_pass_metrics(passes):
    """Each account's newest pass of each outcome, found through the (account, status,
    started) index, then those few rows: two queries whatever the number of accounts or the
    length of their history. The newest of them is the account's last pass."""
    mine = passes.filter(account=OuterRef("pk"))
    outcomes = [s for s in SyncRun.Status.values if s != SyncRun.Status.RUNNING]
    newest = {
        status: Subquery(mine.filter(status=status).order_by("-started_at").values("pk")[:1])
        for status in outcomes
    }
    accounts = list(Account.objects.annotate(**newest).values("name", *outcomes).order_by("name"))
    runs = SyncRun.objects.in_bulk([row[s] for row in accounts for s in outcomes if row[s]])
    families = {
        name: GaugeMetricFamily(f"{PREFIX}_{name}", help_text, labels=["account"])
        for name, help_text in LAST_PASS_HELP.items()
    }
    good = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)
    for row in accounts:
        newest_runs = [runs[row[s]] for s in outcomes if row[s]]
        if not newest_runs:
            continue  # an account that never had a pass has no series
        labels = [row["name"]]
        run = max(newest_runs, key=lambda r: (r.started_at, r.pk))
        successes = [r.finished_at for r in newest_runs if r.status in good and r.finished_at]
        if successes:
            families["last_sync_success_timestamp_seconds"].add_metric(
                labels, max(successes).timestamp()
            )
        figures = {
            "last_sync_timestamp_seconds": run.finished_at.timestamp() if run.finished_at else 0,
            "last_sync_duration_seconds": run.duration.total_seconds() if run.duration else 0,
            "last_sync_api_calls": run.api_calls,
            "last_sync_rate_limited_responses": run.rate_limited_calls,
            "last_sync_failed": int(run.status == SyncRun.Status.FAILED),
            "api_rate_limit_remaining": run.rate_limit_remaining,
        }
        for name, figure in figures.items():
            if figure is not None:
                families[name].add_metric(labels, figure)
    yield from (family for family in families.values() if family.samples)


def _archive_metrics():
    rows = {
        row["status"]: row
        for row in ArchivedArtifact.objects.values("status")
        .annotate(n=Count("pk"), size=Sum("size"))
        .order_by()
    }
    records = GaugeMetricFamily(
        f"{PREFIX}_archive_artifacts",
        "Artifacts the archiver has a record of, by state (failed: the last attempt failed).",
        labels=["status"],
    )
    for status in ArchivedArtifact.Status.values:
        records.add_metric([status], rows.get(status, {}).get("n", 0))
    stored = rows.get(ArchivedArtifact.Status.ARCHIVED, {}).get("size") or 0
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

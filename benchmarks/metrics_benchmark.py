"""Scrape time of /metrics over a million artifacts.

    python benchmarks/metrics_benchmark.py                      # SQLite (a scratch file)
    DATABASE_URL=postgres://user:pw@host/db python benchmarks/metrics_benchmark.py

Loads the same scratch dataset as stats_benchmark.py (5 products x 4 workflows, five
artifact types, two years), plus a year of sync passes for each of three accounts, an
archive record for every tenth artifact, a year of webhook deliveries with a few runs
queued, and budget violations in every alert state; then times GET /metrics through
Django's whole request stack with the bearer token. Prints p50/p95, the size of one scrape
and the load average.

Options: --artifacts N (default 1,000,000), --requests N (default 40), --keep.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models.functions import Mod  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from stats_benchmark import fmt, load, percentile, scratch_database, time_it  # noqa: E402

from artifacts_app import metrics, rollup  # noqa: E402
from artifacts_app.budgets.metrics import budget_metrics  # noqa: E402
from artifacts_app.budgets.models import BudgetViolation, SizeBudget  # noqa: E402
from artifacts_app.models import (  # noqa: E402
    Account,
    ArchivedArtifact,
    CiArtifact,
    CiBuildRun,
    SyncRun,
    default_account,
)
from artifacts_app.webhooks.metrics import webhook_metrics  # noqa: E402
from artifacts_app.webhooks.models import QueuedRun, WebhookDelivery  # noqa: E402

TOKEN = "benchmark-metrics-token"  # noqa: S105  (a scratch database)
PASSES = 35_000  # a year of passes every 15 minutes, for each account
ACCOUNTS = ("default", "team-b", "team-c")
DELIVERIES = 55_000  # a year of 50 runs a day, three events each
QUEUED = 20
VIOLATIONS = 2_000
PARTS = {  # the collector's parts, timed one by one
    "artifacts": metrics._artifact_metrics,
    "sync passes": metrics._sync_metrics,
    "archive": metrics._archive_metrics,
    "webhooks": lambda: webhook_metrics(metrics.PREFIX),
    "budgets": lambda: budget_metrics(metrics.PREFIX),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args()

    with scratch_database("bench_metrics", options.keep) as vendor:
        run(options, vendor)


def run(options, vendor):
    print(f"{vendor}: loading {options.artifacts:,} artifacts ...", flush=True)
    print(f"  load average before: {load_average()}")
    started = time.perf_counter()
    with transaction.atomic():
        load(options.artifacts, timezone.now().date())
        load_history()
    print(f"  loaded in {time.perf_counter() - started:.1f} s")
    rows = rollup.refresh_rollup(rebuild=True)
    print(f"  daily rollup: {rows:,} rows")
    if vendor == "PostgreSQL":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    settings.METRICS_TOKEN = TOKEN
    client = Client(headers={"authorization": f"Bearer {TOKEN}"})
    response = client.get("/metrics")
    if response.status_code != 200:
        raise SystemExit(f"/metrics answered {response.status_code}")
    lines = [line for line in response.content.decode().splitlines() if not line.startswith("#")]
    print(f"  one scrape: {len(response.content):,} bytes, {len(lines)} samples")
    samples = time_it(lambda: client.get("/metrics"), options.requests)
    print(f"  GET /metrics:  {fmt(samples)}")
    target = "met" if percentile(samples, 95) < 250 else "NOT met"
    print(f"  target p95 < 250 ms (a 15 s scrape interval leaves room): {target}")
    for name, part in PARTS.items():
        print(f"    {name}: {fmt(time_it(lambda part=part: list(part()), options.requests))}")
    print(f"  load average after: {load_average()}")


def load_average():
    return " ".join(f"{figure:.2f}" for figure in os.getloadavg())


def load_history():
    """A year of sync passes per account, an archive record for every tenth artifact, a
    year of webhook deliveries and a few queued runs, and budget violations."""
    now = timezone.now()
    statuses = [SyncRun.Status.SUCCEEDED] * 8 + [SyncRun.Status.PARTIAL, SyncRun.Status.FAILED]
    for name in ACCOUNTS:
        account = Account.objects.get_or_create(name=name)[0]
        passes = SyncRun.objects.bulk_create(
            (
                SyncRun(
                    account=account,
                    status=statuses[n % len(statuses)],
                    api_calls=12,
                    rate_limited_calls=n % 7 == 0,
                    rate_limit_remaining=3400,
                )
                for n in range(PASSES)
            ),
            batch_size=5000,
        )
        for offset, run in enumerate(passes[-3:]):
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRun.Status.SUCCEEDED, finished_at=now - timedelta(minutes=offset)
            )
    load_webhooks_and_violations(now)
    artifacts = (
        CiArtifact.objects.alias(tenth=Mod("id", 10)).filter(tenth=0).values_list("pk", "file_size")
    )
    ArchivedArtifact.objects.bulk_create(
        (
            ArchivedArtifact(artifact_id=pk, status="archived", size=size, sha256="0" * 64)
            for pk, size in artifacts.iterator(chunk_size=5000)
        ),
        batch_size=5000,
    )


def load_webhooks_and_violations(now):
    account = default_account()
    events = ("BUILD_CREATED", "BUILD_STARTED", "BUILD_COMPLETED")
    WebhookDelivery.objects.bulk_create(
        (
            WebhookDelivery(
                account=account,
                run_asc_id=f"hook-run-{n // 3}",
                event_type=events[n % 3],
                deliveries=1 + (n % 50 == 0),
            )
            for n in range(DELIVERIES)
        ),
        batch_size=5000,
    )
    QueuedRun.objects.bulk_create(
        QueuedRun(account=account, run_asc_id=f"hook-run-{n}", queued_at=now) for n in range(QUEUED)
    )
    budget = SizeBudget.objects.create(account=account, name="bench", max_bytes=1)
    runs = CiBuildRun.objects.order_by("-pk").values_list("pk", flat=True)[:VIOLATIONS]
    states = (
        {"notified_at": now},
        {"next_attempt_at": now, "delivery_error": "json://...: refused", "delivery_attempts": 2},
        {"next_attempt_at": now},
        {"delivery_attempts": 8},
    )
    BudgetViolation.objects.bulk_create(
        BudgetViolation(
            budget=budget,
            budget_name="bench",
            run_id=pk,
            bytes=2,
            limit_bytes=1,
            **states[n % len(states)],
        )
        for n, pk in enumerate(runs)
    )


if __name__ == "__main__":
    main()

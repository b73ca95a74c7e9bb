"""Scrape time of /metrics over a million artifacts.

    python benchmarks/metrics_benchmark.py                      # SQLite (a scratch file)
    DATABASE_URL=postgres://user:pw@host/db python benchmarks/metrics_benchmark.py

Loads the same scratch dataset as stats_benchmark.py (5 products x 4 workflows, five
artifact types, two years), plus a year of sync passes and an archive record for every
tenth artifact, then times GET /metrics through Django's whole request stack with the
bearer token. Prints p50/p95 and the size of one scrape.

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

from artifacts_app import rollup  # noqa: E402
from artifacts_app.models import (  # noqa: E402
    ArchivedArtifact,
    CiArtifact,
    SyncRun,
    default_account,
)

TOKEN = "benchmark-metrics-token"  # noqa: S105  (a scratch database)
PASSES = 35_000  # a year of passes every 15 minutes


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


def load_history():
    """A year of sync passes and an archive record for every tenth artifact."""
    now = timezone.now()
    account = default_account()
    passes = SyncRun.objects.bulk_create(
        SyncRun(
            account=account,
            status=SyncRun.Status.SUCCEEDED,
            api_calls=12,
            rate_limit_remaining=3400,
        )
        for _ in range(PASSES)
    )
    for offset, run in enumerate(passes[-3:]):
        SyncRun.objects.filter(pk=run.pk).update(finished_at=now - timedelta(minutes=offset))
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


if __name__ == "__main__":
    main()

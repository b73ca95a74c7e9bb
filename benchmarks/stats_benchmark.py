"""Latency of /api/v1/stats and the dashboard page over a million artifacts.

    python benchmarks/stats_benchmark.py                      # SQLite (a scratch file)
    DATABASE_URL=postgres://user:pw@host/db python benchmarks/stats_benchmark.py

The rows go into a scratch database of their own (`bench_stats_<name>`, dropped at the end),
never into the configured one. Prints load and rollup times, then p50/p95 of a one-year
daily /api/v1/stats request and of the dashboard page for the same range, through Django's
full request stack (middleware, session, login). For comparison it also times the plain
GROUP BY over the artifacts table that the rollup replaces.

Also times /api/v1/runs (sizes and baselines, first and 50th page) and a branch-filtered
/api/v1/stats, which the rollup cannot answer.

Options: --artifacts N (default 1,000,000), --requests N (default 60), --keep (keep the
scratch database for another look).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from django.db.models.functions import TruncDay  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402

from artifacts_app import rollup, runs, stats  # noqa: E402
from artifacts_app.forms import FilterForm  # noqa: E402
from artifacts_app.models import (  # noqa: E402
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    default_account,
)

FILE_TYPES = ["ARCHIVE", "LOG_BUNDLE", "RESULT_BUNDLE", "TEST_PRODUCTS", "ARCHIVE_EXPORT"]
ARTIFACTS_PER_RUN = 5
PRODUCTS = 5
WORKFLOWS_PER_PRODUCT = 4
DAYS = 730  # two years of history; the measured range is the last one
BATCH = 5000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args()

    with scratch_database("bench_stats", options.keep) as vendor:
        run(options, vendor)


@contextmanager
def scratch_database(name, keep=False):
    """A database of its own for a benchmark (never the configured one); yields the vendor."""
    db = connection.settings_dict
    vendor = "SQLite" if connection.vendor == "sqlite" else "PostgreSQL"
    if vendor == "SQLite":
        db["TEST"]["NAME"] = str(Path(tempfile.gettempdir()) / f"{name}.sqlite3")
    else:
        db["TEST"]["NAME"] = f"{name}_{db['NAME']}"
    setup_test_environment()
    config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        yield vendor
    finally:
        if not keep:
            teardown_databases(config, verbosity=0)


def run(options, vendor):
    today = date.today()
    print(f"{vendor}: loading {options.artifacts:,} artifacts over {DAYS} days ...", flush=True)
    started = time.perf_counter()
    with transaction.atomic():
        load(options.artifacts, today)
    print(f"  loaded in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    rows = rollup.refresh_rollup(rebuild=True)
    print(f"  daily rollup rebuilt in {time.perf_counter() - started:.1f} s ({rows:,} rows)")
    if vendor == "PostgreSQL":
        # What autovacuum does soon after a big load: planner statistics, visibility map.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    start, end = today - timedelta(days=364), today
    user = User.objects.create_user("bench")  # logged in below without a password
    default_account().users.add(user)  # a user granted the account, as a team member is
    client = Client()
    client.force_login(user)
    query = f"start={start}&end={end}&granularity=day"

    plain = time_it(lambda: plain_group_by(start, end), 5)
    print(f"  plain GROUP BY over the artifacts table (what the rollup replaces): {fmt(plain)}")

    api = time_it(lambda: get(client, f"/api/v1/stats?{query}"), options.requests)
    print(f"  GET /api/v1/stats one year, daily:      {fmt(api)}")
    api_filtered = time_it(
        lambda: get(client, f"/api/v1/stats?{query}&file_type=ARCHIVE&workflow=bench-wf-3"),
        options.requests,
    )
    print(f"  GET /api/v1/stats one year, filtered:   {fmt(api_filtered)}")
    branch = time_it(lambda: get(client, f"/api/v1/stats?{query}&branch=main"), 5)
    print(f"  GET /api/v1/stats one year, branch=main (no rollup): {fmt(branch)}")
    runs_first = time_it(lambda: get(client, f"/api/v1/runs?{query}"), options.requests)
    print(f"  GET /api/v1/runs one year, first page:  {fmt(runs_first)}")
    runs_deep = time_it(lambda: get(client, f"/api/v1/runs?{query}&page=50"), options.requests)
    print(f"  GET /api/v1/runs one year, page 50:     {fmt(runs_deep)}")
    page = time_it(lambda: get(client, f"/?{query}"), max(10, options.requests // 3))
    print(f"  GET / (dashboard) one year, daily:      {fmt(page)}")
    page_90 = time_it(lambda: get(client, "/"), max(10, options.requests // 3))
    print(f"  GET / (dashboard) default 90 days:      {fmt(page_90)}")
    f = FilterForm(QueryDict(query), user=user).scope
    for module, name in (
        (stats, "kpis"),
        (stats, "series"),
        (stats, "share_by_type"),
        (runs, "trend_and_regressions"),
        (runs, "latest_runs"),
        (runs, "main_artifact_sizes"),
        (stats, "largest_artifacts"),
    ):
        work = getattr(module, name)
        label = f"{module.__name__.rsplit('.', 1)[1]}.{name}()"
        print(f"    {label:32} {fmt(time_it(lambda w=work: w(f), 5))}")
    target = "met" if percentile(api, 95) < 50 else "NOT met"
    print(f"  target p95 < 50 ms for /api/v1/stats: {target}")


def load(total, today):
    """Products, workflows, one action per run, ARTIFACTS_PER_RUN artifacts per run."""
    account = default_account()
    products = CiProduct.objects.bulk_create(
        CiProduct(
            asc_id=f"bench-product-{i}", name=f"Product {i}", product_type="APP", account=account
        )
        for i in range(PRODUCTS)
    )
    workflows = CiWorkflow.objects.bulk_create(
        CiWorkflow(
            asc_id=f"bench-wf-{p * WORKFLOWS_PER_PRODUCT + w}",
            product=product,
            name=f"W{w}",
            account=account,
        )
        for p, product in enumerate(products)
        for w in range(WORKFLOWS_PER_PRODUCT)
    )
    runs_total = total // ARTIFACTS_PER_RUN
    first = datetime.combine(today - timedelta(days=DAYS - 1), datetime.min.time(), tzinfo=UTC)
    step = timedelta(days=DAYS) / runs_total
    for offset in range(0, runs_total, BATCH):
        count = min(BATCH, runs_total - offset)
        runs = CiBuildRun.objects.bulk_create(
            CiBuildRun(
                asc_id=f"bench-run-{n}",
                product_id=workflows[n % len(workflows)].product_id,
                account=account,
                workflow=workflows[n % len(workflows)],
                number=n + 1,
                created_date=first + step * n,
                execution_progress="COMPLETE",
                # Every seventh run failed: baselines have to reach past it.
                completion_status="FAILED" if n % 7 == 3 else "SUCCEEDED",
                source_ref_name="main" if n % 4 else "feature/bench",
            )
            for n in range(offset, offset + count)
        )
        actions = CiBuildAction.objects.bulk_create(
            CiBuildAction(
                asc_id=f"bench-action-{run.number}",
                build_run=run,
                account=account,
                name="Archive - iOS",
                action_type="ARCHIVE",
            )
            for run in runs
        )
        CiArtifact.objects.bulk_create(
            (
                CiArtifact(
                    asc_id=f"bench-artifact-{run.number}-{k}",
                    build_action=action,
                    build_run=run,
                    workflow=run.workflow,
                    product_id=run.product_id,
                    account=account,
                    run_created_date=run.created_date,
                    file_type=FILE_TYPES[k],
                    file_name=f"file-{k}.zip",
                    file_size=(k + 1) * 10_000_000 + run.number % 997 * 1000,
                )
                for run, action in zip(runs, actions, strict=True)
                for k in range(ARTIFACTS_PER_RUN)
            ),
            batch_size=BATCH,
        )


def plain_group_by(start, end):
    rows = (
        CiArtifact.objects.filter(
            run_created_date__gte=datetime.combine(start, datetime.min.time(), tzinfo=UTC),
            run_created_date__lt=datetime.combine(
                end + timedelta(days=1), datetime.min.time(), tzinfo=UTC
            ),
        )
        .values("file_type", period=TruncDay("run_created_date", tzinfo=UTC))
        .annotate(count=Count("id"), bytes=Sum("file_size"))
        .order_by("period", "file_type")
    )
    return list(rows)


def get(client, url):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return response


def time_it(work, times):
    work()  # warm-up: connection, caches, template loading
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples, pct):
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def fmt(samples):
    return (
        f"p50 {statistics.median(samples):7.1f} ms   p95 {percentile(samples, 95):7.1f} ms"
        f"   (n={len(samples)})"
    )


if __name__ == "__main__":
    main()

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

The dashboard page is timed over one year, daily: unfiltered, narrowed by product, by
workflow, by file type and by branch; and a workflow's page. `--profile` lists the SQL of
the unfiltered dashboard with each statement's time.

Options: --artifacts N (default 1,000,000), --requests N (default 60), --keep (keep the
scratch database for another look), --reuse (build the scratch database once, keep it and
time against it again on the next run; migrations added since are applied to it),
--save FILE (the figures as JSON), --compare FILE (print them beside a saved run's, e.g. one
of the code before a change), --profile.
"""

import argparse
import json
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
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)

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
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--save", metavar="FILE")
    parser.add_argument("--compare", metavar="FILE")
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()

    # A reused database is one per size, so a smaller run never finds a bigger one's rows.
    name = f"bench_stats_{options.artifacts}" if options.reuse else "bench_stats"
    with scratch_database(name, options.keep, reuse=options.reuse) as vendor:
        run(options, vendor)


@contextmanager
def scratch_database(name, keep=False, reuse=False):
    """A database of its own for a benchmark (never the configured one); yields the vendor.
    With `reuse`, an existing one is kept (and migrated) and survives the run."""
    db = connection.settings_dict
    vendor = "SQLite" if connection.vendor == "sqlite" else "PostgreSQL"
    if vendor == "SQLite":
        db["TEST"]["NAME"] = str(Path(tempfile.gettempdir()) / f"{name}.sqlite3")
    else:
        db["TEST"]["NAME"] = f"{name}_{db['NAME']}"
    setup_test_environment()
    # No serialized copy of the rows for test rollbacks: a reused database may hold millions.
    config = setup_databases(verbosity=0, interactive=False, keepdb=reuse, serialized_aliases=[])
    try:
        yield vendor
    finally:
        if not (keep or reuse):
            teardown_databases(config, verbosity=0)


def run(options, vendor):
    today = date.today()
    if options.reuse and CiArtifact.objects.exists():
        print(f"{vendor}: reusing {CiArtifact.objects.count():,} artifacts", flush=True)
    else:
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

    newest = CiBuildRun.objects.order_by("-created_date").values_list("created_date", flat=True)
    end = newest.first().date()
    start = end - timedelta(days=364)
    user, _ = User.objects.get_or_create(username="bench")  # logged in without a password
    default_account().users.add(user)  # a user granted the account, as a team member is
    client = Client()
    client.force_login(user)
    query = f"start={start}&end={end}&granularity=day"
    before = json.loads(Path(options.compare).read_text()) if options.compare else {}
    figures = {}

    def measure(label, work, times):
        samples = time_it(work, times)
        figures[label] = {"p50": statistics.median(samples), "p95": percentile(samples, 95)}
        old = before.get(label)
        was = f"   before: p50 {old['p50']:7.1f} ms   p95 {old['p95']:7.1f} ms" if old else ""
        print(f"  {label:46} {fmt(samples)}{was}", flush=True)

    print(f"  load average: {load_average()}")
    measure("plain GROUP BY (what the rollup replaces)", lambda: plain_group_by(start, end), 5)
    many, few = options.requests, max(10, options.requests // 3)
    measure(
        "GET /api/v1/stats one year, daily", lambda: get(client, f"/api/v1/stats?{query}"), many
    )
    measure(
        "GET /api/v1/stats one year, filtered",
        lambda: get(client, f"/api/v1/stats?{query}&file_type=ARCHIVE&workflow=bench-wf-3"),
        many,
    )
    measure(
        "GET /api/v1/stats one year, branch=main",
        lambda: get(client, f"/api/v1/stats?{query}&branch=main"),
        5,
    )
    measure(
        "GET /api/v1/runs one year, first page", lambda: get(client, f"/api/v1/runs?{query}"), many
    )
    measure(
        "GET /api/v1/runs one year, page 50",
        lambda: get(client, f"/api/v1/runs?{query}&page=50"),
        many,
    )
    pages = {
        "GET / one year, daily": f"/?{query}",
        "GET / one year, daily, product": f"/?{query}&product=bench-product-1",
        "GET / one year, daily, workflow": f"/?{query}&workflow=bench-wf-3",
        "GET / one year, daily, file_type": f"/?{query}&file_type=ARCHIVE",
        "GET / one year, daily, branch=main": f"/?{query}&branch=main",
        "GET /workflows/<id>/ one year, daily": f"/workflows/bench-wf-3/?{query}",
        "GET / default 90 days": "/",
    }
    for label, url in pages.items():
        # Branch views bypass the rollup: a few samples tell their cost.
        measure(label, lambda url=url: get(client, url), 5 if "branch" in label else few)
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
        label = f"  {module.__name__.rsplit('.', 1)[1]}.{name}()"
        measure(label, lambda w=work: w(f), 5)
    print(f"  load average: {load_average()}")
    page = figures["GET / one year, daily"]["p95"]
    print(f"  target p95 <= 150 ms for the dashboard, one year daily: {page:.1f} ms, ", end="")
    print("met" if page <= 150 else "NOT met")
    if options.save:
        Path(options.save).write_text(json.dumps(figures, indent=1))
    if options.profile:
        profile(client, f"/?{query}")


def profile(client, url):
    """Each SQL statement of one page load with its time, slowest first."""
    with CaptureQueriesContext(connection) as queries:
        get(client, url)
    print(f"  {url}: {len(queries)} queries")
    for query in sorted(queries, key=lambda q: -float(q["time"]))[:12]:
        print(f"    {float(query['time']) * 1000:7.1f} ms  {query['sql'][:300]}")


def load_average():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


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

"""What reading only the accounts granted to a user costs, on two accounts' data.

    python benchmarks/accounts_read_benchmark.py                      # SQLite (a scratch file)
    DATABASE_URL=postgres://user:pw@host/db python benchmarks/accounts_read_benchmark.py

Loads `stats_benchmark`'s history (5 products, a year of runs, --artifacts N artifacts) into
a scratch database, moves two of the five products into a second account, then times the
same requests for a user granted both accounts (whose queries carry no account filter) and
a user granted the first one only (whose queries filter by account). Prints p50/p95 and the
load average beside them.

Options: --artifacts N (default 300,000), --requests N (default 30).
"""

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from stats_benchmark import fmt, get, load, scratch_database, time_it  # noqa: E402

from artifacts_app import rollup  # noqa: E402
from artifacts_app.models import (  # noqa: E402
    Account,
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    default_account,
)

MOVED_PRODUCTS = ["bench-product-3", "bench-product-4"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=30)
    options = parser.parse_args()
    with scratch_database("bench_accounts") as vendor:
        run(options, vendor)


def split_into_two_accounts():
    """Two of the five products, with everything under them, become account `second`'s."""
    second = Account.objects.create(name="second")
    products = CiProduct.objects.filter(asc_id__in=MOVED_PRODUCTS)
    for model, lookup in (
        (CiArtifact, "product__in"),
        (CiBuildAction, "build_run__product__in"),
        (CiBuildRun, "product__in"),
        (CiWorkflow, "product__in"),
        (CiProduct, "pk__in"),
    ):
        model.objects.filter(**{lookup: products}).update(account=second)
    rollup.refresh_rollup(rebuild=True)
    return default_account(), second


def run(options, vendor):
    today = date.today()
    print(f"{vendor}: loading {options.artifacts:,} artifacts ...", flush=True)
    with transaction.atomic():
        load(options.artifacts, today)
    first, second = split_into_two_accounts()
    if vendor == "PostgreSQL":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"  {CiArtifact.objects.filter(account=first).count():,} artifacts in account default,")
    print(f"  {CiArtifact.objects.filter(account=second).count():,} in account second")

    both = User.objects.create_user("both")
    first.users.add(both)
    second.users.add(both)
    one = User.objects.create_user("one")
    first.users.add(one)
    start = today - timedelta(days=364)
    query = f"start={start}&end={today}&granularity=day"
    requests = {
        "GET /api/v1/stats one year, daily": (f"/api/v1/stats?{query}", options.requests),
        "GET /api/v1/runs one year, first page": (f"/api/v1/runs?{query}", options.requests),
        "GET /api/v1/runs one year, page 50": (f"/api/v1/runs?{query}&page=50", options.requests),
        "GET / (dashboard) default 90 days": ("/", max(10, options.requests // 3)),
    }
    for label, user in (("granted both accounts", both), ("granted account default only", one)):
        client = Client()
        client.force_login(user)
        print(f"  a user {label}:")
        for name, (url, times) in requests.items():
            samples = time_it(lambda u=url, c=client: get(c, u), times)
            print(f"    {name:40} {fmt(samples)}   load {load_average()}")


def load_average():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"  done in {time.perf_counter() - started:.0f} s")

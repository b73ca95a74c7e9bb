"""Benchmark: a first sync of a large simulated account, then a second pass with no changes.

    .venv/bin/python benchmarks/sync_benchmark.py [--runs 10000] [--products 5]
        [--database-url sqlite:///path/to.sqlite3 | postgres://...]

The simulator serves from a separate process, so the figures are the sync's own: calls made
against the minimum the API allows, wall time, artifacts per second, and the peak memory
(resident set) of the syncing process. The database is a fresh temporary SQLite file unless
--database-url is given (its tables are flushed first).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(options, public_pem, queue):
    from artifacts_app.asc.simulator import run_in_thread

    server = run_in_thread(public_key=public_pem, key_id="BENCHKEY", **options)
    dataset = server.dataset
    runs = [run for product in dataset.products for run in dataset.visible_runs(product)]
    queue.put(
        {
            "base_url": server.base_url,
            "products": len(dataset.products),
            "runs": len(runs),
            "run_pages": sum(-(-len(dataset.visible_runs(p)) // 200) for p in dataset.products),
            "workflow_pages": len(dataset.products),
            "actions": sum(len(run.actions) for run in runs),
            "complete_actions": sum(
                1
                for run in runs
                for action in run.actions
                if action.progress(dataset.now_ts) == "COMPLETE"
            ),
            "artifacts": len(dataset.all_visible_artifacts()),
            "unfinished": sum(1 for run in runs if run.progress(dataset.now_ts) != "COMPLETE"),
        }
    )
    while True:
        time.sleep(3600)


def cpu_seconds() -> float:
    """CPU time of this (the syncing) process: steadier than wall time on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class QueryCounter:
    """Counts the SQL statements the sync sends, as a `connection.execute_wrapper`."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    temp = tempfile.TemporaryDirectory()
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{temp.name}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
    os.environ["ASC_DEMO_DATA"] = "false"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from artifacts_app.asc import AscClient, TokenProvider
    from artifacts_app.models import CiArtifact
    from artifacts_app.sync import sync
    from tests.simulator_fixtures import make_key_pair

    call_command("migrate", verbosity=0)
    if args.database_url:
        call_command("flush", interactive=False, verbosity=0)

    keys = make_key_pair()
    queue = multiprocessing.Queue()
    options = {"seed": args.seed, "runs": args.runs, "products": args.products}
    simulator = multiprocessing.Process(
        target=serve, args=(options, keys.public_pem, queue), daemon=True
    )
    simulator.start()
    try:
        account = queue.get(timeout=300)
        tokens = TokenProvider("BENCHKEY", keys.private_pem)
        client = AscClient(account["base_url"], tokens)
        minimum = (
            1
            + account["workflow_pages"]
            + account["run_pages"]
            + account["runs"]
            + account["complete_actions"]
        )
        print(
            f"account: {account['products']} products, {account['runs']} runs, "
            f"{account['actions']} actions, {account['artifacts']} artifacts"
        )
        rss_before = peak_rss_mib()
        queries = QueryCounter()
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        with connection.execute_wrapper(queries):
            first = sync(client=client, reserve=0)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        stored = CiArtifact.objects.count()
        print(
            f"first sync: {first.status}, {first.api_calls} calls "
            f"(minimum {minimum}, {first.api_calls / minimum:.3f}x), {elapsed:.1f} s, "
            f"{stored / elapsed:,.0f} artifacts/s, {stored} artifacts stored"
        )
        print(
            f"sync process: {cpu:.1f} CPU s ({stored / cpu:,.0f} artifacts per CPU s), "
            f"{queries.count} SQL statements ({queries.count / account['runs']:.1f} per run)"
        )
        print(
            f"peak memory: {peak_rss_mib():.0f} MiB resident ({rss_before:.0f} MiB before the sync)"
        )
        hours = minimum / 3500
        print(
            f"at Apple's 3,500 calls/hour with the default reserve of 500: "
            f"{minimum / 3000:.1f} hours of budget ({hours:.1f} h with no reserve)"
        )
        second_minimum = 1 + account["workflow_pages"] + account["products"]
        started = time.perf_counter()
        second = sync(client=client, reserve=0)
        elapsed = time.perf_counter() - started
        print(
            f"second sync (no changes): {second.status}, {second.api_calls} calls "
            f"(products + workflow pages + 1 = {second_minimum}, plus the actions of "
            f"{account['unfinished']} runs still running), {elapsed:.1f} s"
        )
        if stored != account["artifacts"]:
            print(f"MISMATCH: {stored} stored, {account['artifacts']} upstream")
            sys.exit(1)
    finally:
        simulator.terminate()
        temp.cleanup()


if __name__ == "__main__":
    main()

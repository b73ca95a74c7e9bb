"""Benchmark: first syncs of simulated accounts, one worker against several, side by side.

    .venv/bin/python benchmarks/sync_benchmark.py [--runs 10000] [--products 5]
        [--concurrency 1,8] [--latency 0.1 --latency-runs 200 --latency-products 2]
        [--skip-latency] [--database-url sqlite:///path/to.sqlite3 | postgres://...]

Two scenarios, each synced from scratch once per `--concurrency` value:

- waiting: a first sync of a small account (200 runs, 2 products) whose every API call takes
  `--latency` seconds, as Apple's do (0.1-0.5 s): calls against the minimum, and wall time;
- ingest: a first sync of a large account (10,000 runs) at zero latency: artifacts per
  second, the syncing process's CPU time, SQL statements per run, peak resident memory;
  then a second pass with no changes.

The simulator serves from a separate process, so the figures are the sync's own. The
database is a fresh temporary SQLite file unless --database-url is given (its tables are
flushed before every pass). The machine's load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import contextlib
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


def reset_peak_rss() -> None:
    """Start measuring the peak resident set afresh (Linux: clear_refs 5 resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def process_cpu_seconds(pid: int) -> float:
    """CPU time of another process so far (Linux), to tell whether the simulator bounds a pass."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


class Simulator:
    """The simulator in its own process, and what its account holds."""

    def __init__(self, options: dict, public_pem: str) -> None:
        queue = multiprocessing.Queue()
        self.process = multiprocessing.Process(
            target=serve, args=(options, public_pem, queue), daemon=True
        )
        self.process.start()
        self.account = queue.get(timeout=600)
        account = self.account
        self.minimum = (
            1
            + account["workflow_pages"]
            + account["run_pages"]
            + account["runs"]
            + account["complete_actions"]
        )

    def describe(self) -> str:
        a = self.account
        return (
            f"{a['products']} products, {a['runs']} runs, {a['actions']} actions, "
            f"{a['artifacts']} artifacts; the fewest calls the API allows: {self.minimum}"
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", default="1,8", help="worker counts to compare")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--latency-products", type=int, default=2)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workers = [int(value) for value in args.concurrency.split(",")]

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
    keys = make_key_pair()
    tokens = TokenProvider("BENCHKEY", keys.private_pem)
    print(f"database: {connection.vendor}; {load()}")

    def first_sync(simulator: Simulator, concurrency: int) -> dict:
        call_command("flush", interactive=False, verbosity=0)
        client = AscClient(simulator.account["base_url"], tokens)
        queries = QueryCounter()
        reset_peak_rss()
        simulator_before = process_cpu_seconds(simulator.process.pid)
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        with connection.execute_wrapper(queries):
            run = sync(client=client, reserve=0, concurrency=concurrency)
        elapsed = time.perf_counter() - started
        stored = CiArtifact.objects.count()
        if stored != simulator.account["artifacts"] or run.status != "succeeded":
            print(f"MISMATCH: {run.status}, {stored} stored of {simulator.account['artifacts']}")
            sys.exit(1)
        return {
            "client": client,
            "calls": run.api_calls,
            "seconds": elapsed,
            "cpu": cpu_seconds() - cpu_before,
            "simulator_cpu": process_cpu_seconds(simulator.process.pid) - simulator_before,
            "statements": queries.count,
            "stored": stored,
            "peak": peak_rss_mib(),
        }

    if not args.skip_latency:
        simulator = Simulator(
            {
                "seed": args.seed,
                "runs": args.latency_runs,
                "products": args.latency_products,
                "latency": args.latency,
            },
            keys.public_pem,
        )
        try:
            print(f"\nwaiting: {args.latency * 1000:.0f} ms a call; {simulator.describe()}")
            for concurrency in workers:
                figures = first_sync(simulator, concurrency)
                print(
                    f"  {concurrency} worker(s): {figures['calls']} calls "
                    f"({figures['calls'] / simulator.minimum:.3f}x the minimum), "
                    f"{figures['seconds']:.1f} s; {load()}"
                )
        finally:
            simulator.stop()

    if args.skip_ingest:
        return
    simulator = Simulator(
        {"seed": args.seed, "runs": args.runs, "products": args.products}, keys.public_pem
    )
    try:
        print(f"\ningest: no latency; {simulator.describe()}")
        runs = simulator.account["runs"]
        for concurrency in workers:
            figures = first_sync(simulator, concurrency)
            stored, cpu = figures["stored"], figures["cpu"]
            print(
                f"  {concurrency} worker(s): {figures['calls']} calls "
                f"({figures['calls'] / simulator.minimum:.3f}x), {figures['seconds']:.1f} s, "
                f"{stored / figures['seconds']:,.0f} artifacts/s; "
                f"{cpu:.1f} CPU s ({stored / cpu:,.0f} artifacts per CPU s), "
                f"{figures['statements'] / runs:.1f} SQL statements per run, "
                f"peak {figures['peak']:.0f} MiB resident; the simulator "
                f"{figures['simulator_cpu']:.1f} CPU s; {load()}"
            )
        started = time.perf_counter()
        second = sync(client=figures["client"], reserve=0)
        print(
            f"  second sync (no changes): {second.status}, {second.api_calls} calls "
            f"(products + workflow pages + 1 = "
            f"{1 + simulator.account['workflow_pages'] + simulator.account['products']}, "
            f"plus the actions of {simulator.account['unfinished']} runs still running), "
            f"{time.perf_counter() - started:.1f} s"
        )
        print(
            f"  at Apple's 3,500 calls/hour with the default reserve of 500: "
            f"{simulator.minimum / 3000:.1f} hours of budget"
        )
    finally:
        simulator.stop()
        temp.cleanup()


if __name__ == "__main__":
    main()

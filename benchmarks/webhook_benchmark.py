"""Benchmark: Xcode Cloud webhooks against polling.

    .venv/bin/python benchmarks/webhook_benchmark.py [--completions 10] [--runs-per-day 50]
        [--products 3]

1. Latency and cost: a `sync_artifacts --loop` process runs against the simulator; the
   simulator's clock sends Apple-shaped deliveries to the dashboard's receiver, served here
   over loopback. For each BUILD_COMPLETED: the receiver's answer time, and the time until the
   run and all its artifacts are in the database. API calls are counted by the simulator.
2. Calls per day: one simulated day of an account with --runs-per-day runs, kept current by a
   15-minute cron (96 passes) against webhooks (each delivery drained as it arrives, plus one
   safety pass a day).

A fresh temporary SQLite database each time.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = secrets.token_urlsafe(24)  # a fresh webhook token per run
KEY_ID, ISSUER_ID = "BENCHKEY", "69a6de7e-0000-47e3-e053-5b8c7c11a4d1"
DAYS = 14


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--completions", type=int, default=10)
    parser.add_argument("--runs-per-day", type=int, default=50)
    parser.add_argument("--products", type=int, default=3)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    temp = tempfile.TemporaryDirectory()
    database_url = f"sqlite:///{temp.name}/bench.sqlite3"
    os.environ.update(
        {
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnop",
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "ASC_DEMO_DATA": "false",
            "XCODE_CLOUD_WEBHOOK_TOKEN": TOKEN,
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    from artifacts_app.asc.simulator.keys import generate_key_pair

    call_command("migrate", verbosity=0)
    private_pem, public_pem = generate_key_pair()
    latency(args, private_pem, public_pem, database_url)
    call_command("flush", interactive=False, verbosity=0)
    calls_per_day(args, private_pem, public_pem)


def start_simulator(args, public_pem, runs_per_day: int):
    from artifacts_app.asc.simulator import run_in_thread

    # The simulator spaces new runs evenly over the history: this many give N runs a day.
    runs = int((DAYS * 86400 - 3600) / (86400 / runs_per_day))
    return run_in_thread(
        seed=3,
        runs=runs,
        days=DAYS,
        products=args.products,
        size_scale=1e-5,
        public_key=public_pem,
        key_id=KEY_ID,
        issuer_id=ISSUER_ID,
    )


def make_client(simulator, private_pem):
    from artifacts_app.asc import AscClient, TokenProvider

    return AscClient(simulator.base_url, TokenProvider(KEY_ID, private_pem, ISSUER_ID))


def serve_dashboard():
    """The dashboard's WSGI app on a loopback port, in a thread of this process."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def latency(args, private_pem, public_pem, database_url) -> None:
    import requests

    from artifacts_app.asc.simulator.webhooks import WebhookSender
    from artifacts_app.models import CiArtifact
    from artifacts_app.sync import sync
    from artifacts_app.webhooks.models import QueuedRun

    simulator = start_simulator(args, public_pem, args.runs_per_day)
    sync(client=make_client(simulator, private_pem), reserve=0)
    dashboard = serve_dashboard()
    env = {
        **os.environ,
        "ASC_API_BASE_URL": simulator.base_url,
        "ASC_KEY_ID": KEY_ID,
        "ASC_ISSUER_ID": ISSUER_ID,
        "ASC_PRIVATE_KEY": private_pem,
        "SYNC_RESERVE_CALLS": "0",
    }
    loop = subprocess.Popen(
        [sys.executable, "manage.py", "sync_artifacts", "--loop", "--interval", "86400"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while "sync succeeded" not in loop.stdout.readline():
        if loop.poll() is not None:
            sys.exit(f"the sync loop ended: {loop.stderr.read()}")
    threading.Thread(target=loop.stdout.read, daemon=True).start()  # keep its pipe drained

    dataset = simulator.dataset
    answers: list[float] = []
    waits: list[float] = []
    events: dict[str, int] = {}
    completed_actions = 0

    def post(url, data):
        """Deliver, then wait until the loop has fetched the run: each delivery on its own,
        as when builds are minutes apart."""
        nonlocal completed_actions
        body = json.loads(data)
        kind = body["metadata"]["attributes"]["eventType"]
        events[kind] = events.get(kind, 0) + 1
        run = dataset.runs[body["ciBuildRun"]["id"]]
        started = time.perf_counter()
        status = requests.post(url, data=data, timeout=30).status_code
        answers.append(time.perf_counter() - started)
        expected = sum(len(a.artifacts) for a in run.actions)
        while QueuedRun.objects.exists() or (
            kind == "BUILD_COMPLETED"
            and CiArtifact.objects.filter(build_run__asc_id=run.id).count() < expected
        ):
            if time.perf_counter() - started > 60:
                sys.exit(f"run {run.id} not on the dashboard after 60 s")
            time.sleep(0.01)
        if kind == "BUILD_COMPLETED":
            waits.append(time.perf_counter() - started)
            completed_actions += len(run.actions)
        return status

    url = f"http://127.0.0.1:{dashboard.server_address[1]}/hooks/xcode-cloud/{TOKEN}"
    sender = WebhookSender(dataset, url, post=post)
    simulator.stats.reset()
    for _step in range(2000):
        if len(waits) >= args.completions:
            break
        sender.advance(minutes=5)
    loop.send_signal(signal.SIGTERM)
    loop.wait(timeout=60)
    calls = simulator.stats.api_requests
    completions = events.get("BUILD_COMPLETED", 0)
    minimum = (
        (events.get("BUILD_CREATED", 0) + events.get("BUILD_STARTED", 0))
        + 2 * completions
        + completed_actions
    )
    print(
        f"receiver: {len(answers)} deliveries answered in p50 "
        f"{statistics.median(answers) * 1000:.0f} ms, max {max(answers) * 1000:.0f} ms"
    )
    print(
        f"BUILD_COMPLETED -> run and artifacts on the dashboard, {len(waits)} runs, loop "
        f"polling every second: p50 {statistics.median(waits):.2f} s, "
        f"p95 {statistics.quantiles(waits, n=20)[-1]:.2f} s, max {max(waits):.2f} s"
    )
    print(
        f"API calls: {calls} for {sum(events.values())} deliveries "
        f"({', '.join(f'{n} {k}' for k, n in sorted(events.items()))}); minimum {minimum} "
        f"(1 per CREATED/STARTED, 2 + actions per COMPLETED)"
    )
    simulator.stop()
    dashboard.shutdown()


def calls_per_day(args, private_pem, public_pem) -> None:
    from django.core.management import call_command

    from artifacts_app.asc.simulator.webhooks import WebhookSender
    from artifacts_app.models import default_account
    from artifacts_app.sync import sync, sync_queued
    from artifacts_app.webhooks.payload import parse_delivery
    from artifacts_app.webhooks.queue import record_delivery

    # Polling: a pass every 15 minutes.
    simulator = start_simulator(args, public_pem, args.runs_per_day)
    client = make_client(simulator, private_pem)
    sync(client=client, reserve=0)
    before = client.calls
    for _ in range(96):
        simulator.dataset.advance(minutes=15)
        sync(client=client, reserve=0)
    cron = client.calls - before
    new_runs = len(simulator.dataset.runs) - simulator.dataset.initial_runs
    simulator.stop()

    # Webhooks: each delivery fetched as it arrives, and one pass at the end of the day.
    call_command("flush", interactive=False, verbosity=0)
    simulator = start_simulator(args, public_pem, args.runs_per_day)
    client = make_client(simulator, private_pem)
    sync(client=client, reserve=0)
    before = client.calls

    def post(url, data):
        parsed = parse_delivery(data)
        record_delivery(parsed.run_id, parsed.event_type, default_account())
        sync_queued(client)
        return 202

    sender = WebhookSender(simulator.dataset, "http://dashboard.invalid/hook", post=post)
    for _ in range(96):
        sender.advance(minutes=15)
    sync(client=client, reserve=0)
    hooked = client.calls - before
    simulator.stop()
    print(
        f"one day, {new_runs} new runs on {args.products} products: 15-minute cron "
        f"{cron} calls; webhooks {hooked} calls (incl. one daily pass); "
        f"saved {cron - hooked} calls/day ({(cron - hooked) / cron:.0%})"
    )


if __name__ == "__main__":
    main()

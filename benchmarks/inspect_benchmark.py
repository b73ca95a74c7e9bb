"""Benchmark: inspecting the zip artifacts of a simulated account, and one archive over 4 GiB.

    .venv/bin/python benchmarks/inspect_benchmark.py [--runs 1000] [--giant-gib 5]

The simulator serves full-size archives (generated lazily) from a separate process. After a
sync pass, every ARCHIVE, ARCHIVE_EXPORT and STAPLED_NOTARIZED_ARCHIVE is inspected over HTTP
range requests. Printed: bytes fetched per artifact against its size, artifacts per second,
API calls, and the inspecting process's memory while it reads an archive of --giant-gib GiB
(ZIP64), which should not move with the archive's size. With --streamed the host refuses
ranges and only the giant archive is read, in one streamed pass.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GiB = 1024**3


def serve(options, giant_bytes, public_pem, queue):
    from artifacts_app.asc.simulator import run_in_thread

    server = run_in_thread(public_key=public_pem, key_id="BENCHKEY", **options)
    archives = [a for a in server.dataset.all_visible_artifacts() if a.file_type == "ARCHIVE"]
    giant = archives[-1]
    giant.file_size = giant_bytes  # the newest archive becomes a giant one
    queue.put({"base_url": server.base_url, "giant": giant.id})
    while True:
        time.sleep(3600)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--products", type=int, default=5)
    parser.add_argument("--giant-gib", type=float, default=5.0)
    parser.add_argument(
        "--streamed",
        action="store_true",
        help="serve without range support and read only the giant archive (streamed once)",
    )
    args = parser.parse_args()

    temp = tempfile.TemporaryDirectory()
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ["DATABASE_URL"] = f"sqlite:///{temp.name}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
    os.environ["ASC_DEMO_DATA"] = "false"
    os.environ["ARCHIVE_ROOT"] = f"{temp.name}/archive"

    import django

    django.setup()
    from django.core.management import call_command

    from artifacts_app.archive import Selection
    from artifacts_app.asc import AscClient, TokenProvider
    from artifacts_app.contents.inspect import inspect_artifacts
    from artifacts_app.contents.models import ArtifactContents
    from artifacts_app.models import CiArtifact
    from artifacts_app.sync import sync
    from artifacts_app.units import format_bytes
    from tests.simulator_fixtures import make_key_pair

    call_command("migrate", verbosity=0)
    keys = make_key_pair()
    queue = multiprocessing.Queue()
    options = {
        "seed": 1,
        "runs": args.runs,
        "products": args.products,
        "honour_ranges": not args.streamed,
    }
    giant_bytes = int(args.giant_gib * GiB)
    simulator = multiprocessing.Process(
        target=serve, args=(options, giant_bytes, keys.public_pem, queue), daemon=True
    )
    simulator.start()
    try:
        info = queue.get(timeout=300)
        client = AscClient(info["base_url"], TokenProvider("BENCHKEY", keys.private_pem))
        synced = sync(client=client, reserve=0)
        CiArtifact.objects.filter(asc_id=info["giant"]).update(file_size=giant_bytes)
        giant = CiArtifact.objects.get(asc_id=info["giant"])
        print(f"sync: {synced.status}, {CiArtifact.objects.count()} artifacts")

        # The giant archive alone first, measuring the Python heap while it is read.
        calls = client.calls
        rss_before = peak_rss_mib()
        tracemalloc.start()
        started = time.perf_counter()
        inspect_artifacts(Selection(artifact_pks=(giant.pk,)), client=client, reserve=0)
        giant_seconds = time.perf_counter() - started
        _current, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        contents = ArtifactContents.objects.get(artifact=giant)
        print(
            f"giant archive: {format_bytes(giant.file_size)} ({giant.file_size / GiB:.2f} GiB), "
            f"{contents.status}, {contents.entries} entries, fetched "
            f"{format_bytes(contents.bytes_fetched)} "
            f"({contents.bytes_fetched / giant.file_size:.5%}), {contents.source}, "
            f"{giant_seconds * 1000:.0f} ms, {client.calls - calls} API call; "
            f"Python heap peak {heap_peak / 1024**2:.1f} MiB, resident {peak_rss_mib():.0f} MiB "
            f"(was {rss_before:.0f} MiB)"
        )
        if args.streamed:
            return

        calls = client.calls
        started = time.perf_counter()
        report = inspect_artifacts(Selection(), client=client, reserve=0)
        elapsed = time.perf_counter() - started
        rows = list(
            ArtifactContents.objects.exclude(artifact=giant)
            .filter(status="inspected")
            .values_list("bytes_fetched", "artifact__file_size", "artifact__file_type")
        )
        shares = [fetched / size for fetched, size, _type in rows]
        fetched = [fetched for fetched, _size, _type in rows]
        archives = [f for f, _s, t in rows if t == "ARCHIVE"]
        print(
            f"all zip artifacts: {report.summary()}; {len(rows)} in {elapsed:.1f} s = "
            f"{len(rows) / elapsed:.1f} artifacts/s, {client.calls - calls} API calls"
        )
        print(
            f"bytes fetched per artifact: median {format_bytes(statistics.median(fetched))}, "
            f"max {format_bytes(max(fetched))}; share of the file: median "
            f"{statistics.median(shares):.4%}, max {max(shares):.4%}; ARCHIVE median "
            f"{format_bytes(statistics.median(archives))} of a median "
            f"{format_bytes(statistics.median(s for _f, s, t in rows if t == 'ARCHIVE'))}"
        )
        print(f"peak memory of this process: {peak_rss_mib():.0f} MiB resident")
    finally:
        simulator.terminate()
        temp.cleanup()


if __name__ == "__main__":
    main()

"""Archive one multi-GB simulated artifact and compare with curl on the same kind of URL.

Usage: .venv/bin/python benchmarks/archive_benchmark.py [--gib 3] [--rounds 2]

The simulator runs in a child process, so this process's memory is the archiver's alone.
Each round downloads the artifact once with `curl -o` and once with the archiver's download
path (fresh URL, stream to a temporary file, byte count, SHA-256, fsync, atomic move), each
from a freshly signed URL. Prints throughput, the archiver/curl ratio and peak memory
(RSS sampled every 20 ms). Targets: at least 0.8x curl, memory flat whatever the size.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GiB = 1024**3
MiB = 1024**2


def serve(size: int) -> None:
    """Child process: a simulator whose first artifact is `size` bytes; prints url and id."""
    from artifacts_app.asc.simulator import run_in_thread
    from artifacts_app.asc.simulator.downloads import pattern_body

    server = run_in_thread(seed=3, runs=5, products=1, live_runs=0, download_expiry=3600)
    artifact = server.dataset.all_visible_artifacts()[0]
    artifact.file_size = size
    # The plain download pattern, whatever the type: a zip artifact would be served as a
    # generated archive, whose digest `expected_digest` does not know.
    server.app.downloads.body_for = pattern_body
    print(server.base_url, artifact.id, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


class RssSampler:
    """Peak resident memory of this process while running."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self.peak = rss()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss())


def rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=3.0, help="artifact size in GiB")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.core.files.storage import FileSystemStorage

    from artifacts_app.archive.download import Job, fetch
    from artifacts_app.asc import AscClient, TokenProvider

    if not shutil.which("curl"):
        sys.exit("curl is not installed")
    size = int(args.gib * GiB)
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        base_url, artifact_id = child.stdout.readline().split()
        key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        client = AscClient(base_url, TokenProvider("BENCHKEY", key.decode(), "bench-issuer"))
        with tempfile.TemporaryDirectory(prefix="archive-bench-", dir=ROOT) as work:
            run_rounds(
                client, artifact_id, size, Path(work), args.rounds, Job, fetch, FileSystemStorage
            )
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def run_rounds(client, artifact_id, size, work, rounds, Job, fetch, FileSystemStorage):
    storage = FileSystemStorage(location=work / "archive")
    print(f"artifact: {size / GiB:.2f} GiB from the simulator on loopback; {rounds} rounds")
    curl_rates, curl_sync_rates, archive_rates = [], [], []
    baseline = rss()
    peak = 0
    digest = ""
    print(
        f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs"
    )
    for round_number in range(1, rounds + 1):
        os.sync()  # start each measurement without the previous one's dirty pages
        url = client.artifact(artifact_id).download_url
        target = work / "curl.bin"
        started = time.perf_counter()
        subprocess.run(["curl", "-sS", "--fail", "-o", str(target), url], check=True)
        curl_seconds = time.perf_counter() - started
        if target.stat().st_size != size:
            sys.exit("curl received the wrong number of bytes")
        started = time.perf_counter()
        with open(target, "rb") as handle:
            os.fsync(handle.fileno())  # what the archiver also pays: bytes on disk, a checksum
            hashlib.file_digest(handle, "sha256")
        curl_sync_seconds = curl_seconds + time.perf_counter() - started
        target.unlink()
        curl_rates.append(size / curl_seconds)
        curl_sync_rates.append(size / curl_sync_seconds)

        os.sync()
        job = Job(
            pk=0,
            asc_id=artifact_id,
            file_name="big.zip",
            file_size=size,
            name=f"bench/{artifact_id}-{round_number}.zip",
        )
        with RssSampler() as sampler:
            started = time.perf_counter()
            outcome = fetch(client, job, storage)
            archive_seconds = time.perf_counter() - started
        if outcome.status != "archived":
            sys.exit(f"archive failed: {outcome.error}")
        peak = max(peak, sampler.peak)
        digest = outcome.sha256
        storage.delete(job.name)
        archive_rates.append(size / archive_seconds)
        print(
            f"round {round_number}: curl {curl_rates[-1] / MiB:7.1f} MiB/s ({curl_seconds:.1f} s)"
            f"   curl+fsync+sha256 {curl_sync_rates[-1] / MiB:7.1f} MiB/s "
            f"({curl_sync_seconds:.1f} s)"
            f"   archiver {archive_rates[-1] / MiB:7.1f} MiB/s ({archive_seconds:.1f} s)"
        )
    expected = expected_digest(artifact_id, size)
    best_curl, best_archive = max(curl_rates), max(archive_rates)
    best_sync = max(curl_sync_rates)
    print(
        f"best: curl {best_curl / MiB:.1f} MiB/s, archiver {best_archive / MiB:.1f} MiB/s, "
        f"ratio {best_archive / best_curl:.2f}x (target >= 0.80x); "
        f"vs curl+fsync+sha256 {best_archive / best_sync:.2f}x"
    )
    print(
        f"memory: RSS {baseline / MiB:.1f} MiB before, peak {peak / MiB:.1f} MiB while "
        f"archiving {size / GiB:.2f} GiB (+{(peak - baseline) / MiB:.1f} MiB)"
    )
    print(f"sha256 {'matches' if digest == expected else 'DIFFERS FROM'} the simulator's content")
    print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


def expected_digest(artifact_id: str, size: int) -> str:
    from artifacts_app.asc.simulator import content_chunks

    digest = hashlib.sha256()
    for chunk in content_chunks(artifact_id, size, chunk_size=4 * MiB):
        digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":
    main()

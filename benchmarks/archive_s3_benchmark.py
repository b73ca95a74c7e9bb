"""Archive the same simulated artifact to the local disk and to S3, and compare.

Usage: .venv/bin/python benchmarks/archive_s3_benchmark.py [--gib 1] [--rounds 2]

The simulator and an S3 API server (moto's) run as child processes on loopback, so this
process's memory is the archiver's alone. Each round archives the artifact once into a local
FileSystemStorage (temporary file, fsync, rename) and once into the bucket (streamed from
the socket into a multipart upload, no staging file), both counting and hashing as they go,
then reads the object back as `--verify` does. Prints throughput of each side by side, the
S3/local ratio, peak memory (RSS sampled every 20 ms) of each phase, and the process's
ru_maxrss before and after, with the load average.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from archive_benchmark import GiB, MiB, RssSampler, expected_digest, rss  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="artifact size in GiB")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from artifacts_app.asc import AscClient, TokenProvider
    from tests.s3_server import running_s3_server

    size = int(args.gib * GiB)
    simulator = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "archive_benchmark.py"), "--serve", str(size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        base_url, artifact_id = simulator.stdout.readline().split()
        key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        client = AscClient(base_url, TokenProvider("BENCHKEY", key.decode(), "bench-issuer"))
        with (
            running_s3_server() as s3,
            tempfile.TemporaryDirectory(prefix="archive-s3-bench-", dir=ROOT) as work,
        ):
            s3.client().create_bucket(Bucket="bench")
            run_rounds(client, artifact_id, size, Path(work), args.rounds, s3)
    finally:
        simulator.stdin.close()
        simulator.wait(timeout=10)


def run_rounds(client, artifact_id, size, work, rounds, s3) -> None:
    from django.conf import settings
    from django.core.files.storage import FileSystemStorage

    from artifacts_app.archive.download import Job, fetch
    from artifacts_app.archive.s3 import ArchiveS3Storage

    settings.ARCHIVE_ROOT = work / "staging"  # must stay empty: S3 uploads are not staged
    local = FileSystemStorage(location=work / "archive")
    bucket = ArchiveS3Storage(**s3.storage_options("bench", prefix="archive"))
    expected = expected_digest(artifact_id, size)
    print(f"artifact: {size / GiB:.2f} GiB from the simulator on loopback; {rounds} rounds")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    baseline = rss()
    maxrss_before = max_rss()
    rates = {"local disk": [], "S3": []}
    peaks = {"local disk": 0, "S3": 0, "S3 read-back": 0}
    for round_number in range(1, rounds + 1):
        line = [f"round {round_number}:"]
        for label, storage in (("local disk", local), ("S3", bucket)):
            os.sync()
            job = Job(0, artifact_id, "big.zip", size, f"bench/{artifact_id}-{round_number}.zip")
            with RssSampler() as sampler:
                started = time.perf_counter()
                outcome = fetch(client, job, storage)
                seconds = time.perf_counter() - started
            if outcome.status != "archived" or outcome.sha256 != expected:
                sys.exit(f"{label}: archive failed: {outcome.error or 'checksum differs'}")
            peaks[label] = max(peaks[label], sampler.peak)
            rates[label].append(size / seconds)
            line.append(f"{label} {size / seconds / MiB:6.1f} MiB/s ({seconds:.1f} s)")
            if storage is bucket:
                with RssSampler() as sampler:
                    started = time.perf_counter()
                    digest = read_back(storage, job.name)
                    read_seconds = time.perf_counter() - started
                peaks["S3 read-back"] = max(peaks["S3 read-back"], sampler.peak)
                if digest != expected:
                    sys.exit("S3: the object read back differs")
                line.append(f"read-back {size / read_seconds / MiB:6.1f} MiB/s")
            storage.delete(job.name)
        print("   ".join(line))
    best_local, best_s3 = max(rates["local disk"]), max(rates["S3"])
    print(
        f"best: local disk {best_local / MiB:.1f} MiB/s, S3 {best_s3 / MiB:.1f} MiB/s, "
        f"S3/local {best_s3 / best_local:.2f}x"
    )
    print(
        f"memory: RSS {baseline / MiB:.1f} MiB before; peak "
        + ", ".join(f"{label} +{(peak - baseline) / MiB:.1f} MiB" for label, peak in peaks.items())
        + f" for {size / GiB:.2f} GiB"
    )
    print(
        f"ru_maxrss: {maxrss_before / MiB:.1f} MiB before, {max_rss() / MiB:.1f} MiB after "
        f"(+{(max_rss() - maxrss_before) / MiB:.1f} MiB)"
    )
    staged = list((work / "staging").rglob("*"))
    print(f"staged on local disk for S3: {len(staged)} files")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def max_rss() -> int:
    """The process's peak resident memory so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def read_back(storage, name) -> str:
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":
    main()

"""A real S3 API on loopback for the tests: moto's server, run as a separate process.

Requests cross a socket and the whole botocore stack, as against AWS or MinIO; the server
keeps objects in its own memory, so each test gets a fresh bucket of its own.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import boto3
import pytest
import requests

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"  # moto accepts any pair
REGION = "us-east-1"
__all__ = ["s3_archive", "s3_server"]  # the fixtures conftest.py takes
_buckets = itertools.count(1)


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def storage_options(self, bucket: str, prefix: str = "") -> dict:
        return {
            "bucket_name": bucket,
            "endpoint_url": self.endpoint_url,
            "region_name": REGION,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "location": prefix,
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{server.endpoint_url}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_archive(s3_server, settings, tmp_path):
    """Archive storage switched to a fresh bucket (under a prefix) on the loopback server."""
    bucket = f"archive-{next(_buckets)}"
    s3_server.client().create_bucket(Bucket=bucket)
    settings.ARCHIVE_ROOT = tmp_path / "staging"
    settings.STORAGES = {
        **settings.STORAGES,
        "archive": {
            "BACKEND": "artifacts_app.archive.s3.ArchiveS3Storage",
            "OPTIONS": s3_server.storage_options(bucket, prefix="xcode/artifacts"),
        },
    }
    return bucket

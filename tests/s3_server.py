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
from contextlib import contextmanager
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


def wait_until_answering(url: str, process: subprocess.Popen, what: str) -> None:
    """Return once `url` answers HTTP; fail if `process` exits or 60 seconds pass first."""
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=10)  # a first request may load the whole app
            return
        except (requests.ConnectionError, requests.Timeout):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


@contextmanager
def running_s3_server():
    """moto's S3 server on a free loopback port, stopped on the way out."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(f"http://127.0.0.1:{port}")
    try:
        wait_until_answering(f"{server.endpoint_url}/moto-api/", process, "moto's S3 server")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server():
    with running_s3_server() as server:
        yield server


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

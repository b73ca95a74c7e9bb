"""Archiving into an S3-compatible bucket, against a real S3 API server on loopback."""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from artifacts_app.archive import (
    RetentionPolicy,
    Selection,
    apply_retention,
    archive_artifacts,
    archive_storage,
    verify_archive,
)
from artifacts_app.archive.storage import sweep_incoming
from artifacts_app.asc.simulator import served_sha256
from artifacts_app.models import ArchivedArtifact

from .archive_helpers import finished_artifacts, mirror
from .factories import grant

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "xcode/artifacts/"
Status = ArchivedArtifact.Status
pytestmark = pytest.mark.django_db


def archive(client):
    return archive_artifacts(Selection(), client=client, concurrency=2)


def objects(s3_server, bucket):
    listed = s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: item["Size"] for item in listed}


def object_sha256(s3_server, bucket, key):
    body = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return hashlib.sha256(body).hexdigest()


class S3ArchiveTests:
    def test_archived_objects_are_byte_identical_under_the_prefix(
        self, simulator, asc_client, s3_server, s3_archive
    ):
        sims = finished_artifacts(simulator, 6)
        mirror(sims)

        report = archive(asc_client)

        assert report.ok and report.archived == len(sims)
        stored = objects(s3_server, s3_archive)
        assert len(stored) == len(sims)
        for sim in sims:
            record = ArchivedArtifact.objects.get(artifact__asc_id=sim.id)
            expected = served_sha256(simulator.dataset, sim)
            assert record.sha256 == expected
            assert stored[PREFIX + record.path] == sim.file_size
            assert object_sha256(s3_server, s3_archive, PREFIX + record.path) == expected

    def test_verify_reads_objects_back_and_catches_a_changed_and_a_missing_one(
        self, simulator, asc_client, s3_server, s3_archive
    ):
        mirror(finished_artifacts(simulator, 3))
        archive(asc_client)
        changed, missing, intact = ArchivedArtifact.objects.order_by("pk")
        s3 = s3_server.client()
        s3.put_object(Bucket=s3_archive, Key=PREFIX + changed.path, Body=b"tampered")
        s3.delete_object(Bucket=s3_archive, Key=PREFIX + missing.path)

        report = verify_archive()

        assert (report.ok, report.changed, report.missing) == (1, [changed.path], [missing.path])
        assert archive(asc_client).archived == 2  # the next run puts them back
        assert verify_archive().ok == 3

    def test_retention_deletes_the_objects_it_lets_go(
        self, simulator, asc_client, s3_server, s3_archive
    ):
        mirror(finished_artifacts(simulator, 12, file_type="ARCHIVE"))
        archive(asc_client)
        before = objects(s3_server, s3_archive)

        report = apply_retention(
            RetentionPolicy(keep_last=1, keep_tags=False, keep_refs=(), log_days=None),
            dry_run=False,
        )

        after = objects(s3_server, s3_archive)
        pruned = ArchivedArtifact.objects.filter(status=Status.PRUNED)
        assert report.count == pruned.count() > 0
        assert len(after) == len(before) - report.count
        assert not {PREFIX + record.path for record in pruned} & set(after)

    def test_a_kept_artifact_streams_from_the_bucket_to_the_browser(
        self, simulator, asc_client, s3_archive, client, django_user_model
    ):
        (sim,) = finished_artifacts(simulator, 1)
        mirror([sim])
        archive(asc_client)
        client.force_login(grant(django_user_model.objects.create_user("dev")))

        response = client.get(f"/artifacts/{sim.id}/download")

        body = b"".join(response.streaming_content)
        assert response.status_code == 200
        assert hashlib.sha256(body).hexdigest() == served_sha256(simulator.dataset, sim)

    def test_a_missing_bucket_stops_the_run_with_one_line(
        self, simulator, asc_client, s3_server, s3_archive, settings
    ):
        mirror(finished_artifacts(simulator, 1))
        options = {**settings.STORAGES["archive"]["OPTIONS"], "bucket_name": "no-such-bucket"}
        settings.STORAGES = {
            **settings.STORAGES,
            "archive": {**settings.STORAGES["archive"], "OPTIONS": options},
        }

        report = archive(asc_client)

        assert report.archived == 0
        assert "\n" not in report.fatal
        assert "bucket no-such-bucket" in report.fatal and "NoSuchBucket" in report.fatal
        assert not ArchivedArtifact.objects.filter(status=Status.ARCHIVED).exists()


class S3KilledUploadTests:
    def test_a_killed_upload_leaves_no_object_and_the_sweep_aborts_its_parts(
        self, s3_server, s3_archive, tmp_path
    ):
        """The upload reads from a pipe that stalls after 20 MiB: the first part is in the
        bucket, the object is not, when the process is killed."""
        storage = archive_storage()
        pipe = tmp_path / "download.part"
        os.mkfifo(pipe)
        uploader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                UPLOAD_ONE_FILE,
                json.dumps(storage_options(s3_archive, s3_server)),
                str(pipe),
            ],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        )
        feeder = threading.Thread(target=_feed, args=(pipe, 20 * 1024 * 1024), daemon=True)
        feeder.start()
        s3 = s3_server.client()
        try:
            deadline = time.monotonic() + 60
            while not _parts_uploaded(s3, s3_archive):
                assert uploader.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            uploader.kill()
            uploader.wait(timeout=10)

        assert objects(s3_server, s3_archive) == {}
        assert s3.list_multipart_uploads(Bucket=s3_archive).get("Uploads")

        assert sweep_incoming(storage) == 1  # as the next run does, holding the lease
        assert not s3.list_multipart_uploads(Bucket=s3_archive).get("Uploads")


def storage_options(bucket, s3_server):
    return s3_server.storage_options(bucket, prefix=PREFIX.rstrip("/"))


def _feed(pipe, size):
    """Write `size` bytes into the pipe, then hold it open without writing more."""
    try:
        with open(pipe, "wb") as feed:
            feed.write(os.urandom(size))
            feed.flush()
            time.sleep(120)
    except BrokenPipeError:
        pass  # the reader was killed


def _parts_uploaded(s3, bucket) -> bool:
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        parts = s3.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        if parts.get("Parts"):
            return True
    return False


UPLOAD_ONE_FILE = """
import json, sys
import django
django.setup()
from artifacts_app.archive.s3 import ArchiveS3Storage
from artifacts_app.archive.storage import move_into_place
from tests.factories import grant
storage = ArchiveS3Storage(**json.loads(sys.argv[1]))
move_into_place(storage, sys.argv[2], "product/workflow/run/action/ARCHIVE/artifact.zip")
"""


class S3SettingsTests:
    def test_settings_select_the_bucket_endpoint_and_prefix(self):
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup();"
                "from artifacts_app.archive import archive_storage as a; s = a();"
                "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.location)",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "dashboard.settings",
                "SECRET_KEY": "settings-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
                "ARCHIVE_S3_BUCKET": "team-artifacts",
                "ARCHIVE_S3_ENDPOINT_URL": "https://minio.example.com:9000",
                "ARCHIVE_S3_PREFIX": "/xcode/",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [
            "ArchiveS3Storage",
            "team-artifacts",
            "https://minio.example.com:9000",
            "xcode",
        ]

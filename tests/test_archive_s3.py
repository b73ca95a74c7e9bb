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
from artifacts_app.asc.simulator.downloads import PatternBody, expected_sha256
from artifacts_app.models import ArchivedArtifact

from .archive_helpers import finished_artifacts, mirror
from .factories import grant
from .simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID

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


MiB = 1024 * 1024


def big_artifact(simulator, size):
    """The simulator's first artifact, served as `size` bytes of its download pattern,
    mirrored; returns it and the SHA-256 of what a full download serves."""
    (sim,) = finished_artifacts(simulator, 1)
    sim.file_size = size
    simulator.app.downloads.body_for = lambda artifact: PatternBody(artifact.id, size)
    mirror([sim])
    return sim, expected_sha256(sim.id, size)


def unfinished_uploads(s3_server, bucket):
    return s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


class S3StreamedUploadTests:
    def test_a_download_of_several_parts_streams_into_the_bucket_with_nothing_staged(
        self, simulator, asc_client, s3_server, s3_archive, settings
    ):
        sim, expected = big_artifact(simulator, 40 * MiB)  # three parts of at most 16 MiB

        report = archive(asc_client)

        assert report.ok and report.archived == 1
        record = ArchivedArtifact.objects.get()
        assert record.sha256 == expected and record.size == 40 * MiB
        assert objects(s3_server, s3_archive) == {PREFIX + record.path: 40 * MiB}
        assert object_sha256(s3_server, s3_archive, PREFIX + record.path) == expected
        assert not unfinished_uploads(s3_server, s3_archive)
        assert not (Path(settings.ARCHIVE_ROOT) / ".incoming").exists()  # no staging on disk
        assert verify_archive().ok == 1  # --verify reads the object back

    def test_a_cut_off_download_aborts_its_upload_and_the_next_run_archives_it(
        self, simulator, asc_client, s3_server, s3_archive
    ):
        big_artifact(simulator, 40 * MiB)
        simulator.faults.inject("cut")  # half the bytes, then the connection closes

        report = archive(asc_client)

        assert report.failed == 1 and "cut off" in report.problems[0]
        assert objects(s3_server, s3_archive) == {}
        assert not unfinished_uploads(s3_server, s3_archive)  # its parts are not left billed
        assert archive(asc_client).archived == 1
        assert len(objects(s3_server, s3_archive)) == 1


class S3KilledUploadTests:
    def test_a_killed_upload_leaves_no_object_and_the_next_run_aborts_its_parts(
        self, simulator, asc_key, s3_server, s3_archive
    ):
        """An archiver process streams a download that stalls after 20 MiB into the bucket:
        its first part is there, the object is not, when the process is killed."""
        size, stall_after = 64 * MiB, 20 * MiB
        go_on = threading.Event()
        (sim,) = finished_artifacts(simulator, 1)
        sim.file_size = size
        simulator.app.downloads.body_for = lambda artifact: StallingBody(
            artifact.id, size, stall_after, go_on
        )
        storage = archive_storage()
        arguments = {
            "base_url": simulator.base_url,
            "key": [SIM_KEY_ID, asc_key.private_pem, SIM_ISSUER_ID],
            "artifact": sim.id,
            "size": size,
            "storage": s3_server.storage_options(s3_archive, prefix=PREFIX.rstrip("/")),
        }
        archiver = subprocess.Popen(
            [sys.executable, "-c", ARCHIVE_ONE_ARTIFACT, json.dumps(arguments)],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        )
        s3 = s3_server.client()
        try:
            deadline = time.monotonic() + 60
            while not _parts_uploaded(s3, s3_archive):
                assert archiver.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            archiver.kill()
            archiver.wait(timeout=10)
            go_on.set()

        assert objects(s3_server, s3_archive) == {}
        (upload,) = unfinished_uploads(s3_server, s3_archive)
        assert upload["Key"] == PREFIX + KILLED_NAME  # the final key: it never held an object

        assert sweep_incoming(storage) == 1  # as the next run does, holding the lease
        assert not unfinished_uploads(s3_server, s3_archive)


class StallingBody(PatternBody):
    """The download pattern, whose bytes past `stall_after` wait until `go_on` is set."""

    def __init__(self, artifact_id, size, stall_after, go_on):
        super().__init__(artifact_id, size)
        self.stall_after, self.go_on = stall_after, go_on

    def read(self, offset, length):
        if offset >= self.stall_after:
            self.go_on.wait(60)
        return super().read(offset, length)


def _parts_uploaded(s3, bucket) -> bool:
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        parts = s3.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        if parts.get("Parts"):
            return True
    return False


KILLED_NAME = "product/workflow/run/action/ARCHIVE/artifact"
ARCHIVE_ONE_ARTIFACT = f"""
import json, sys
import django
django.setup()
from artifacts_app.archive.download import Job, fetch
from artifacts_app.archive.s3 import ArchiveS3Storage
from artifacts_app.asc import AscClient, TokenProvider
args = json.loads(sys.argv[1])
client = AscClient(args["base_url"], TokenProvider(*args["key"]))
job = Job(1, args["artifact"], "big.zip", args["size"], "{KILLED_NAME}")
fetch(client, job, ArchiveS3Storage(**args["storage"]))
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

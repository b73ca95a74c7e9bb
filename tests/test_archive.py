"""Archiving against the simulator: exact bytes, resumable runs, safe paths, failures."""

import errno
import hashlib
import os
from pathlib import Path
from urllib.parse import unquote

import pytest

from artifacts_app.archive import Selection, archive_artifacts, storage_name, verify_archive
from artifacts_app.archive import download as download_module
from artifacts_app.asc.simulator import served_sha256
from artifacts_app.models import ArchivedArtifact
from tests.factories import grant
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID, start_simulator

from .archive_helpers import files_under, finished_artifacts, mirror

Status = ArchivedArtifact.Status


@pytest.fixture
def archive_root(tmp_path, settings):
    root = tmp_path / "archive"
    settings.ARCHIVE_ROOT = root
    return root


def archive(client, **selection):
    return archive_artifacts(Selection(**selection), client=client, concurrency=2)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.django_db
class ArchiveTests:
    def test_archived_files_are_byte_identical_to_what_was_served(
        self, simulator, asc_client, archive_root
    ):
        sims = finished_artifacts(simulator, 8)
        mirror(sims)

        report = archive(asc_client)

        assert report.ok and report.archived == len(sims)
        for sim in sims:
            record = ArchivedArtifact.objects.get(artifact__asc_id=sim.id)
            expected = served_sha256(simulator.dataset, sim)
            assert record.status == Status.ARCHIVED
            assert (record.size, record.sha256) == (sim.file_size, expected)
            assert sha256_of(archive_root / record.path) == expected
        assert len(files_under(archive_root)) == len(sims)

    def test_a_second_run_downloads_nothing(self, simulator, asc_client, archive_root):
        mirror(finished_artifacts(simulator, 5))
        archive(asc_client)
        requests_before = simulator.stats.requests

        report = archive(asc_client)

        assert (report.archived, report.failed) == (0, 0)
        assert simulator.stats.requests == requests_before

    def test_no_authorization_header_reaches_a_download_url(
        self, simulator, asc_client, archive_root
    ):
        mirror(finished_artifacts(simulator, 3))

        archive(asc_client)

        assert simulator.stats.downloads == 3
        assert simulator.stats.download_authorization_seen is False

    def test_the_stored_path_is_built_from_ids_and_apples_name_kept_as_metadata(
        self, simulator, asc_client, archive_root
    ):
        (sim,) = finished_artifacts(simulator, 1, file_type="LOG_BUNDLE")
        (row,) = mirror([sim])

        archive(asc_client)

        record = row.archive
        run = sim.action.run
        assert record.path == (
            f"{run.product.id}/{run.workflow.id}/{run.id}/{sim.action.id}/LOG_BUNDLE/{sim.id}.zip"
        )
        assert record.file_name == sim.file_name

    def test_only_the_selected_types_and_dates_are_archived(
        self, simulator, asc_client, archive_root
    ):
        rows = mirror(finished_artifacts(simulator, 12))
        wanted = {row.asc_id for row in rows if row.file_type == "LOG_BUNDLE"}

        archive(asc_client, file_types=("LOG_BUNDLE",))

        archived = set(
            ArchivedArtifact.objects.filter(status=Status.ARCHIVED).values_list(
                "artifact__asc_id", flat=True
            )
        )
        assert archived == wanted

    def test_since_leaves_older_runs_alone(self, simulator, asc_client, archive_root):
        rows = mirror(finished_artifacts(simulator, 30))
        days = sorted({row.run_created_date.date() for row in rows})
        assert len(days) > 1
        since = days[-1]

        archive(asc_client, since=since)

        archived = set(ArchivedArtifact.objects.values_list("artifact__asc_id", flat=True))
        assert archived == {row.asc_id for row in rows if row.run_created_date.date() >= since}

    def test_a_download_cut_off_mid_stream_leaves_no_record_and_succeeds_next_run(
        self, simulator, asc_client, archive_root
    ):
        (sim,) = finished_artifacts(simulator, 1, file_type="ARCHIVE")
        mirror([sim])
        simulator.faults.inject("cut")

        first = archive(asc_client)

        assert first.failed == 1 and "cut off" in first.problems[0]
        assert not ArchivedArtifact.objects.filter(status=Status.ARCHIVED).exists()
        assert files_under(archive_root) == []
        assert list((archive_root / ".incoming").iterdir()) == []

        second = archive(asc_client)

        assert second.archived == 1
        record = ArchivedArtifact.objects.get()
        assert record.sha256 == served_sha256(simulator.dataset, sim)

    def test_an_expired_download_url_is_refreshed(self, simulator, asc_client, archive_root):
        (sim,) = finished_artifacts(simulator, 1)
        mirror([sim])
        simulator.faults.inject("download-expired")

        report = archive(asc_client)

        assert report.archived == 1 and report.url_refreshes == 1
        assert simulator.stats.downloads == 2

    def test_a_url_that_keeps_expiring_fails_with_one_line_and_is_retried_next_run(
        self, simulator, asc_client, archive_root
    ):
        mirror(finished_artifacts(simulator, 1))
        simulator.faults.inject("download-expired", 3)

        first = archive(asc_client)

        assert first.failed == 1
        assert "refused as expired 3 times in a row" in first.problems[0]
        assert files_under(archive_root) == []
        assert archive(asc_client).archived == 1

    def test_a_download_refused_for_one_file_does_not_stop_the_others(
        self, simulator, asc_client, archive_root
    ):
        mirror(finished_artifacts(simulator, 3))
        simulator.faults.inject("download-410")

        first = archive(asc_client)

        assert not first.fatal
        assert (first.archived, first.failed) == (2, 1)
        assert "download refused with HTTP 410" in first.problems[0]
        assert archive(asc_client).archived == 1

    def test_an_artifact_gone_upstream_is_recorded_lost_and_not_retried(
        self, simulator, asc_client, archive_root
    ):
        (sim,) = finished_artifacts(simulator, 1)
        (row,) = mirror([sim])
        row.asc_id = "expired-upstream-artifact"
        row.save()

        first = archive(asc_client)
        requests_after_first = simulator.stats.requests
        second = archive(asc_client)

        assert first.lost == 1 and "lost upstream" in first.problems[0]
        assert ArchivedArtifact.objects.get().status == Status.LOST
        assert second.lost == 0
        assert simulator.stats.requests == requests_after_first

    def test_verify_catches_a_corrupted_and_a_missing_file(
        self, simulator, asc_client, archive_root
    ):
        mirror(finished_artifacts(simulator, 3))
        archive(asc_client)
        corrupted, missing, intact = ArchivedArtifact.objects.order_by("pk")
        with open(archive_root / corrupted.path, "r+b") as handle:
            handle.seek(10)
            handle.write(b"\x00garbage")
        (archive_root / missing.path).unlink()

        report = verify_archive()

        assert report.changed == [corrupted.path]
        assert report.missing == [missing.path]
        assert report.ok == 1
        intact.refresh_from_db()
        assert intact.status == Status.ARCHIVED
        # The damaged copies are no longer counted as archived, and the next run repairs them.
        assert archive(asc_client).archived == 2
        assert verify_archive().ok == 3

    def test_downloads_left_by_killed_runs_are_swept_away_at_the_next_start(
        self, simulator, asc_client, archive_root
    ):
        incoming = archive_root / ".incoming"
        incoming.mkdir(parents=True)
        old, recent = incoming / "killed-long-ago.part", incoming / "killed-just-now.part"
        old.write_bytes(b"half")
        recent.write_bytes(b"half")
        os.utime(old, (0, 0))

        archive(asc_client)

        assert not old.exists() and not recent.exists()

    @pytest.mark.parametrize(
        ("error", "message"),
        [(errno.ENOSPC, "disk full"), (errno.EACCES, "permission denied")],
    )
    def test_a_storage_failure_stops_with_one_line_and_leaves_nothing_partial(
        self, simulator, asc_client, archive_root, monkeypatch, error, message
    ):
        mirror(finished_artifacts(simulator, 1, file_type="ARCHIVE"))
        real_fdopen = os.fdopen

        class FailingFile:
            """The temporary file on a disk that fills (or refuses) after the first chunk."""

            def __init__(self, *args, **kwargs):
                self.file = real_fdopen(*args, **kwargs)
                self.writes = 0

            def write(self, data):
                self.writes += 1
                if self.writes > 1:
                    raise OSError(error, os.strerror(error))
                return self.file.write(data)

            def __getattr__(self, name):
                return getattr(self.file, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.file.close()

        monkeypatch.setattr(download_module.os, "fdopen", FailingFile)
        monkeypatch.setattr(download_module, "CHUNK_SIZE", 1024)

        report = archive(asc_client)

        assert report.fatal.startswith(message) and "\n" not in report.fatal
        assert str(archive_root) in report.fatal
        assert not ArchivedArtifact.objects.filter(status=Status.ARCHIVED).exists()
        assert files_under(archive_root) == []
        assert list((archive_root / ".incoming").iterdir()) == []


@pytest.fixture
def hostile_simulator(asc_key):
    server = start_simulator(asc_key, seed=11, runs=30, hostile_names=True)
    yield server
    server.stop()


HOSTILE = [
    "../../x",
    "/etc/passwd",
    "a\x00b",
    "..",
    ".",
    "",
    "ü" * 300,
    "\\..\\..\\windows",
    "~/.ssh/authorized_keys",
    "%2e%2e%2f",
]


IDS = {
    "product_id": "p",
    "workflow_id": "w",
    "run_id": "r",
    "action_id": "a",
    "file_type": "ARCHIVE",
    "artifact_id": "a",
    "file_name": "",
}


@pytest.mark.django_db
class SafePathTests:
    @pytest.mark.parametrize("value", HOSTILE)
    def test_no_id_or_name_can_leave_the_archive_root(self, tmp_path, value):
        root = tmp_path / "root"
        name = storage_name(
            product_id=value,
            workflow_id=value,
            run_id=value,
            action_id=value,
            file_type=value,
            artifact_id=value,
            file_name=value + ".zip",
        )
        resolved = (root / name).resolve()
        assert resolved.is_relative_to(root.resolve())
        assert "\x00" not in name and ".." not in name.split("/")
        assert all(0 < len(part) <= 104 for part in name.split("/"))

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            # An id with ".zip" in it, and the same id with a zip file name.
            ({"artifact_id": "a.zip", "file_name": "log"}, {"file_name": "x.zip"}),
            # No workflow, and a workflow whose id is the word that stands for none.
            ({"workflow_id": None}, {"workflow_id": "no-workflow"}),
            ({"file_type": ""}, {"file_type": "UNKNOWN"}),
        ],
    )
    def test_two_different_ids_never_share_a_storage_path(self, first, second):
        assert storage_name(**{**IDS, **first}) != storage_name(**{**IDS, **second})

    def test_an_id_spelling_out_the_hashed_form_of_another_gets_its_own_path(self):
        hashed = storage_name(**{**IDS, "artifact_id": "../x"})
        crafted = storage_name(**{**IDS, "artifact_id": hashed.rsplit("/", 1)[1]})

        assert crafted != hashed

    def test_hostile_names_from_apple_cannot_write_outside_the_archive_root(
        self, hostile_simulator, asc_key, tmp_path, settings
    ):
        from artifacts_app.asc import AscClient, TokenProvider

        root = tmp_path / "inside" / "archive"
        settings.ARCHIVE_ROOT = root
        sims = [
            sim
            for sim in hostile_simulator.dataset.all_visible_artifacts()
            if not sim.file_name.isascii() or "/" in sim.file_name or "\\" in sim.file_name
        ][:4]
        assert sims, "the hostile dataset should carry hostile file names"
        rows = mirror(
            sims[:1],
            product_id="../../x",
            workflow_id="/abs",
            run_id="..\\..\\run",
            action_id="ü" * 60,
            file_name="../../" + "ü" * 300 + ".zip",
        )
        rows += mirror(sims[1:])
        client = AscClient(
            hostile_simulator.base_url,
            TokenProvider(SIM_KEY_ID, asc_key.private_pem, SIM_ISSUER_ID),
            sleep=lambda _s: None,
        )

        report = archive(client)

        assert report.archived == len(rows)
        written = [path for path in tmp_path.rglob("*") if path.is_file()]
        assert written and all(path.is_relative_to(root) for path in written)
        for row in rows:
            record = ArchivedArtifact.objects.get(artifact=row)
            assert record.file_name == row.file_name  # Apple's name kept, as metadata only
            assert (root / record.path).resolve().is_relative_to(root.resolve())


@pytest.mark.django_db
class SyncThenArchiveTests:
    def test_everything_a_sync_mirrors_can_be_archived_byte_for_byte(
        self, simulator, asc_client, archive_root
    ):
        from artifacts_app.archive import archive_summary
        from artifacts_app.models import CiArtifact
        from artifacts_app.sync import sync

        sync(client=asc_client, reserve=0)
        logs = CiArtifact.objects.filter(file_type="LOG_BUNDLE")
        assert logs.count() > 5

        report = archive(asc_client, file_types=("LOG_BUNDLE",))

        assert report.ok and report.archived == logs.count()
        for record in ArchivedArtifact.objects.select_related("artifact"):
            asc_id = record.artifact.asc_id
            assert sha256_of(archive_root / record.path) == served_sha256(
                simulator.dataset, simulator.dataset.artifacts[asc_id]
            )
        summary = archive_summary()
        assert summary["archived_count"] == logs.count()
        assert summary["not_archived_count"] == CiArtifact.objects.count() - logs.count()
        on_disk = sum(path.stat().st_size for path in files_under(archive_root))
        assert summary["storage_bytes"] == on_disk


class RenamingClient:
    """The simulator's client, but App Store Connect answers for ``hostile_id`` with ``real_id``."""

    def __init__(self, client, hostile_id, real_id):
        self.client, self.hostile_id, self.real_id = client, hostile_id, real_id

    def artifact(self, artifact_id, build_action_id=None):
        assert artifact_id == self.hostile_id
        return self.client.artifact(self.real_id, build_action_id)

    def open_download(self, url):
        return self.client.open_download(url)


@pytest.mark.django_db
class HostileIdTests:
    @pytest.mark.parametrize("hostile_id", ["../../escaped", "sub/dir"])
    def test_a_download_in_progress_stays_inside_the_archive_root(
        self, simulator, asc_client, archive_root, tmp_path, hostile_id
    ):
        from artifacts_app.archive import Progress

        (sim,) = finished_artifacts(simulator, 1, file_type="ARCHIVE")
        (row,) = mirror([sim])
        row.asc_id = hostile_id
        row.save()
        seen: set[Path] = set()

        class Watch(Progress):
            def add(self, count):
                seen.update(path for path in tmp_path.rglob("*") if path.is_file())
                super().add(count)

        report = archive_artifacts(
            Selection(),
            client=RenamingClient(asc_client, hostile_id, sim.id),
            progress=Watch(),
        )

        assert report.archived == 1
        assert seen and all(path.is_relative_to(archive_root / ".incoming") for path in seen)
        (stored,) = files_under(archive_root)
        assert sha256_of(stored) == served_sha256(simulator.dataset, sim)


class ArchivedDownloadTests:
    """Getting a kept artifact back from the dashboard, after Apple may have dropped it."""

    def test_a_kept_artifact_downloads_byte_for_byte_under_apples_name(
        self, simulator, asc_client, archive_root, client, django_user_model
    ):
        (sim,) = finished_artifacts(simulator, 1)
        (row,) = mirror([sim])
        archive(asc_client)
        client.force_login(grant(django_user_model.objects.create_user("dana")))

        response = client.get(f"/artifacts/{row.asc_id}/download")

        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == served_sha256(simulator.dataset, sim)
        assert "attachment" in response["Content-Disposition"]
        assert sim.file_name.rsplit("/", 1)[-1] in unquote(response["Content-Disposition"])
        run_page = client.get(f"/runs/{row.build_run.asc_id}/").content.decode()
        assert f'href="/artifacts/{row.asc_id}/download"' in run_page

    def test_a_hostile_name_is_reduced_to_a_plain_file_name(
        self, simulator, asc_client, archive_root, client, django_user_model
    ):
        (sim,) = finished_artifacts(simulator, 1)
        (row,) = mirror([sim])
        archive(asc_client)
        row.file_name = "../../etc/pass\ufffdwd\r\nSet-Cookie: x=1\x7f"
        row.save()
        client.force_login(grant(django_user_model.objects.create_user("dana")))

        disposition = client.get(f"/artifacts/{row.asc_id}/download")["Content-Disposition"]

        assert "/" not in unquote(disposition) and "\n" not in disposition
        assert "pass\ufffdwdSet-Cookie: x=1" in unquote(disposition)  # no CR, LF or DEL left

    def test_an_artifact_not_kept_here_is_not_found(self, simulator, client, django_user_model):
        (row,) = mirror(finished_artifacts(simulator, 1))
        client.force_login(grant(django_user_model.objects.create_user("dana")))

        assert client.get(f"/artifacts/{row.asc_id}/download").status_code == 404
        run_page = client.get(f"/runs/{row.build_run.asc_id}/").content.decode()
        assert "not archived" in run_page

"""Inspecting artifacts against the simulator: range requests, fallbacks, failures, records."""

import io
import zipfile

import pytest
from django.core.management import call_command

from artifacts_app.archive import Selection, archive_artifacts
from artifacts_app.asc import AscClient
from artifacts_app.asc.simulator import download_body
from artifacts_app.contents.components import Entry, summarise
from artifacts_app.contents.inspect import ZIP_TYPES, inspect_artifacts
from artifacts_app.contents.models import ArtifactContents
from artifacts_app.models import CiArtifact
from tests.simulator_fixtures import start_simulator

from .archive_helpers import finished_artifacts, mirror

Status = ArtifactContents.Status


@pytest.fixture
def big_simulator(asc_key):
    """Archives of tens of MB (generated lazily: nothing that size is ever held)."""
    server = start_simulator(asc_key, seed=7, runs=30, size_scale=0.1)
    yield server
    server.stop()


def client_for(server, asc_tokens):
    return AscClient(
        server.base_url, asc_tokens, timeout=(2, 10), backoff=0.001, sleep=lambda _s: None
    )


def inspect(client, **selection):
    return inspect_artifacts(Selection(**selection), client=client, reserve=0)


def served_components(server, sim):
    body = download_body(server.dataset, sim)
    archive = zipfile.ZipFile(io.BytesIO(body.read(0, body.size)))
    entries = []
    for info in archive.infolist():
        if info.filename.endswith(".ipa"):
            inner = zipfile.ZipFile(io.BytesIO(archive.read(info)))
            entries += [Entry(i.filename, i.compress_size, i.file_size) for i in inner.infolist()]
        else:
            entries.append(Entry(info.filename, info.compress_size, info.file_size))
    return {
        (c.name, c.kind, c.entries, c.uncompressed_bytes, c.compressed_bytes)
        for c in summarise(entries)
    }


def stored_components(sim):
    contents = ArtifactContents.objects.get(artifact__asc_id=sim.id)
    return {
        (c.name, c.kind, c.entries, c.uncompressed_bytes, c.compressed_bytes)
        for c in contents.components.all()
    }


@pytest.mark.django_db
class InspectTests:
    def test_range_requests_read_only_the_tail_and_components_match_the_whole_file(
        self, big_simulator, asc_tokens
    ):
        sims = finished_artifacts(big_simulator, 3, "ARCHIVE") + finished_artifacts(
            big_simulator, 2, "ARCHIVE_EXPORT"
        )
        mirror(sims)
        client = client_for(big_simulator, asc_tokens)

        report = inspect(client)

        assert (report.inspected, report.failed) == (5, 0)
        assert client.calls == 5  # one fresh download URL per artifact
        for sim in sims:
            contents = ArtifactContents.objects.get(artifact__asc_id=sim.id)
            assert contents.source == "ranges"
            assert contents.bytes_fetched < sim.file_size / 100
            assert contents.bytes_fetched < 1024 * 1024
            assert stored_components(sim) == served_components(big_simulator, sim)
        assert big_simulator.stats.download_bytes == report.bytes_fetched

    def test_an_export_lists_its_ipa_inside_and_the_thinning_report(
        self, big_simulator, asc_tokens
    ):
        (sim,) = [
            a
            for a in finished_artifacts(big_simulator, 50, "ARCHIVE_EXPORT")
            if a.file_name == "development.zip"
        ][:1]
        mirror([sim])

        inspect(client_for(big_simulator, asc_tokens))

        contents = ArtifactContents.objects.get(artifact__asc_id=sim.id)
        names = {c.name: c.kind for c in contents.components.all()}
        assert names["Frameworks/Alamofire.framework"] == "framework"
        assert not any(name.endswith(".ipa") for name in names)
        assert [v["variant"].rsplit("-", 1)[-1] for v in contents.thinning] == [
            "Universal.ipa",
            "iPhone14,2.ipa",
            "iPhone10,3.ipa",
        ]
        assert contents.thinning[0]["app_compressed"] > 0

    def test_a_host_refusing_ranges_is_read_once_streamed(self, simulator, asc_client):
        sims = finished_artifacts(simulator, 2, "ARCHIVE")
        mirror(sims)
        simulator.config.honour_ranges = False

        report = inspect(asc_client)

        assert report.inspected == 2
        for sim in sims:
            contents = ArtifactContents.objects.get(artifact__asc_id=sim.id)
            assert (contents.source, contents.bytes_fetched) == ("stream", sim.file_size)
            assert stored_components(sim) == served_components(simulator, sim)

    def test_an_expired_url_is_refreshed_once(self, simulator, asc_client):
        sims = finished_artifacts(simulator, 2, "ARCHIVE")
        mirror(sims)
        simulator.faults.inject("download-expired")

        report = inspect(asc_client)

        assert (report.inspected, report.url_refreshes) == (2, 1)
        assert asc_client.calls == 3

    def test_a_url_expired_twice_fails_that_artifact_only(self, simulator, asc_client):
        sims = finished_artifacts(simulator, 2, "ARCHIVE")
        mirror(sims)
        simulator.faults.inject("download-expired", 2)

        report = inspect(asc_client)

        assert (report.inspected, report.failed) == (1, 1)
        failed = ArtifactContents.objects.get(status=Status.FAILED)
        assert "expired" in failed.error and failed.attempts == 1
        assert "expired" in report.problems[0]

    def test_an_artifact_gone_upstream_is_recorded_and_the_others_go_on(
        self, simulator, asc_client
    ):
        sims = finished_artifacts(simulator, 2, "ARCHIVE")
        rows = mirror(sims)
        rows[0].asc_id = "no-longer-at-apple"
        rows[0].save()

        report = inspect(asc_client)

        assert (report.inspected, report.gone) == (1, 1)
        assert ArtifactContents.objects.get(artifact=rows[0]).status == Status.GONE

    def test_a_cut_off_download_fails_and_is_tried_again_next_time(self, simulator, asc_client):
        (sim,) = finished_artifacts(simulator, 1, "ARCHIVE")
        mirror([sim])
        simulator.faults.inject("cut")

        first = inspect(asc_client)
        second = inspect(asc_client)

        assert (first.failed, second.inspected) == (1, 1)
        assert ArtifactContents.objects.get().attempts == 2

    def test_a_body_that_is_not_a_zip_is_recorded_once_and_never_retried(
        self, simulator, asc_client
    ):
        logs = finished_artifacts(simulator, 2, "LOG_BUNDLE")
        mirror(logs)

        report = inspect(asc_client, file_types=("LOG_BUNDLE",))
        calls = asc_client.calls
        again = inspect(asc_client, file_types=("LOG_BUNDLE",))

        assert report.not_zip == 2
        assert again.not_zip == 0 and asc_client.calls == calls
        assert set(ArtifactContents.objects.values_list("status", flat=True)) == {Status.NOT_ZIP}

    def test_an_archived_copy_is_read_locally(self, simulator, asc_client, tmp_path, settings):
        settings.ARCHIVE_ROOT = tmp_path / "archive"
        (sim,) = finished_artifacts(simulator, 1, "ARCHIVE")
        mirror([sim])
        archive_artifacts(Selection(), client=asc_client)
        downloads = simulator.stats.downloads

        report = inspect(asc_client)

        assert report.inspected == 1 and simulator.stats.downloads == downloads
        contents = ArtifactContents.objects.get()
        assert (contents.source, contents.bytes_fetched) == ("archive", 0)
        assert stored_components(sim) == served_components(simulator, sim)

    def test_the_budget_reserve_stops_the_pass_before_asking_for_urls(self, simulator, asc_client):
        mirror(finished_artifacts(simulator, 3, "ARCHIVE"))
        simulator.config.budget = 2

        report = inspect_artifacts(Selection(), client=asc_client, reserve=1)

        assert report.inspected == 1 and report.budget_reached
        assert "reserve of 1 calls" in report.stopped

    def test_workers_never_spend_the_reserve(self, simulator, asc_client):
        mirror(finished_artifacts(simulator, 12, "ARCHIVE"))
        simulator.config.budget = 10
        simulator.stats.reset()

        report = inspect_artifacts(Selection(), client=asc_client, reserve=4, concurrency=4)

        # 10 calls this hour, 4 left to the key's other tools: at most 6 for this pass.
        assert 1 <= simulator.stats.api_requests <= 6
        assert report.inspected == simulator.stats.api_requests and report.budget_reached
        assert "reserve of 4 calls" in report.stopped and asc_client.budget is None


@pytest.mark.django_db
class InspectCommandTests:
    def test_the_command_prints_a_summary_and_a_dry_run_changes_nothing(
        self, simulator, asc_key, settings, capsys
    ):
        from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID

        settings.ASC_API_BASE_URL = simulator.base_url
        settings.ASC_KEY_ID, settings.ASC_ISSUER_ID = SIM_KEY_ID, SIM_ISSUER_ID
        settings.ASC_PRIVATE_KEY = asc_key.private_pem
        mirror(finished_artifacts(simulator, 3, "ARCHIVE"))

        call_command("inspect_artifacts", "--dry-run")
        assert "3 artifacts would be inspected" in capsys.readouterr().out
        assert not ArtifactContents.objects.exists()

        call_command("inspect_artifacts", "--file-type", "ARCHIVE")
        out = capsys.readouterr().out
        assert out.startswith("inspected 3, not a zip 0, gone upstream 0, failed 0; fetched")

    def test_a_bad_since_date_is_a_one_line_error(self):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="--since: not a date"):
            call_command("inspect_artifacts", "--since", "yesterday")


@pytest.mark.django_db
class InspectAfterSyncTests:
    def configure(self, settings, simulator, asc_key):
        from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID

        settings.ASC_API_BASE_URL = simulator.base_url
        settings.ASC_KEY_ID, settings.ASC_ISSUER_ID = SIM_KEY_ID, SIM_ISSUER_ID
        settings.ASC_PRIVATE_KEY = asc_key.private_pem

    def test_a_sync_pass_inspects_the_zip_artifacts_it_found(
        self, simulator, asc_key, settings, capsys
    ):
        self.configure(settings, simulator, asc_key)

        call_command("sync_artifacts", "--reserve", "0")

        zips = CiArtifact.objects.filter(file_type__in=ZIP_TYPES)
        assert zips.count() > 5
        assert ArtifactContents.objects.filter(status=Status.INSPECTED).count() == zips.count()
        assert "; contents: inspected" in capsys.readouterr().out.splitlines()[-1]

    def test_inspect_after_sync_false_leaves_contents_alone(self, simulator, asc_key, settings):
        self.configure(settings, simulator, asc_key)
        settings.INSPECT_AFTER_SYNC = False

        call_command("sync_artifacts", "--reserve", "0")

        assert CiArtifact.objects.exists() and not ArtifactContents.objects.exists()


@pytest.mark.django_db
class InspectProgressTests:
    def test_a_terminal_gets_a_progress_bar_then_the_summary(self, simulator, asc_key, settings):
        from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID

        class Terminal(io.StringIO):
            def isatty(self):
                return True

        settings.ASC_API_BASE_URL = simulator.base_url
        settings.ASC_KEY_ID, settings.ASC_ISSUER_ID = SIM_KEY_ID, SIM_ISSUER_ID
        settings.ASC_PRIVATE_KEY = asc_key.private_pem
        mirror(finished_artifacts(simulator, 3, "ARCHIVE"))
        out = Terminal()

        call_command("inspect_artifacts", stdout=out)

        text = out.getvalue()
        assert "\r" in text and "inspecting" in text
        assert text.rstrip("\n").splitlines()[-1].rsplit("\r", 1)[-1].startswith("inspected 3")

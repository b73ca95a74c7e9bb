"""One archive run at a time, and losses recorded only when they are real."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from artifacts_app import locks
from artifacts_app.archive import Selection, archive_artifacts, service
from artifacts_app.asc.errors import NotFoundError
from artifacts_app.asc.simulator import served_sha256
from artifacts_app.models import ArchivedArtifact, SyncLock
from tests.simulator_fixtures import start_simulator

from .archive_helpers import finished_artifacts, mirror

Status = ArchivedArtifact.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def archive_root(tmp_path, settings):
    root = tmp_path / "archive"
    settings.ARCHIVE_ROOT = root
    return root


def archive(client):
    return archive_artifacts(Selection(), client=client, concurrency=2)


def age(record, days=2):
    """Make `record` look as if it was written `days` ago."""
    ArchivedArtifact.objects.filter(pk=record.pk).update(
        updated_at=record.updated_at - timedelta(days=days)
    )


class ArchiveLeaseTests:
    def test_a_run_while_another_holds_the_lease_downloads_nothing_and_says_why(
        self, simulator, asc_client, archive_root
    ):
        mirror(finished_artifacts(simulator, 3))

        with locks.lease(locks.ARCHIVER):
            report = archive(asc_client)

        assert report.fatal.startswith("another archive run is already working since ")
        assert not report.started
        assert simulator.stats.requests == 0
        assert not ArchivedArtifact.objects.exists()

    def test_the_admin_action_waits_for_the_running_archive_run(
        self, settings, simulator, asc_key, archive_root, client
    ):
        from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID

        settings.ASC_API_BASE_URL = simulator.base_url
        settings.ASC_KEY_ID, settings.ASC_ISSUER_ID = SIM_KEY_ID, SIM_ISSUER_ID
        settings.ASC_PRIVATE_KEY = asc_key.private_pem
        (row,) = mirror(finished_artifacts(simulator, 1))
        client.force_login(User.objects.create_superuser("admin", password="long-password-1"))

        with locks.lease(locks.ARCHIVER):
            response = client.post(
                "/admin/artifacts_app/ciartifact/",
                {"action": "archive_selected", "_selected_action": [row.pk]},
                follow=True,
            )

        page = response.content.decode()
        assert "nother archive run is already working" in page
        assert "Archived 0" not in page
        assert simulator.stats.requests == 0
        assert not ArchivedArtifact.objects.exists()

    def test_nothing_is_swept_while_another_run_holds_the_lease(
        self, simulator, asc_client, archive_root
    ):
        incoming = archive_root / ".incoming"
        incoming.mkdir(parents=True)
        in_progress = incoming / "downloading.part"
        in_progress.write_bytes(b"half")

        with locks.lease(locks.ARCHIVER):
            archive(asc_client)

        assert in_progress.exists()

    def test_a_late_failure_never_demotes_a_verified_archived_copy(
        self, simulator, asc_client, archive_root, monkeypatch
    ):
        (sim,) = finished_artifacts(simulator, 1)
        (row,) = mirror([sim])
        planned = service.plan

        def plan_then_stall(selection):
            """This run plans, stalls past its lease, and another run archives the artifact."""
            monkeypatch.setattr(service, "plan", planned)
            work = planned(selection)
            SyncLock.objects.filter(key=locks.ARCHIVER).update(expires_at=timezone.now())
            assert archive(asc_client).archived == 1
            return work

        class ExpiredSince:
            """By the time this run asks, Apple has dropped the artifact."""

            def artifact(self, artifact_id, build_action_id=None):
                raise NotFoundError("404 NOT_FOUND", status=404)

            def product(self, product_id):
                return asc_client.product(product_id)

        monkeypatch.setattr(service, "plan", plan_then_stall)
        report = archive(ExpiredSince())

        record = ArchivedArtifact.objects.get(artifact=row)
        assert record.status == Status.ARCHIVED
        assert record.sha256 == served_sha256(simulator.dataset, sim)
        assert report.lost == 0 and not report.problems
        assert "another archive run took over" in report.fatal


class LossTests:
    def test_a_key_of_another_account_stops_the_run_without_recording_losses(
        self, simulator, asc_key, asc_tokens, archive_root
    ):
        from artifacts_app.asc import AscClient

        mirror(finished_artifacts(simulator, 4))
        other_account = start_simulator(asc_key, seed=99, runs=10)
        try:
            client = AscClient(other_account.base_url, asc_tokens, backoff=0.001)
            report = archive(client)
        finally:
            other_account.stop()

        assert "with the key of account default: is it another team's key?" in report.fatal
        assert "\n" not in report.fatal
        assert report.lost == 0
        assert not ArchivedArtifact.objects.exists()

    def test_a_loss_is_looked_at_again_a_day_later_then_final(
        self, simulator, asc_client, archive_root
    ):
        (row,) = mirror(finished_artifacts(simulator, 1))
        row.asc_id = "expired-upstream-artifact"
        row.save()

        assert archive(asc_client).lost == 1
        record = ArchivedArtifact.objects.get()
        assert archive(asc_client).lost == 0  # not again the same day
        age(record)
        second_look = archive(asc_client)
        record.refresh_from_db()
        age(record, days=30)
        requests = simulator.stats.requests
        archive(asc_client)

        assert second_look.lost == 1
        assert (record.status, record.lost_checks) == (Status.LOST, 2)
        assert simulator.stats.requests == requests  # final: never asked again

    def test_an_artifact_found_on_the_second_look_is_archived(
        self, simulator, asc_client, archive_root
    ):
        (sim,) = finished_artifacts(simulator, 1)
        (row,) = mirror([sim])
        row.asc_id = "answered-404-once"
        row.save()
        archive(asc_client)
        row.asc_id = sim.id  # Apple answers for it again (a 404 of a bad moment)
        row.save()
        age(ArchivedArtifact.objects.get())

        report = archive(asc_client)

        record = ArchivedArtifact.objects.get()
        assert report.archived == 1
        assert (record.status, record.lost_checks) == (Status.ARCHIVED, 0)

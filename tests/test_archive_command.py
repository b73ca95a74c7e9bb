"""archive_artifacts and the admin action, configured from settings like a user would."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from artifacts_app.archive import Progress
from artifacts_app.models import ArchivedArtifact
from tests.factories import grant
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID

from .archive_helpers import files_under, finished_artifacts, mirror

Status = ArchivedArtifact.Status


@pytest.fixture
def configured(settings, simulator, asc_key, tmp_path):
    """Settings pointing at the simulator with a team key, and a fresh ARCHIVE_ROOT."""
    settings.ASC_API_BASE_URL = simulator.base_url
    settings.ASC_KEY_ID = SIM_KEY_ID
    settings.ASC_ISSUER_ID = SIM_ISSUER_ID
    settings.ASC_PRIVATE_KEY = asc_key.private_pem
    settings.ARCHIVE_ROOT = tmp_path / "archive"
    return settings


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("archive_artifacts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
class ArchiveCommandTests:
    def test_archives_the_chosen_type_and_prints_a_summary(self, configured, simulator):
        rows = mirror(finished_artifacts(simulator, 10))
        logs = [row for row in rows if row.file_type == "LOG_BUNDLE"]

        out, err = run("--file-type", "LOG_BUNDLE", "--concurrency", "3")

        assert f"archived {len(logs)} (" in out and "failed 0" in out
        assert err == ""
        assert len(files_under(configured.ARCHIVE_ROOT)) == len(logs)

    def test_dry_run_lists_what_it_would_download_and_downloads_nothing(
        self, configured, simulator
    ):
        rows = mirror(finished_artifacts(simulator, 4))

        out, _ = run("--dry-run", "--product", rows[0].product.asc_id)

        assert out.count("would archive") == 4
        assert "dry run: 4 artifacts to archive" in out
        assert simulator.stats.requests == 0
        assert not ArchivedArtifact.objects.exists()

    def test_verify_exits_non_zero_naming_the_missing_file(self, configured, simulator):
        mirror(finished_artifacts(simulator, 2))
        run()
        record = ArchivedArtifact.objects.first()
        (configured.ARCHIVE_ROOT / record.path).unlink()
        err = io.StringIO()

        with pytest.raises(CommandError, match="1 archived files are missing or changed"):
            call_command("archive_artifacts", "--verify", stdout=io.StringIO(), stderr=err)

        assert err.getvalue() == f"missing: {record.path}\n"

    def test_verify_of_an_intact_archive_exits_zero(self, configured, simulator):
        mirror(finished_artifacts(simulator, 2))
        run()

        out, _ = run("--verify")

        assert "verified 2 archived files: 2 intact, 0 missing, 0 changed" in out

    def test_a_failed_download_exits_non_zero_with_one_line(self, configured, simulator):
        mirror(finished_artifacts(simulator, 1))
        simulator.faults.inject("cut")
        err = io.StringIO()

        with pytest.raises(CommandError, match="1 artifacts were not archived; run again"):
            call_command("archive_artifacts", stdout=io.StringIO(), stderr=err)

        (line,) = err.getvalue().splitlines()
        assert line.startswith("failed: ") and "cut off" in line
        assert "sig=" not in line and "/download/" not in line

    def test_a_missing_key_is_one_actionable_line(self, configured, simulator):
        configured.ASC_KEY_ID = ""
        mirror(finished_artifacts(simulator, 1))

        with pytest.raises(CommandError) as caught:
            run()

        assert "ASC_KEY_ID" in str(caught.value) and "\n" not in str(caught.value)

    @pytest.mark.parametrize("file_type", ["archive", "FOO"])
    def test_an_unknown_file_type_is_refused_listing_the_valid_ones(
        self, configured, simulator, file_type
    ):
        mirror(finished_artifacts(simulator, 1))

        with pytest.raises(CommandError) as caught:
            run("--file-type", file_type)

        message = str(caught.value)
        assert message.startswith(f"--file-type: unknown file type {file_type!r}; use one of ")
        assert "ARCHIVE, ARCHIVE_EXPORT, LOG_BUNDLE" in message and "\n" not in message
        assert simulator.stats.requests == 0

    def test_a_file_type_apple_added_later_is_accepted(self, configured, simulator):
        (row,) = mirror(finished_artifacts(simulator, 1))
        row.file_type = "SWIFT_SNAPSHOTS"
        row.save()

        out, _ = run("--file-type", "SWIFT_SNAPSHOTS", "--dry-run")

        assert "dry run: 1 artifacts to archive" in out

    def test_a_command_that_could_not_start_prints_no_summary(self, configured, simulator):
        configured.ASC_KEY_ID = ""
        mirror(finished_artifacts(simulator, 1))
        out = io.StringIO()

        with pytest.raises(CommandError) as caught:
            call_command("archive_artifacts", stdout=out, stderr=io.StringIO())

        assert out.getvalue() == ""
        assert str(caught.value).startswith("ASC_KEY_ID is not set: ")
        assert str(caught.value).endswith("App Store Connect API), in .env or the environment")

    def test_a_bad_date_is_refused(self, configured):
        with pytest.raises(CommandError, match="--since: not a date: '2026-13-01'; use YYYY-MM-DD"):
            run("--since", "2026-13-01")

    def test_the_progress_bar_shows_bytes_on_a_terminal_only(self, configured, simulator):
        class Terminal(io.StringIO):
            def isatty(self):
                return True

        terminal, pipe = Terminal(), io.StringIO()
        for stream in (terminal, pipe):
            progress = Progress(stream)
            progress.start(1, 2000)
            progress.add(1000)
            progress.file_done()
            progress.close()

        assert "50%" in terminal.getvalue() and "1.00kB/2.00kB" in terminal.getvalue()
        assert "1/1 files" in terminal.getvalue()
        assert pipe.getvalue() == ""


@pytest.mark.django_db
class ArchiveAdminActionTests:
    def test_archive_selected_archives_exactly_the_selected_rows(
        self, configured, simulator, client
    ):
        rows = mirror(finished_artifacts(simulator, 4))
        client.force_login(User.objects.create_superuser("admin", password="long-password-1"))
        chosen = rows[:2]

        response = client.post(
            "/admin/artifacts_app/ciartifact/",
            {"action": "archive_selected", "_selected_action": [row.pk for row in chosen]},
            follow=True,
        )

        assert response.status_code == 200
        assert "Archived 2 (" in response.content.decode()
        archived = set(ArchivedArtifact.objects.values_list("artifact_id", flat=True))
        assert archived == {row.pk for row in chosen}

    def test_a_selection_too_big_for_one_request_points_to_the_command(
        self, configured, simulator, client
    ):
        (row,) = mirror(finished_artifacts(simulator, 1))
        row.file_size = 5 * 1024**3
        row.save()
        client.force_login(User.objects.create_superuser("admin", password="long-password-1"))

        response = client.post(
            "/admin/artifacts_app/ciartifact/",
            {"action": "archive_selected", "_selected_action": [row.pk]},
            follow=True,
        )

        assert "python manage.py archive_artifacts" in response.content.decode()
        assert simulator.stats.requests == 0
        assert not ArchivedArtifact.objects.exists()

    def test_staff_without_the_archive_permission_do_not_get_the_action(
        self, configured, simulator, client
    ):
        from django.contrib.auth.models import Permission

        mirror(finished_artifacts(simulator, 1))
        viewer = grant(
            User.objects.create_user("viewer", password="long-password-1", is_staff=True)
        )
        viewer.user_permissions.add(Permission.objects.get(codename="view_ciartifact"))
        client.force_login(viewer)

        response = client.get("/admin/artifacts_app/ciartifact/")

        assert response.status_code == 200
        assert "archive_selected" not in response.content.decode()

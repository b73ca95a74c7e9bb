from django.test import TestCase

from artifacts_app.models import CiArtifact, CiBuildRun, FileType, enum_label

from .factories import make_artifact, make_build_action, make_build_run


class CiArtifactTests(TestCase):
    def test_size_above_two_gibibytes_round_trips(self):
        size = 2**31 + 12_345  # archives pass 2 GiB: a 32-bit column would overflow
        artifact = make_artifact(file_size=size)
        self.assertEqual(CiArtifact.objects.get(pk=artifact.pk).file_size, size)

    def test_size_of_a_terabyte_round_trips(self):
        artifact = make_artifact(file_size=2**40)
        self.assertEqual(CiArtifact.objects.get(pk=artifact.pk).file_size, 2**40)

    def test_file_type_apple_adds_later_is_stored_and_labelled_as_is(self):
        artifact = make_artifact(file_type="NOTARIZATION_TICKET")
        stored = CiArtifact.objects.get(pk=artifact.pk)
        self.assertEqual(stored.file_type, "NOTARIZATION_TICKET")
        self.assertEqual(enum_label(FileType, stored.file_type), "NOTARIZATION_TICKET")
        self.assertEqual(enum_label(FileType, "ARCHIVE_EXPORT"), "Archive export")


class CiBuildRunTests(TestCase):
    def test_unfinished_run_keeps_apples_nulls(self):
        run = make_build_run(
            execution_progress="PENDING",
            completion_status="",
            started_date=None,
            finished_date=None,
        )
        stored = CiBuildRun.objects.get(pk=run.pk)
        self.assertIsNone(stored.started_date)
        self.assertIsNone(stored.finished_date)
        self.assertIsNone(stored.errors)
        self.assertIsNone(stored.warnings)
        self.assertFalse(stored.is_finished)

    def test_unknown_execution_progress_is_stored(self):
        run = make_build_run(execution_progress="QUEUED_FOR_MAC", completion_status="SUPERSEDED")
        stored = CiBuildRun.objects.get(pk=run.pk)
        self.assertEqual(stored.execution_progress, "QUEUED_FOR_MAC")
        self.assertEqual(stored.completion_status, "SUPERSEDED")

    def test_unfinished_action_keeps_apples_nulls(self):
        action = make_build_action(
            started_date=None, finished_date=None, execution_progress="PENDING"
        )
        action.refresh_from_db()
        self.assertIsNone(action.started_date)
        self.assertIsNone(action.is_required_to_pass)
        self.assertIsNone(action.test_failures)

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import TestCase, override_settings
from django.utils import timezone

from artifacts_app.budgets.check import check_completed_runs
from artifacts_app.budgets.models import BudgetViolation, SizeBudget
from artifacts_app.budgets.notify import deliver_due
from artifacts_app.budgets.rules import add_budget
from artifacts_app.models import default_account
from artifacts_app.sync import sync
from artifacts_app.webhooks.queue import record_delivery

from .factories import make_artifact, make_build_action, make_build_run, make_workflow
from .http_receiver import Receiver
from .simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID
from .sync_helpers import fast_client

MB = 1_000_000


def finished_run(workflow, number, size, file_type="ARCHIVE", **fields):
    """A completed run of `workflow` with one artifact of `size` bytes, finished just now."""
    fields.setdefault("finished_date", timezone.now())
    run = make_build_run(workflow, number=number, **fields)
    make_artifact(make_build_action(run), file_size=size, file_type=file_type)
    return run


class SizeBudgetCheckTests(TestCase):
    def setUp(self):
        self.workflow = make_workflow()

    def test_run_over_max_bytes_is_a_violation_with_its_figures(self):
        add_budget("archive cap", max_bytes=300 * MB, file_type="ARCHIVE")
        run = finished_run(self.workflow, 10, 310 * MB)
        finished_run(self.workflow, 11, 290 * MB)
        [violation] = check_completed_runs()
        self.assertEqual(violation.run, run)
        self.assertEqual((violation.bytes, violation.limit_bytes), (310 * MB, 300 * MB))
        self.assertEqual(violation.file_type, "ARCHIVE")

    def test_growth_is_measured_against_the_last_successful_run_of_the_workflow(self):
        add_budget("growth", max_growth="10")
        finished_run(self.workflow, 1, 100 * MB)
        finished_run(self.workflow, 2, 50 * MB, completion_status="FAILED")  # not a baseline
        grown = finished_run(self.workflow, 3, 111 * MB)
        [violation] = check_completed_runs()
        self.assertEqual(violation.run, grown)
        self.assertEqual(violation.baseline_bytes, 100 * MB)
        self.assertEqual(violation.limit_bytes, 110 * MB)

    def test_growth_within_the_limit_is_not_a_violation(self):
        add_budget("growth", max_growth="10")
        finished_run(self.workflow, 1, 100 * MB)
        finished_run(self.workflow, 2, 109 * MB)
        self.assertEqual(check_completed_runs(), [])

    def test_only_the_budgets_file_type_counts(self):
        add_budget("logs", max_bytes=5 * MB, file_type="LOG_BUNDLE")
        run = finished_run(self.workflow, 1, 900 * MB)  # an archive: not counted
        make_artifact(make_build_action(run), file_type="LOG_BUNDLE", file_size=4 * MB)
        self.assertEqual(check_completed_runs(), [])

    def test_scope_limits_the_budget_to_its_product_workflow_and_branch(self):
        other = make_workflow()
        add_budget(
            "release main",
            max_bytes=1,
            product=self.workflow.product.asc_id,
            workflow=self.workflow.asc_id,
            branch="main",
        )
        finished_run(other, 1, 50 * MB, source_ref_name="main")
        finished_run(self.workflow, 2, 50 * MB, source_ref_name="feature/x")
        on_main = finished_run(self.workflow, 3, 50 * MB, source_ref_name="main")
        self.assertEqual([v.run for v in check_completed_runs()], [on_main])

    def test_budget_added_later_does_not_alert_on_runs_that_completed_before_it(self):
        finished_run(self.workflow, 1, 900 * MB, finished_date=timezone.now() - timedelta(hours=1))
        add_budget("cap", max_bytes=MB)
        self.assertEqual(check_completed_runs(), [])
        later = finished_run(self.workflow, 2, 900 * MB, finished_date=timezone.now())
        self.assertEqual([v.run for v in check_completed_runs()], [later])

    def test_unfinished_run_is_checked_once_it_completes(self):
        add_budget("cap", max_bytes=MB)
        run = finished_run(self.workflow, 1, 900 * MB, execution_progress="RUNNING")
        self.assertEqual(check_completed_runs(), [])
        run.execution_progress = "COMPLETE"
        run.save()
        self.assertEqual(len(check_completed_runs()), 1)

    def test_each_run_breaks_each_budget_once(self):
        add_budget("cap", max_bytes=MB)
        finished_run(self.workflow, 1, 900 * MB)
        self.assertEqual(len(check_completed_runs()), 1)
        self.assertEqual(check_completed_runs(), [])
        self.assertEqual(BudgetViolation.objects.count(), 1)


class BudgetAlertTests(TestCase):
    def setUp(self):
        self.workflow = make_workflow(name="Release")
        self.receiver = Receiver().__enter__()
        self.addCleanup(self.receiver.__exit__)

    def broken_run(self, notify):
        add_budget("archive cap", max_bytes=300 * MB, file_type="ARCHIVE", notify=notify)
        run = finished_run(self.workflow, 42, 310 * MB)
        check_completed_runs()
        return run

    @override_settings(SITE_URL="https://artifacts.example.com")
    def test_alert_reaches_a_json_target_with_what_broke(self):
        run = self.broken_run([self.receiver.url()])
        self.assertEqual(deliver_due(), 1)
        [alert] = self.receiver.received
        self.assertEqual(alert["path"], "/alerts/t0k3n-s3cr3t-value")
        self.assertIn("archive cap", alert["title"])
        for text in ("Demo App", "Release", "#42", "Archive", "310.0 MB", "300.0 MB"):
            self.assertIn(text, alert["message"])
        self.assertIn(f"https://artifacts.example.com/runs/{run.asc_id}/", alert["message"])
        self.assertIsNotNone(BudgetViolation.objects.get().notified_at)

    def test_alert_is_sent_once(self):
        self.broken_run([self.receiver.url()])
        deliver_due()
        check_completed_runs()
        BudgetViolation.objects.update(next_attempt_at=timezone.now())  # even if asked again
        deliver_due()
        self.assertEqual(len(self.receiver.received), 1)

    def test_failed_delivery_is_retried_with_backoff_and_visible(self):
        self.receiver.status = 500
        self.broken_run([self.receiver.url()])
        self.assertEqual(deliver_due(), 0)
        violation = BudgetViolation.objects.get()
        self.assertIsNone(violation.notified_at)
        self.assertEqual(violation.delivery_attempts, 1)
        self.assertGreater(violation.next_attempt_at, timezone.now())
        self.assertIn("json://127.0.0.1", violation.delivery_error)
        self.assertNotIn("s3cr3t", violation.delivery_error)
        self.assertEqual(deliver_due(), 0)  # not due yet
        self.receiver.status = 200
        BudgetViolation.objects.update(next_attempt_at=timezone.now())
        self.assertEqual(deliver_due(), 1)
        self.assertEqual(len(self.receiver.received), 1)

    def test_a_target_that_took_the_alert_does_not_get_it_again_on_retry(self):
        second = Receiver().__enter__()
        self.addCleanup(second.__exit__)
        second.status = 503
        self.broken_run([self.receiver.url(), second.url("/b")])
        deliver_due()
        second.status = 200
        BudgetViolation.objects.update(next_attempt_at=timezone.now())
        deliver_due()
        self.assertEqual((len(self.receiver.received), len(second.received)), (1, 1))

    def test_notification_urls_are_encrypted_at_rest(self):
        self.broken_run([self.receiver.url()])
        with connection.cursor() as cursor:
            cursor.execute("SELECT notify_urls_encrypted FROM artifacts_app_sizebudget")
            [(stored,)] = cursor.fetchall()
        self.assertNotIn("s3cr3t", stored)
        self.assertNotIn("127.0.0.1", stored)
        self.assertEqual(SizeBudget.objects.get().notify_urls, [self.receiver.url()])

    @override_settings(FIELD_ENCRYPTION_KEY="")
    def test_changed_key_is_reported_not_crashed_on(self):
        self.broken_run([self.receiver.url()])
        with override_settings(SECRET_KEY="another-secret-key-0123456789-0123456789"):
            deliver_due()
        self.assertIn("cannot be decrypted", BudgetViolation.objects.get().delivery_error)
        self.assertEqual(self.receiver.received, [])


class BaselineTests(TestCase):
    def test_baseline_is_the_newest_lower_numbered_successful_complete_run(self):
        from artifacts_app.baselines import baseline_for

        workflow = make_workflow()
        created = datetime(2026, 11, 1, tzinfo=UTC)
        good = make_build_run(workflow, number=5, created_date=created)
        make_build_run(workflow, number=6, completion_status="FAILED")
        make_build_run(workflow, number=7, execution_progress="RUNNING", completion_status="")
        make_build_run(make_workflow(), number=7)  # another workflow
        run = make_build_run(workflow, number=8)
        self.assertEqual(baseline_for(run), good)
        self.assertIsNone(baseline_for(good))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two loops at once need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_loops_alert_each_violation_exactly_once(simulator, asc_key, asc_tokens):
    """Two real `sync_artifacts --loop` processes check budgets and send alerts side by side."""
    sync(fast_client(simulator, asc_tokens))
    with Receiver() as receiver:
        add_budget("every byte", max_bytes=0, notify=[receiver.url()])
        SizeBudget.objects.update(created_at=simulator.dataset.now)  # Apple's clock: the sim's
        for run in simulator.dataset.advance(hours=6):
            record_delivery(run.id, "BUILD_CREATED", default_account())
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": settings.SECRET_KEY,  # the key the notification URLs were sealed with
            "DATABASE_URL": _database_url(),
            "ASC_API_BASE_URL": simulator.base_url,
            "ASC_KEY_ID": SIM_KEY_ID,
            "ASC_ISSUER_ID": SIM_ISSUER_ID,
            "ASC_PRIVATE_KEY": asc_key.private_pem,
            "SYNC_RESERVE_CALLS": "0",
        }
        loops = [
            subprocess.Popen(
                [sys.executable, "manage.py", "sync_artifacts", "--loop", "--interval", "1"],
                cwd=Path(__file__).resolve().parent.parent,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 90
            while not _all_alerted():
                assert time.monotonic() < deadline, "the loops did not alert in time"
                assert all(loop.poll() is None for loop in loops)
                time.sleep(0.5)
            time.sleep(4)  # both loops go on checking and delivering for a few rounds
        finally:
            for loop in loops:
                loop.send_signal(signal.SIGTERM)
            errors = [loop.communicate(timeout=60)[1] for loop in loops]
        violations = BudgetViolation.objects.count()
        assert violations > 1, errors
        assert len(receiver.received) == violations
        alerted_runs = [alert["title"] for alert in receiver.received]
        assert len(set(alerted_runs)) == violations


def _all_alerted() -> bool:
    violations = BudgetViolation.objects.all()
    return violations.exists() and not violations.filter(notified_at=None).exists()


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

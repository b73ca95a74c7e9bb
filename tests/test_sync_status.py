"""The staff sync health page: passes, 429s, the API budget, backfill progress, next pass."""

import io
import os
import signal
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from artifacts_app import sync as sync_module
from artifacts_app.models import Account, ProductSyncState, SyncRun, default_account
from artifacts_app.sync import sync
from artifacts_app.webhooks import queue
from artifacts_app.webhooks.models import QueuedRun, WebhookDelivery
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID

from .factories import grant, make_build_action, make_build_run, make_product, make_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(grant(django_user_model.objects.create_user("ops", is_staff=True)))
    return client


def finished_pass(status, minutes_ago, account=None, **fields):
    run = SyncRun.objects.create(account=account or default_account(), status=status, **fields)
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=finished - timedelta(seconds=42), finished_at=finished
    )
    return run


class SyncRecordTests:
    def test_a_pass_records_the_429s_it_met(self, simulator, asc_client):
        simulator.faults.inject("429", 2)

        run = sync(client=asc_client, reserve=0)

        assert run.status == SyncRun.Status.SUCCEEDED
        assert run.rate_limited_calls == 2

    def test_the_loop_records_when_its_next_pass_starts(self, simulator, asc_key, monkeypatch):
        real_sync = sync_module.sync

        def one_pass_then_sigterm(**kwargs):
            try:
                return real_sync(**kwargs)
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # the loop finishes this pass, then stops

        command = "artifacts_app.management.commands.sync_artifacts"
        monkeypatch.setattr(f"{command}.sync", one_pass_then_sigterm)
        # The loop reconnects between passes; the test's transaction must keep its connection.
        monkeypatch.setattr(f"{command}.close_old_connections", lambda: None)
        with override_settings(
            ASC_API_BASE_URL=simulator.base_url,
            ASC_KEY_ID=SIM_KEY_ID,
            ASC_ISSUER_ID=SIM_ISSUER_ID,
            ASC_PRIVATE_KEY=asc_key.private_pem,
        ):
            call_command(
                "sync_artifacts",
                "--loop",
                "--interval",
                "600",
                "--reserve",
                "0",
                stdout=io.StringIO(),
            )

        run = SyncRun.objects.get()
        expected = run.finished_at + timedelta(seconds=600)
        assert abs(run.next_pass_at - expected) < timedelta(seconds=5)


class SyncHealthPageTests:
    def test_is_for_staff_only(self, client, django_user_model):
        assert client.get("/sync/").status_code == 302  # to the login
        client.force_login(grant(django_user_model.objects.create_user("dev")))
        assert client.get("/sync/").status_code == 403

    def test_lists_each_pass_with_its_calls_429s_and_error_line(self, staff_client):
        finished_pass(SyncRun.Status.SUCCEEDED, 30, api_calls=120, created=14)
        finished_pass(
            SyncRun.Status.FAILED,
            5,
            api_calls=7,
            rate_limited_calls=6,
            error="429 RATE_LIMIT_EXCEEDED: <the hourly budget> is spent",
        )

        page = staff_client.get("/sync/").content.decode()

        assert "failing" in page
        assert page.index("Failed") < page.index("Succeeded")  # newest first
        assert "&lt;the hourly budget&gt;" in page  # escaped
        assert ">6<" in page and ">120<" in page and "14 new" in page
        assert "42.0 s" in page

    def test_shows_the_budget_left_and_when_it_is_whole_again(self, staff_client):
        run = finished_pass(SyncRun.Status.PARTIAL, 10, rate_limit_remaining=480)

        page = staff_client.get("/sync/").content.decode()

        refilled = SyncRun.objects.get(pk=run.pk).finished_at + timedelta(hours=1)
        assert "480 at" in page
        assert f"by {refilled:%H:%M} UTC" in page

    def test_shows_backfill_progress_per_product(self, staff_client):
        done = make_product(name="Done App")
        oldest = make_build_run(
            make_workflow(done), number=1, created_date=datetime(2026, 3, 2, tzinfo=UTC)
        )
        make_build_action(oldest)
        ProductSyncState.objects.create(
            product=done, oldest_synced_number=1, backfill_complete=True
        )
        busy = make_product(name="Busy App")
        ProductSyncState.objects.create(product=busy, oldest_synced_number=401)

        page = staff_client.get("/sync/").content.decode()

        assert "complete back to 2026-03-02" in page
        # 400 runs left, one action each: 400 action calls + 400 artifact calls + 2 list pages.
        assert "about 802" in page

    def test_shows_the_next_pass_of_a_running_loop_and_when_it_is_overdue(self, staff_client):
        run = finished_pass(SyncRun.Status.SUCCEEDED, 1)
        soon = timezone.now() + timedelta(minutes=14)
        SyncRun.objects.filter(pk=run.pk).update(next_pass_at=soon)

        page = staff_client.get("/sync/").content.decode()
        assert f"{soon:%Y-%m-%d %H:%M} UTC" in page and "overdue" not in page

        SyncRun.objects.filter(pk=run.pk).update(next_pass_at=soon - timedelta(hours=1))
        assert "overdue" in staff_client.get("/sync/").content.decode()


class SyncHealthWebhookQueueTests:
    def test_shows_the_queue_its_oldest_wait_claimed_and_failing_runs(self, staff_client):
        account = default_account()
        for run_id in ("run-old", "run-failing", "run-taken", "run-new"):
            queue.record_delivery(run_id, "BUILD_COMPLETED", account)
        queue.record_delivery("run-new", "BUILD_STARTED", account)
        QueuedRun.objects.filter(run_asc_id="run-old").update(
            queued_at=timezone.now() - timedelta(minutes=20)
        )
        WebhookDelivery.objects.filter(run_asc_id="run-old").update(
            received_at=timezone.now() - timedelta(days=2)
        )
        queue.fail(queue.claim("host-a:11", account), error="503 <Service Unavailable>")
        queue.claim("host-b:22", account)  # the next oldest: run-failing backs off

        page = staff_client.get("/sync/").content.decode()

        assert "4, 1 being fetched, 1 backing off after a failed fetch" in page
        assert "is <code>sync_artifacts --loop</code> running?" in page  # 20 minutes waiting
        assert "being fetched by host-b:22" in page
        assert "503 &lt;Service Unavailable&gt;" in page
        assert "<dd>4 <span" in page  # deliveries in the last day: not the 2-day-old one

    def test_an_empty_queue_says_so(self, staff_client):
        default_account()
        page = staff_client.get("/sync/").content.decode()

        assert "<dd>0</dd>" in page and "Queued webhook runs" in page


class SyncHealthAccountsTests:
    def test_one_account_gets_no_account_headings(self, staff_client):
        finished_pass(SyncRun.Status.SUCCEEDED, 5)

        page = staff_client.get("/sync/").content.decode()

        assert "Account default" not in page and "Recent passes" in page

    def test_several_accounts_each_get_their_own_passes_budget_and_queue(
        self, staff_client, django_user_model
    ):
        team_b = Account.objects.create(name="team-b")
        team_b.users.add(django_user_model.objects.get(username="ops"))
        finished_pass(SyncRun.Status.SUCCEEDED, 5, rate_limit_remaining=3100, error="")
        finished_pass(
            SyncRun.Status.FAILED, 3, account=team_b, rate_limit_remaining=77, error="401 team b"
        )
        queue.record_delivery("run-of-b", "BUILD_CREATED", team_b)

        page = staff_client.get("/sync/").content.decode()

        default_part, b_part = page.split("Account team-b")
        assert "Account default" in default_part
        assert "3100 at" in default_part and "3100 at" not in b_part
        assert "77 at" in b_part and "401 team b" in b_part and "401 team b" not in default_part
        assert "<dd>0</dd>" in default_part and "<dd>1</dd>" in b_part

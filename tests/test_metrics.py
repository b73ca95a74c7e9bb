"""/metrics: Prometheus text for the bearer token, figures from the rollup and the sync log."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from artifacts_app import rollup
from artifacts_app.budgets.check import check_completed_runs
from artifacts_app.budgets.models import BudgetViolation
from artifacts_app.budgets.notify import MAX_ATTEMPTS, deliver_due
from artifacts_app.budgets.rules import add_budget
from artifacts_app.models import Account, ArchivedArtifact, SyncRun, default_account
from artifacts_app.webhooks import queue
from artifacts_app.webhooks.models import QueuedRun

from .factories import (
    make_account,
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)
from .http_receiver import Receiver
from .test_webhooks import apple_delivery

pytestmark = pytest.mark.django_db
GRAFANA_DASHBOARD = (
    Path(__file__).resolve().parent.parent / "deploy/grafana/xcode-cloud-artifacts.json"
)
TOKEN = "a-long-random-metrics-token"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN):
    """Every sample of a scrape, as Prometheus' own parser reads it."""
    response = client.get("/metrics", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    families = text_string_to_metric_families(response.content.decode())
    return [sample for family in families for sample in family.samples]


def samples(scraped, name):
    return [sample for sample in scraped if sample.name == name]


def value(scraped, name):
    (sample,) = samples(scraped, name)
    return sample.value


def finished_pass(status, finished, account=None, **fields):
    run = SyncRun.objects.create(account=account or default_account(), status=status, **fields)
    SyncRun.objects.filter(pk=run.pk).update(started_at=finished, finished_at=finished)
    return run


class MetricsAccessTests:
    def test_is_not_found_while_no_token_is_set(self, client, settings):
        settings.METRICS_TOKEN = ""

        response = client.get("/metrics", headers={"authorization": "Bearer anything"})

        assert response.status_code == 404
        assert b"METRICS_TOKEN" in response.content

    def test_a_wrong_or_missing_token_is_unauthorized_and_shows_no_figures(self, client, token):
        make_artifact()
        rollup.refresh_rollup()

        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 401
            assert b"xcode_cloud" not in response.content
            assert response["WWW-Authenticate"].startswith("Bearer")

    def test_the_token_needs_no_login(self, client, token):
        response = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")


class MetricsFiguresTests:
    def test_artifact_counts_and_bytes_are_labelled_by_product_workflow_and_type(
        self, client, token
    ):
        workflow = make_workflow(make_product(name="Shop"), name="Nightly")
        action = make_build_action(make_build_run(workflow))
        make_artifact(action, file_type="ARCHIVE", file_size=300)
        make_artifact(action, file_type="ARCHIVE", file_size=200)
        make_artifact(action, file_type="LOG_BUNDLE", file_size=7)
        rollup.refresh_rollup()

        scraped = scrape(client)

        counts = {s.labels["file_type"]: s.value for s in samples(scraped, "xcode_cloud_artifacts")}
        sizes = {
            s.labels["file_type"]: s.value for s in samples(scraped, "xcode_cloud_artifact_bytes")
        }
        assert counts == {"ARCHIVE": 2, "LOG_BUNDLE": 1}
        assert sizes == {"ARCHIVE": 500, "LOG_BUNDLE": 7}
        (archive,) = [
            s
            for s in samples(scraped, "xcode_cloud_artifacts")
            if s.labels["file_type"] == "ARCHIVE"
        ]
        assert archive.labels == {
            "account": "default",
            "product": "Shop",
            "workflow": "Nightly",
            "file_type": "ARCHIVE",
        }

    def test_two_teams_apps_of_the_same_name_are_told_apart_by_their_account(self, client, token):
        for name in ("agency", "studio"):
            product = make_product(name="Shop", account=make_account(name))
            make_artifact(make_build_action(make_build_run(make_workflow(product))))
        rollup.refresh_rollup()

        series = samples(scrape(client), "xcode_cloud_artifacts")

        assert sorted((s.labels["account"], s.labels["product"], s.value) for s in series) == [
            ("agency", "Shop", 1),
            ("studio", "Shop", 1),
        ]

    def test_runs_and_commits_add_up_into_one_series_instead_of_one_each(self, client, token):
        workflow = make_workflow()
        for number in range(5):
            run = make_build_run(workflow, source_commit_sha=f"{number:040x}")
            make_artifact(make_build_action(run))
        rollup.refresh_rollup()

        scraped = scrape(client)

        label_names = {name for sample in scraped for name in sample.labels}
        bounded = {"product", "workflow", "file_type", "status", "state", "event_type", "account"}
        assert label_names <= bounded
        (series,) = samples(scraped, "xcode_cloud_artifacts")
        assert series.value == 5

    def test_a_hostile_product_name_stays_inside_its_label(self, client, token):
        workflow = make_workflow(make_product(name='Evil"}\nxcode_cloud_fake 1'), name="W")
        make_artifact(make_build_action(make_build_run(workflow)))
        rollup.refresh_rollup()

        scraped = scrape(client)

        (sample,) = samples(scraped, "xcode_cloud_artifacts")
        assert sample.labels["product"] == 'Evil"}\nxcode_cloud_fake 1'
        assert not samples(scraped, "xcode_cloud_fake")

    def test_sync_figures_come_from_the_recorded_passes(self, client, token):
        success = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        finished_pass(
            SyncRun.Status.SUCCEEDED,
            success,
            api_calls=40,
            rate_limited_calls=2,
            rate_limit_remaining=900,
        )
        finished_pass(
            SyncRun.Status.FAILED,
            datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
            api_calls=3,
            rate_limited_calls=3,
            rate_limit_remaining=0,
            error="429 storm",
        )
        finished_pass(SyncRun.Status.SUCCEEDED, success, api_calls=500, dry_run=True)

        scraped = scrape(client)

        assert (
            value(scraped, "xcode_cloud_last_sync_success_timestamp_seconds") == success.timestamp()
        )
        assert value(scraped, "xcode_cloud_api_rate_limit_remaining") == 0
        assert value(scraped, "xcode_cloud_last_sync_failed") == 1
        assert value(scraped, "xcode_cloud_sync_api_calls_total") == 43
        assert value(scraped, "xcode_cloud_sync_rate_limited_responses_total") == 5
        passes = {
            s.labels["status"]: s.value for s in samples(scraped, "xcode_cloud_sync_passes_total")
        }
        assert passes == {"succeeded": 1, "partial": 0, "failed": 1}

    def test_each_account_has_its_own_last_success_budget_and_counters(self, client, token):
        team_b = Account.objects.create(name="team-b")
        good = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        finished_pass(SyncRun.Status.SUCCEEDED, good, api_calls=10, rate_limit_remaining=3000)
        finished_pass(SyncRun.Status.PARTIAL, good.replace(hour=7), account=team_b, api_calls=7)
        finished_pass(
            SyncRun.Status.FAILED,
            good.replace(hour=9),
            account=team_b,
            api_calls=1,
            rate_limit_remaining=12,
        )
        Account.objects.create(name="never-synced")

        scraped = scrape(client)

        def by_account(name):
            return {s.labels["account"]: s.value for s in samples(scraped, name)}

        assert by_account("xcode_cloud_last_sync_success_timestamp_seconds") == {
            "default": good.timestamp(),
            "team-b": good.replace(hour=7).timestamp(),
        }
        assert by_account("xcode_cloud_api_rate_limit_remaining") == {
            "default": 3000,
            "team-b": 12,
        }
        assert by_account("xcode_cloud_last_sync_failed") == {"default": 0, "team-b": 1}
        assert by_account("xcode_cloud_sync_api_calls_total") == {"default": 10, "team-b": 8}
        failed = {
            s.labels["account"]: s.value
            for s in samples(scraped, "xcode_cloud_sync_passes_total")
            if s.labels["status"] == "failed"
        }
        assert failed == {"default": 0, "team-b": 1}

    def test_archive_figures_count_stored_bytes_and_failures(self, client, token):
        kept, failed = make_artifact(), make_artifact()
        ArchivedArtifact.objects.create(
            artifact=kept, status="archived", size=1234, sha256="0" * 64
        )
        ArchivedArtifact.objects.create(artifact=failed, status="failed", error="cut off")

        scraped = scrape(client)

        assert value(scraped, "xcode_cloud_archive_stored_bytes") == 1234
        states = {
            s.labels["status"]: s.value for s in samples(scraped, "xcode_cloud_archive_artifacts")
        }
        assert states["archived"] == 1 and states["failed"] == 1 and states["lost"] == 0

    def test_a_scrape_costs_the_same_few_queries_however_many_workflows_and_accounts(
        self, client, token
    ):
        def queries_of_a_scrape():
            rollup.refresh_rollup()
            with CaptureQueriesContext(connection) as queries:
                scrape(client)
            return len(queries)

        make_artifact()
        finished_pass(SyncRun.Status.SUCCEEDED, datetime.now(UTC))
        few = queries_of_a_scrape()
        for number in range(30):
            make_artifact()  # each in a workflow of its own
            account = Account.objects.create(name=f"team-{number}")
            finished_pass(SyncRun.Status.SUCCEEDED, datetime.now(UTC), account=account)

        assert queries_of_a_scrape() == few <= 11


HOOK_TOKEN = "metrics-hook-token-0123456789"


class WebhookAndAlertMetricsTests:
    def test_deliveries_count_by_apples_event_types_and_the_rest_as_other(
        self, client, token, settings
    ):
        settings.XCODE_CLOUD_WEBHOOK_TOKEN = [HOOK_TOKEN]
        url = f"/hooks/xcode-cloud/{HOOK_TOKEN}"
        odd = [apple_delivery("BUILD_STARTED") for _ in range(3)]
        for number, body in enumerate(odd):
            body["metadata"]["attributes"]["eventType"] = f"SOMETHING_NEW_{number}"
        bodies = [apple_delivery("BUILD_COMPLETED")] * 2 + [apple_delivery("BUILD_STARTED")] + odd
        for body in bodies:  # the completed one twice: Apple's redelivery counts too
            response = client.post(url, json.dumps(body), content_type="application/json")
            assert response.status_code in (200, 202)

        scraped = scrape(client)

        received = {
            s.labels["event_type"]: s.value
            for s in samples(scraped, "xcode_cloud_webhook_deliveries_total")
        }
        assert received == {
            "BUILD_CREATED": 0,
            "BUILD_STARTED": 1,
            "BUILD_COMPLETED": 2,
            "other": 3,
        }

    def test_queued_runs_by_state_with_the_oldest_announcement(self, client, token):
        account = default_account()
        for run_id in ("run-a", "run-b", "run-c"):
            queue.record_delivery(run_id, "BUILD_COMPLETED", account)
        oldest = QueuedRun.objects.get(run_asc_id="run-a").queued_at
        queue.fail(queue.claim("worker-1", account), error="503 from the API")  # backs off
        queue.claim("worker-2", account)  # being fetched

        scraped = scrape(client)

        states = {
            s.labels["state"]: s.value for s in samples(scraped, "xcode_cloud_webhook_queued_runs")
        }
        assert states == {"waiting": 1, "claimed": 1, "backing_off": 1}
        assert value(scraped, "xcode_cloud_webhook_queue_oldest_timestamp_seconds") == (
            oldest.timestamp()
        )

    def test_an_empty_queue_has_no_oldest_announcement(self, client, token):
        scraped = scrape(client)

        assert not samples(scraped, "xcode_cloud_webhook_queue_oldest_timestamp_seconds")
        assert {s.value for s in samples(scraped, "xcode_cloud_webhook_queued_runs")} == {0}

    def test_alerts_are_counted_sent_retrying_and_failed(self, client, token):
        workflow = make_workflow()
        with Receiver() as receiver:
            add_budget("reachable", max_bytes=10, notify=[receiver.url()])
            add_budget("unreachable", max_bytes=10, notify=["json://127.0.0.1:9/alerts"])
            add_budget("silent", max_bytes=10)  # no URL: a violation, no alert
            for number in (1, 2):
                run = make_build_run(workflow, number=number, finished_date=timezone.now())
                make_artifact(make_build_action(run), file_size=11)
            violations = check_completed_runs()
            deliver_due()
        assert len(violations) == 6 and len(receiver.received) == 2
        gave_up = BudgetViolation.objects.filter(budget__name="unreachable").first()
        BudgetViolation.objects.filter(pk=gave_up.pk).update(
            delivery_attempts=MAX_ATTEMPTS, next_attempt_at=None
        )
        BudgetViolation.objects.filter(pk=violations[0].pk).update(acknowledged_at=timezone.now())

        scraped = scrape(client)

        alerts = {s.labels["state"]: s.value for s in samples(scraped, "xcode_cloud_budget_alerts")}
        assert alerts == {"pending": 0, "retrying": 1, "sent": 2, "failed": 1}
        assert value(scraped, "xcode_cloud_budget_violations_total") == 6
        assert value(scraped, "xcode_cloud_budget_violations_open") == 5


class GrafanaDashboardTests:
    def test_every_panel_queries_a_metric_the_endpoint_exposes(self, client, token):
        make_artifact()
        rollup.refresh_rollup()
        finished_pass(SyncRun.Status.SUCCEEDED, datetime.now(UTC), rate_limit_remaining=10)
        queue.record_delivery("run-a", "BUILD_CREATED", default_account())
        exposed = {re.sub(r"_total$", "", sample.name) for sample in scrape(client)}
        dashboard = json.loads(GRAFANA_DASHBOARD.read_text())

        queried = {
            re.sub(r"_total$", "", name)
            for panel in dashboard["panels"]
            for target in panel["targets"]
            for name in re.findall(r"xcode_cloud_\w+", target["expr"])
        }

        assert len(dashboard["panels"]) >= 8
        assert queried and queried <= exposed

"""What /healthz says about the sync: ok, stale or failing, from the passes recorded."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from artifacts_app.health import sync_health
from artifacts_app.models import SyncRun, default_account
from tests.factories import grant

pytestmark = pytest.mark.django_db


def _pass(status, minutes_ago=1, dry_run=False, error=""):
    run = SyncRun.objects.create(
        account=default_account(), status=status, dry_run=dry_run, error=error
    )
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    SyncRun.objects.filter(pk=run.pk).update(started_at=finished, finished_at=finished)
    return run


class SyncHealthTests:
    def test_a_recent_successful_pass_is_ok(self):
        _pass(SyncRun.Status.SUCCEEDED)

        assert sync_health()["status"] == "ok"

    def test_an_old_last_success_is_stale(self, settings):
        _pass(SyncRun.Status.SUCCEEDED, minutes_ago=settings.SYNC_STALE_AFTER_MINUTES + 5)

        assert sync_health()["status"] == "stale"

    def test_a_failed_latest_pass_is_failing_even_after_a_recent_success(self):
        _pass(SyncRun.Status.SUCCEEDED, minutes_ago=10)
        _pass(SyncRun.Status.FAILED, minutes_ago=1, error="401 NOT_AUTHORIZED: check ASC_KEY_ID")

        health = sync_health(with_errors=True)
        assert health["status"] == "failing"
        assert health["last_sync"]["error"].startswith("401")

    def test_dry_runs_do_not_count(self):
        _pass(SyncRun.Status.SUCCEEDED, minutes_ago=10)
        _pass(SyncRun.Status.FAILED, minutes_ago=1, dry_run=True)

        assert sync_health()["status"] == "ok"

    def test_a_pass_that_cannot_load_its_key_makes_health_failing(self, simulator):
        _pass(SyncRun.Status.SUCCEEDED, minutes_ago=10)
        with (
            override_settings(ASC_KEY_ID="", ASC_API_BASE_URL=simulator.base_url),
            pytest.raises(CommandError),
        ):
            call_command("sync_artifacts", stdout=io.StringIO())

        health = sync_health(with_errors=True)
        assert health["status"] == "failing"
        assert "ASC_KEY_ID" in health["last_sync"]["error"]
        assert simulator.stats.api_requests == 0


class HealthEndpointTests:
    def test_anyone_sees_the_status_but_only_users_see_error_texts(self, client, django_user_model):
        _pass(SyncRun.Status.FAILED, error="ASC_PRIVATE_KEY_PATH: cannot read /etc/keys/a.p8")

        public = client.get("/healthz").json()
        assert public["status"] == "failing"
        assert "error" not in public["last_sync"]
        assert "/etc/keys" not in str(public)

        client.force_login(grant(django_user_model.objects.create_user("ops")))
        assert "/etc/keys" in client.get("/healthz").json()["last_sync"]["error"]

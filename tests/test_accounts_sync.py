"""Several teams in one install: each account syncs, archives and inspects with its own key,
into its own rows, and a key of another team is refused before anything is written."""

import functools
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from artifacts_app.accounts.service import update_account
from artifacts_app.accounts.webhook_tokens import new_token
from artifacts_app.asc.simulator.webhooks import delivery
from artifacts_app.contents.models import ArtifactContents
from artifacts_app.models import (
    Account,
    ArchivedArtifact,
    CiArtifact,
    CiBuildRun,
    CiProduct,
    SyncRun,
)
from artifacts_app.sync import sync_queued

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_inspection_after_sync(settings):
    settings.INSPECT_AFTER_SYNC = False


def sync(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_artifacts", "--reserve", "0", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def product_ids(account):
    return set(CiProduct.objects.filter(account=account).values_list("asc_id", flat=True))


def live_products(account):
    return CiProduct.objects.filter(account=account, gone_upstream_at__isnull=True).count()


class TwoTeamsTests:
    def test_two_accounts_sync_side_by_side_each_into_its_own_rows(self, teams):
        alpha_team, beta_team = teams
        alpha, beta = alpha_team.add_account(), beta_team.add_account()

        out, _err = sync("--account", "alpha", "--account", "beta")

        assert product_ids(alpha) == alpha_team.product_ids
        assert product_ids(beta) == beta_team.product_ids
        for account, team in ((alpha, alpha_team), (beta, beta_team)):
            stored = set(
                CiArtifact.objects.filter(account=account).values_list("asc_id", flat=True)
            )
            upstream = {a.id for a in team.simulator.dataset.all_visible_artifacts()}
            assert stored == upstream
            assert (
                not CiBuildRun.objects.filter(account=account)
                .exclude(product__account=account)
                .exists()
            )
        assert {(r.account.name, r.status) for r in SyncRun.objects.all()} == {
            ("alpha", SyncRun.Status.SUCCEEDED),
            ("beta", SyncRun.Status.SUCCEEDED),
        }
        lines = out.splitlines()
        assert any(line.startswith("account alpha: sync succeeded") for line in lines)
        assert any(line.startswith("account beta: sync succeeded") for line in lines)

    def test_without_account_every_account_with_a_key_is_synced(self, teams):
        for team in teams:
            team.add_account()
        Account.objects.create(name="keyless")

        sync()

        assert set(SyncRun.objects.values_list("account__name", flat=True)) == {"alpha", "beta"}

    def test_a_failing_account_does_not_stop_the_others_and_is_named(self, teams):
        alpha_team, beta_team = teams
        alpha_team.add_account()
        # Beta's account holds a key the simulator does not know: 401.
        beta_team.add_account(pem=alpha_team.key.private_pem)

        with pytest.raises(CommandError) as raised:
            sync("--account", "beta", "--account", "alpha")

        message = str(raised.value)
        assert "\n" not in message
        assert message.startswith("account beta: sync failed: ")
        assert "401" in message
        assert product_ids(Account.objects.get(name="alpha")) == alpha_team.product_ids
        assert not CiProduct.objects.filter(account__name="beta").exists()
        assert SyncRun.objects.get(account__name="beta").status == SyncRun.Status.FAILED

    def test_every_failed_account_gets_its_own_line(self, teams):
        for team in teams:
            team.add_account()
            team.simulator.stop()

        err = io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command("sync_artifacts", "--reserve", "0", stdout=io.StringIO(), stderr=err)

        assert err.getvalue().startswith("account alpha: sync failed: ")
        assert str(raised.value).startswith("account beta: sync failed: ")
        assert "2 of 2 accounts failed" in str(raised.value)

    def test_an_unknown_account_is_one_line_listing_the_known_ones(self, teams):
        teams[0].add_account()

        with pytest.raises(CommandError) as raised:
            sync("--account", "gamma")

        assert str(raised.value) == (
            "--account: no account named 'gamma'; known accounts: alpha "
            "(add one with `manage.py asc_account add`)"
        )

    def test_product_needs_its_account_when_several_have_keys(self, teams):
        for team in teams:
            team.add_account()

        with pytest.raises(CommandError) as raised:
            sync("--product", next(iter(teams[0].product_ids)))

        assert "--account NAME" in str(raised.value)
        assert not SyncRun.objects.exists()

    def test_the_environment_key_is_the_account_default_beside_stored_ones(self, teams):
        alpha_team, beta_team = teams
        beta_team.add_account()
        with override_settings(
            ASC_API_BASE_URL=alpha_team.simulator.base_url,
            ASC_KEY_ID=alpha_team.key_id,
            ASC_ISSUER_ID=alpha_team.issuer_id,
            ASC_PRIVATE_KEY=alpha_team.key.private_pem,
            ASC_PRIVATE_KEY_PATH="",
        ):
            sync()

        assert product_ids(Account.objects.get(name="default")) == alpha_team.product_ids
        assert product_ids(Account.objects.get(name="beta")) == beta_team.product_ids


class TeamBindingTests:
    def test_a_key_of_another_team_is_refused_and_nothing_changes(self, teams):
        alpha_team, beta_team = teams
        alpha = alpha_team.add_account()
        sync("--account", "alpha")
        before = set(CiArtifact.objects.values_list("asc_id", "gone_upstream_at"))
        # Someone points alpha at beta's key and API.
        update_account(
            alpha,
            key_id=beta_team.key_id,
            issuer_id=beta_team.issuer_id,
            pem=beta_team.key.private_pem,
            base_url=beta_team.simulator.base_url,
        )

        with pytest.raises(CommandError) as raised:
            sync("--account", "alpha")

        message = str(raised.value)
        assert "\n" not in message
        assert "answers for another team" in message
        assert "nothing was recorded" in message
        assert set(CiArtifact.objects.values_list("asc_id", "gone_upstream_at")) == before
        assert product_ids(alpha) == alpha_team.product_ids
        assert live_products(alpha) == len(alpha_team.product_ids)

    def test_the_same_key_against_another_teams_data_is_refused(self, teams):
        """Same key id, other data (a second simulator taking any key): the issue's story."""
        alpha_team, beta_team = teams
        alpha = alpha_team.add_account()
        sync("--account", "alpha")
        beta_sim = beta_team.simulator
        beta_sim.config.key_id = alpha_team.key_id  # beta's API now accepts alpha's key
        beta_sim.config.issuer_id = alpha_team.issuer_id
        beta_sim.config.public_key = alpha_team.key.public_pem
        update_account(alpha, base_url=beta_sim.base_url)

        with pytest.raises(CommandError) as raised:
            sync("--account", "alpha")

        assert "answers for another team" in str(raised.value)
        assert product_ids(alpha) == alpha_team.product_ids
        assert live_products(alpha) == len(alpha_team.product_ids)

    def test_a_stored_product_asked_for_by_another_teams_key_is_not_marked_gone(self, teams):
        alpha_team, beta_team = teams
        alpha = alpha_team.add_account()
        sync("--account", "alpha")
        update_account(
            alpha,
            key_id=beta_team.key_id,
            issuer_id=beta_team.issuer_id,
            pem=beta_team.key.private_pem,
            base_url=beta_team.simulator.base_url,
        )

        with pytest.raises(CommandError):
            sync("--account", "alpha", "--product", sorted(alpha_team.product_ids)[0])

        assert live_products(alpha) == len(alpha_team.product_ids)

    def test_a_new_key_of_the_same_team_is_accepted(self, teams):
        alpha_team, _beta = teams
        alpha = alpha_team.add_account()
        sync("--account", "alpha")
        alpha.refresh_from_db()
        first_binding = alpha.synced_key
        # A rotated key of the same team: another key id, the same issuer and products.
        alpha_team.simulator.config.key_id = "ROTATED001"
        update_account(alpha, key_id="ROTATED001", pem=alpha_team.key.private_pem)

        sync("--account", "alpha")

        alpha.refresh_from_db()
        assert alpha.synced_key != first_binding
        assert alpha.synced_key.endswith(":ROTATED001")


class WebhookTokenTests:
    def test_an_accounts_token_queues_the_run_under_it_and_its_key_fetches_it(self, teams, client):
        alpha_team, beta_team = teams
        alpha_team.add_account()
        beta = beta_team.add_account()
        token = new_token(beta)
        dataset = beta_team.simulator.dataset
        run = next(iter(dataset.runs.values()))
        body = delivery(run, "BUILD_COMPLETED", dataset.now_ts)

        answer = client.post(
            f"/hooks/xcode-cloud/{token}", json.dumps(body), content_type="application/json"
        )

        assert answer.status_code == 202
        assert sync_queued(account=Account.objects.get(name="alpha")).runs == 0
        assert alpha_team.simulator.stats.api_requests == 0
        assert sync_queued(account=beta).runs == 1
        assert CiBuildRun.objects.get(asc_id=run.id).account == beta

    def test_an_unknown_or_replaced_token_gets_404(self, teams, client):
        beta = teams[1].add_account()
        old = new_token(beta)
        new_token(beta)

        answer = client.post(f"/hooks/xcode-cloud/{old}", "{}", content_type="application/json")

        assert answer.status_code == 404
        assert Account.objects.get(name="beta").webhook_token_hash
        assert old not in str(Account.objects.values_list("webhook_token_hash", flat=True))


class ArchiveAndInspectTests:
    def test_archive_of_one_account_touches_only_its_artifacts_in_its_own_folder(
        self, teams, settings, tmp_path
    ):
        settings.ARCHIVE_ROOT = tmp_path / "archive"
        for team in teams:
            team.add_account()
        sync()

        call_command(
            "archive_artifacts",
            "--account",
            "beta",
            "--file-type",
            "ARCHIVE",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

        archived = ArchivedArtifact.objects.select_related("artifact__account")
        assert archived.exists()
        assert {record.artifact.account.name for record in archived} == {"beta"}
        assert all(record.path.startswith("@beta/") for record in archived)
        assert all((tmp_path / "archive" / record.path).is_file() for record in archived)

    def test_inspection_after_each_accounts_pass_reads_with_that_accounts_key(
        self, teams, settings
    ):
        settings.INSPECT_AFTER_SYNC = True
        for team in teams:
            team.add_account()

        sync()

        inspected = ArtifactContents.objects.filter(status=ArtifactContents.Status.INSPECTED)
        by_account = set(inspected.values_list("artifact__account__name", flat=True))
        assert by_account == {"alpha", "beta"}
        assert all(team.simulator.stats.downloads > 0 for team in teams)

    def test_inspect_of_one_account_reads_only_its_artifacts(self, teams):
        for team in teams:
            team.add_account()
        sync()

        call_command(
            "inspect_artifacts", "--account", "alpha", stdout=io.StringIO(), stderr=io.StringIO()
        )

        inspected = ArtifactContents.objects.values_list("artifact__account__name", flat=True)
        assert set(inspected) == {"alpha"}
        assert teams[1].simulator.stats.downloads == 0


class SharedIdTests:
    def test_a_second_account_of_the_same_team_leaves_the_first_ones_rows_alone(self, teams):
        alpha_team, _beta = teams
        alpha = alpha_team.add_account()
        twin = alpha_team.add_account("alpha-again")
        sync("--account", "alpha")
        before = list(CiArtifact.objects.values_list("asc_id", "account_id", "last_synced_at"))

        sync("--account", "alpha-again")

        assert (
            list(CiArtifact.objects.values_list("asc_id", "account_id", "last_synced_at")) == before
        )
        assert product_ids(alpha) == alpha_team.product_ids
        assert not CiProduct.objects.filter(account=twin).exists()
        run = SyncRun.objects.get(account=twin)
        assert run.status == SyncRun.Status.SUCCEEDED
        assert "record(s) alone that another account mirrors" in run.error

    def test_a_webhook_of_the_twin_account_for_the_first_ones_run_changes_nothing(
        self, teams, client
    ):
        alpha_team, _beta = teams
        alpha_team.add_account()
        twin = alpha_team.add_account("alpha-again")
        dataset = alpha_team.simulator.dataset
        product = dataset.products[0]
        sync("--account", "alpha", "--product", product.id)
        token = new_token(twin)
        # A run of a product the first account mirrors, announced to the twin's URL.
        run = next(r for r in dataset.runs.values() if r.product.id == product.id)
        body = delivery(run, "BUILD_COMPLETED", dataset.now_ts)
        client.post(
            f"/hooks/xcode-cloud/{token}", json.dumps(body), content_type="application/json"
        )

        assert sync_queued(account=twin).runs == 1

        assert not CiBuildRun.objects.filter(account=twin).exists()
        assert CiBuildRun.objects.get(asc_id=run.id).account.name == "alpha"


def test_a_sync_loop_keeps_every_account_going_while_one_fails(teams, tmp_path):
    """As a systemd service runs it: a separate process, a SQLite file, SIGTERM to stop."""
    alpha_team, beta_team = teams
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PYTHONPATH": str(ROOT),
        "INSPECT_AFTER_SYNC": "false",
    }
    manage = [sys.executable, "manage.py"]
    run = functools.partial(subprocess.run, cwd=ROOT, env=env, timeout=120, check=True)
    run([*manage, "migrate", "--verbosity", "0"])
    for team, key in ((alpha_team, alpha_team.key), (beta_team, alpha_team.key)):  # beta: 401
        key_file = tmp_path / f"{team.name}.p8"
        key_file.write_text(key.private_pem)
        run([
            *manage, "asc_account", "add", team.name, "--key-id", team.key_id,
            "--issuer-id", team.issuer_id, "--private-key-path", str(key_file),
            "--base-url", team.simulator.base_url,
        ], capture_output=True)  # fmt: skip

    process = subprocess.Popen(
        [*manage, "sync_artifacts", "--loop", "--interval", "1", "--reserve", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 90
    while sum(line.startswith("account alpha: sync succeeded") for line in lines) < 2:
        line = process.stdout.readline()
        assert line or process.poll() is None, "".join(lines)
        lines.append(line)
        assert time.monotonic() < deadline, "".join(lines)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)

    assert process.returncode == 0, out
    failures = [line for line in lines if line.startswith("account beta: sync failed: ")]
    assert any(
        "401" in line and "check the key id and issuer id of account beta" in line
        for line in failures
    )
    assert "Traceback" not in "".join(lines) + out
    assert "sync loop stopped" in out
